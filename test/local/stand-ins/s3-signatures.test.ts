import { rmSync } from 'node:fs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControllableClock } from '../../../local/host/clock';
import { newLocalCredentials } from '../../../local/stand-ins/credentials';
import { startS3Proxy, type S3Proxy } from '../../../local/stand-ins/s3/proxy';
import { startS3rver, type S3rverHandle } from '../../../local/stand-ins/s3/s3rver';
import { tempDir } from '../helpers';

const clock = createControllableClock();
const credentials = newLocalCredentials();
const ORIGIN = 'http://127.0.0.1:9999';
let s3rver: S3rverHandle;
let proxy: S3Proxy;
let s3: S3Client;
const directory = tempDir('k2p-s3sig-');

function client(over: Partial<ConstructorParameters<typeof S3Client>[0]> = {}) {
  return new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', credentials, maxAttempts: 1, ...over });
}

async function refusal(response: Response) {
  const body = await response.text();
  return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1], xml: body.startsWith('<?xml') };
}

async function sdkError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return { status: error.$metadata.httpStatusCode, code: error.name };
    throw error;
  }
  throw new Error('the request was accepted');
}

/** Sends a request signed as usual and returns what was signed: its headers (but host) and query string, to replay. */
async function signedBy(send: (spy: S3Client) => Promise<unknown>) {
  const sent = { headers: {} as Record<string, string>, search: '' };
  const spy = client();
  spy.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; query: Record<string, string> };
      const { host: _host, ...headers } = request.headers;
      sent.headers = headers;
      sent.search = `?${new URLSearchParams(request.query).toString()}`;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  await send(spy);
  spy.destroy();
  return sent;
}

beforeAll(async () => {
  s3rver = await startS3rver({ directory, port: 0, buckets: ['data'], clockBuffer: clock.buffer, onEvent: () => {} });
  proxy = await startS3Proxy(0, {
    upstream: { host: '127.0.0.1', port: s3rver.port, proxyToken: s3rver.proxyToken },
    secretFor: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    allowedOrigins: [ORIGIN],
    maxBodyBytes: 1 << 20,
    now: () => new Date(clock.now()),
  });
  s3 = client();
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip', Body: 'secret result' }));
});
afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await s3rver?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('local S3 checks every request’s signature', () => {
  it('accepts correctly signed requests, keys and prefixes with characters that need encoding included', async () => {
    const key = 'bundles/j 2/ä+b=c&d~(1).zip';
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: 'bundle' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
    expect(await got.Body!.transformToString()).toBe('bundle');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'bundles/j 2/', MaxKeys: 5 }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([key]);
    await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: key }));
  });

  it('refuses unsigned list, get, put and delete with S3’s AccessDenied document, and changes nothing', async () => {
    const base = `${proxy.endpoint}/data`;
    for (const [url, init] of [
      [`${base}?list-type=2`, { method: 'GET' }],
      [`${base}/results/j1/result.zip`, { method: 'GET' }],
      [`${base}/results/j1/result.zip`, { method: 'PUT', body: 'replaced' }],
      [`${base}/results/j1/result.zip`, { method: 'DELETE' }],
      [`${base}/results/j1/result.zip`, { method: 'HEAD' }],
    ] as const) {
      const response = await fetch(url, init);
      expect(response.status, `${init.method} ${url}`).toBe(403);
      if (init.method !== 'HEAD') expect(await refusal(response)).toEqual({ status: 403, code: 'AccessDenied', xml: true });
    }
    const still = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip' }));
    expect(await still.Body!.transformToString()).toBe('secret result');
  });

  it('refuses requests signed with another secret or an unknown key id', async () => {
    const wrongSecret = client({ credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: 'S3RVER' } });
    expect(await sdkError(wrongSecret.send(new ListObjectsV2Command({ Bucket: 'data' })))).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    const unknown = client({ credentials: { accessKeyId: 'SOMEONE', secretAccessKey: credentials.secretAccessKey } });
    expect(await sdkError(unknown.send(new GetObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip' })))).toEqual({
      status: 403,
      code: 'InvalidAccessKeyId',
    });
    wrongSecret.destroy();
    unknown.destroy();
  });

  it('refuses a signed request whose signed parts were changed on the way', async () => {
    // Sign a GET of one key, then send the same headers for another key.
    const { headers, search } = await signedBy((spy) => spy.send(new GetObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip' })));
    expect((await fetch(`${proxy.endpoint}/data/results/j1/result.zip${search}`, { headers })).status).toBe(200);
    expect(await refusal(await fetch(`${proxy.endpoint}/data/results/j1/result.zip`, { headers }))).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect(await refusal(await fetch(`${proxy.endpoint}/data/results/j1/other.zip${search}`, { headers }))).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect(
      await refusal(await fetch(`${proxy.endpoint}/data/results/j1/result.zip${search}`, { method: 'DELETE', headers })),
    ).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    // The signature covers the body through its stated hash: another body with the same headers is refused.
    const put = await signedBy((spy) => spy.send(new PutObjectCommand({ Bucket: 'data', Key: 'bundles/j5/bundle.zip', Body: 'honest' })));
    const swapped = await fetch(`${proxy.endpoint}/data/bundles/j5/bundle.zip${put.search}`, {
      method: 'PUT',
      headers: put.headers,
      body: 'forged',
    });
    expect(await refusal(swapped)).toMatchObject({ status: 400, code: 'XAmzContentSHA256Mismatch' });
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'bundles/j5/bundle.zip' }));
    expect(await kept.Body!.transformToString()).toBe('honest');

    const malformed = await fetch(`${proxy.endpoint}/data/results/j1/result.zip${search}`, {
      headers: { ...headers, authorization: 'AWS4-HMAC-SHA256 Credential=nonsense' },
    });
    expect(await refusal(malformed)).toMatchObject({ status: 400, code: 'AuthorizationHeaderMalformed' });
  });

  it('accepts a presigned download and upload, and refuses one with a tampered signature, key, expiry or date', async () => {
    const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip' }), { expiresIn: 60 }));
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('secret result');

    const tampered = (change: (u: URL) => void) => {
      const copy = new URL(url);
      change(copy);
      return copy;
    };
    const signature = url.searchParams.get('X-Amz-Signature')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const cases: [string, URL][] = [
      ['signature', tampered((u) => u.searchParams.set('X-Amz-Signature', flipped))],
      ['key', tampered((u) => (u.pathname = '/data/results/j1/other.zip'))],
      ['expiry', tampered((u) => u.searchParams.set('X-Amz-Expires', '604800'))],
      ['date', tampered((u) => u.searchParams.set('X-Amz-Date', url.searchParams.get('X-Amz-Date')!.replace(/T\d\d/, 'T23')))],
      ['extra parameter', tampered((u) => u.searchParams.set('response-content-type', 'text/html'))],
      ['extra __proto__ parameter', tampered((u) => u.searchParams.set('__proto__', 'x'))],
    ];
    for (const [what, bad] of cases) {
      expect(await refusal(await fetch(bad)), what).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    }
    const noSignature = tampered((u) => u.searchParams.delete('X-Amz-Signature'));
    expect(await refusal(await fetch(noSignature))).toMatchObject({ status: 400, code: 'AuthorizationQueryParametersError' });

    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'data', Key: 'bundles/j3/bundle.zip' }), { expiresIn: 60 });
    expect((await fetch(put, { method: 'PUT', body: 'uploaded' })).status).toBe(200);
    const putElsewhere = put.replace('/bundles/j3/', '/bundles/j4/');
    expect((await fetch(putElsewhere, { method: 'PUT', body: 'x' })).status).toBe(403);
    // A download link cannot be used to delete.
    expect(await refusal(await fetch(url, { method: 'DELETE' }))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses an expired presigned URL (by the stack’s clock)', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'results/j1/result.zip' }), { expiresIn: 60 });
    clock.advance(61_000);
    try {
      expect(await refusal(await fetch(url))).toMatchObject({ status: 403, code: 'AccessDenied' });
    } finally {
      clock.setOffset(0);
    }
  });

  it('answers CORS preflights without credentials, as S3 does', async () => {
    const response = await fetch(`${proxy.endpoint}/data/results/j1/result.zip`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  it('keeps s3rver itself closed to anything that did not come through the proxy', async () => {
    const direct = await fetch(`http://127.0.0.1:${s3rver.port}/data/results/j1/result.zip`);
    expect(await refusal(direct)).toEqual({ status: 403, code: 'AccessDenied', xml: true });
    const listed = await fetch(`http://127.0.0.1:${s3rver.port}/data?list-type=2`, { headers: { 'x-k2p-local-proxy-token': 'guess' } });
    expect(listed.status).toBe(403);
  });
});
