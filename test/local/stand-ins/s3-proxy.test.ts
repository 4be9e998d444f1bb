import { rmSync } from 'node:fs';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControllableClock } from '../../../local/host/clock';
import { LOCAL_CREDENTIALS } from '../../../local/stand-ins/credentials';
import { startS3Proxy, type S3Proxy } from '../../../local/stand-ins/s3/proxy';
import { startS3rver, type S3rverHandle } from '../../../local/stand-ins/s3/s3rver';
import { tempDir } from '../helpers';

const clock = createControllableClock();
const events: S3Event[] = [];
let s3rver: S3rverHandle;
let proxy: S3Proxy;
let s3: S3Client;
const directory = tempDir('k2p-s3-');

beforeAll(async () => {
  s3rver = await startS3rver({ directory, port: 0, buckets: ['data'], clockBuffer: clock.buffer, onEvent: (e) => events.push(e) });
  proxy = await startS3Proxy(0, {
    upstream: { host: '127.0.0.1', port: s3rver.port, proxyToken: s3rver.proxyToken },
    secretFor: (id) => (id === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : undefined),
    allowedOrigins: [],
    maxBodyBytes: 1 << 20,
    now: () => new Date(clock.now()),
  });
  s3 = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await s3rver?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('local S3 (s3rver in a worker, behind the proxy)', () => {
  it('passes S3 events from the worker', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'bundles/j1/bundle.zip', Body: 'x' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(
      events.some((e) => e.Records[0]?.s3.object.key === 'bundles/j1/bundle.zip' && e.Records[0].eventName.startsWith('ObjectCreated')),
    ).toBe(true);
  });

  it('deletes several keys under one prefix at once, and writes next to a delete, without s3rver tripping over its folders', async () => {
    for (let round = 0; round < 5; round++) {
      const keys = ['result.zip', 'report.json', 'other.txt'].map((name) => `results/r${round}/${name}`);
      await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'data', Key, Body: 'x' }))));
      const deletes = keys.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: 'data', Key })));
      const write = s3.send(new PutObjectCommand({ Bucket: 'data', Key: `results/r${round}/late.txt`, Body: 'y' }));
      await Promise.all([...deletes, write]);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: `results/r${round}/` }));
      expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([`results/r${round}/late.txt`]);
    }
  });

  it("keeps s3rver's time checks in step with the stack's clock", async () => {
    clock.advance(3 * 86_400_000);
    try {
      // Signed with the moved clock (this client reads real time: give it the offset) and accepted.
      const moved = new S3Client({
        endpoint: proxy.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
        systemClockOffset: clock.offset(),
      });
      await moved.send(new PutObjectCommand({ Bucket: 'data', Key: 'bundles/j2/bundle.zip', Body: 'x' }));
      moved.destroy();
    } finally {
      clock.setOffset(0);
    }
  });
});
