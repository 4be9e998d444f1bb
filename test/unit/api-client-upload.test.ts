/**
 * core/node/upload.ts against a tiny HTTP server standing in for S3's
 * presigned POST: the multipart form (fields in order, then `file`), progress
 * as bytes leave, S3's XML errors explained, connection failures, abort.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Error, uploadToPresignedPost, UploadError, type UploadProgress } from '../../core/node/upload';

interface Received {
  fields: [string, string][];
  file?: { name: string; filename: string; mimeType: string; bytes: Buffer };
  contentLength?: string;
  transferEncoding?: string;
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

let server: Server;
let url = '';
let behaviour: Behaviour = (_req, res) => res.writeHead(204).end();
const received: Received[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'k2p-upload-'));

function parse(req: IncomingMessage): Promise<Received> {
  return new Promise((resolve, reject) => {
    const got: Received = { fields: [], contentLength: req.headers['content-length'], transferEncoding: req.headers['transfer-encoding'] };
    const parser = busboy({ headers: req.headers });
    parser.on('field', (name, value) => got.fields.push([name, value]));
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => (got.file = { name, filename: info.filename, mimeType: info.mimeType, bytes: Buffer.concat(chunks) }));
    });
    parser.on('close', () => resolve(got));
    parser.on('error', reject);
    req.pipe(parser);
  });
}

beforeAll(async () => {
  server = createServer((req, res) => behaviour(req, res, { fields: [] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket`;
});
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function accept(): Behaviour {
  return (req, res) => {
    void parse(req).then((got) => {
      received.push(got);
      res.writeHead(204).end();
    });
  };
}

function xmlError(status: number, code: string, message: string, extra = ''): Behaviour {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>R1</RequestId></Error>`,
      );
    });
  };
}

const FIELDS = { key: 'bundles/job1/bundle.zip', 'Content-Type': 'application/zip', Policy: 'cG9saWN5', 'X-Amz-Signature': 'abc' };

function bytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
  return data;
}

describe('uploadToPresignedPost', () => {
  it('sends every field in order, then the file, with a Content-Length (never chunked)', async () => {
    behaviour = accept();
    const data = bytes(10_000);
    const result = await uploadToPresignedPost({ url, fields: FIELDS }, data, { filename: 'Flow.zip' });
    expect(result.status).toBe(204);
    const got = received.at(-1)!;
    expect(got.fields).toEqual(Object.entries(FIELDS));
    expect(got.file).toMatchObject({ name: 'file', filename: 'Flow.zip', mimeType: 'application/zip' });
    expect(Buffer.from(data).equals(got.file!.bytes)).toBe(true);
    expect(got.transferEncoding).toBeUndefined();
    expect(Number(got.contentLength)).toBeGreaterThan(data.length);
  });

  it('reports progress from 0 to the full size, never going backwards', async () => {
    behaviour = accept();
    const data = bytes(1024 * 1024 + 123);
    const events: UploadProgress[] = [];
    await uploadToPresignedPost({ url, fields: FIELDS }, data, { onProgress: (p) => events.push(p) });
    expect(events[0]).toEqual({ loaded: 0, total: data.length });
    expect(events.at(-1)).toEqual({ loaded: data.length, total: data.length });
    expect(events.length).toBeGreaterThan(10);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
  });

  it('streams a file from disk', async () => {
    behaviour = accept();
    const data = bytes(300_000);
    const path = join(scratch, 'bundle.zip');
    writeFileSync(path, data);
    const events: UploadProgress[] = [];
    await uploadToPresignedPost({ url, fields: FIELDS }, { path }, { onProgress: (p) => events.push(p) });
    expect(Buffer.from(data).equals(received.at(-1)!.file!.bytes)).toBe(true);
    expect(events.at(-1)).toEqual({ loaded: data.length, total: data.length });
  });

  it('explains S3’s EntityTooLarge with the sizes', async () => {
    behaviour = xmlError(
      400,
      'EntityTooLarge',
      'Your proposed upload exceeds the maximum allowed size',
      '<ProposedSize>5000</ProposedSize><MaxSizeAllowed>4096</MaxSizeAllowed>',
    );
    const error = await uploadToPresignedPost({ url, fields: FIELDS }, bytes(5000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({
      code: 'EntityTooLarge',
      status: 400,
      s3Message: 'Your proposed upload exceeds the maximum allowed size',
      isNetwork: false,
    });
    expect((error as Error).message).toContain('S3 refused the upload (400 EntityTooLarge)');
    expect((error as Error).message).toContain('the upload limit is 4.0 KiB');
  });

  it('says an expired policy means the link expired', async () => {
    behaviour = xmlError(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
    const error = await uploadToPresignedPost({ url, fields: FIELDS }, bytes(10)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect((error as Error).message).toContain('The upload link expired');
  });

  it('refuses a file over maxBytes before sending anything', async () => {
    let called = false;
    behaviour = (_req, res) => {
      called = true;
      res.writeHead(204).end();
    };
    const error = await uploadToPresignedPost({ url, fields: FIELDS, maxBytes: 100 }, bytes(101)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOO_LARGE' });
    expect((error as Error).message).toBe('The bundle is 101 B; the upload limit is 100 B.');
    expect(called).toBe(false);
  });

  it('turns a dropped connection into a NETWORK UploadError saying how much was sent', async () => {
    behaviour = (req) => req.socket.destroy();
    const error = await uploadToPresignedPost({ url, fields: FIELDS }, bytes(2000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UploadError', code: 'NETWORK', isNetwork: true });
    expect((error as Error).message).toMatch(/The upload to 127\.0\.0\.1:\d+ failed \(ECONNRESET.*of 2\.0 KiB sent\)/);
  });

  it('uses S3’s answer even when it comes before the whole body was read', async () => {
    behaviour = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/xml', connection: 'close' });
      res.end('<Error><Code>EntityTooLarge</Code><Message>too big &amp; then some</Message></Error>');
    };
    const error = await uploadToPresignedPost({ url, fields: FIELDS, maxBytes: 10 * 1024 * 1024 }, bytes(4 * 1024 * 1024)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'EntityTooLarge', s3Message: 'too big & then some' });
    expect((error as Error).message).toContain('the upload limit is 10.0 MiB');
  });

  it('stops when aborted', async () => {
    behaviour = () => {}; // never answers
    const controller = new AbortController();
    const upload = uploadToPresignedPost({ url, fields: FIELDS }, bytes(1000), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('Ctrl-C')), 50);
    await expect(upload).rejects.toThrow('Ctrl-C');
  });

  it('gives up when the server stalls longer than idleTimeoutMs', async () => {
    behaviour = () => {};
    const error = await uploadToPresignedPost({ url, fields: FIELDS }, bytes(1000), { idleTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK' });
    expect((error as Error).message).toContain('no progress for');
  });
});

describe('parseS3Error', () => {
  it('reads the flat fields of <Error> and decodes entities', () => {
    const xml =
      '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>a &lt;b&gt; &#x41;&#66;</Message><RequestId>X</RequestId></Error>';
    expect(parseS3Error(xml)).toEqual({ Code: 'AccessDenied', Message: 'a <b> AB', RequestId: 'X' });
    expect(parseS3Error('not xml')).toEqual({});
  });
});
