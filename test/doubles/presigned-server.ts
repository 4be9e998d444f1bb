/**
 * TEST DOUBLE of S3 presigned URLs, for the runner's tests: a tiny HTTP server on
 * 127.0.0.1 that serves GET objects and stores PUT bodies, with a fake signature
 * in every URL's query (so tests can check it never reaches a log or a report).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_SIGNATURE = 'X-Amz-Signature=f4k3s1gn4tur3d0n0tl0g';

export interface StoredObject {
  body: Buffer;
  headers: IncomingHttpHeaders;
}

export interface PresignedServer {
  /** A "presigned" URL for a key. */
  url(key: string): string;
  put(key: string, body: Uint8Array): void;
  /** Answers every request for `key` with `status` from now on. */
  fail(key: string, status: number): void;
  objects: Map<string, StoredObject>;
  requests: { method: string; key: string }[];
  close(): Promise<void>;
}

export async function startPresignedServer(): Promise<PresignedServer> {
  const objects = new Map<string, StoredObject>();
  const failures = new Map<string, number>();
  const requests: { method: string; key: string }[] = [];
  const server: Server = createServer((req, res) => {
    const key = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    requests.push({ method: req.method ?? '', key });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const failure = failures.get(key);
      if (failure) return void res.writeHead(failure).end('<Error><Code>AccessDenied</Code></Error>');
      if (req.method === 'GET') {
        const object = objects.get(key);
        if (!object) return void res.writeHead(404).end();
        return void res.writeHead(200, { 'content-length': object.body.length }).end(object.body);
      }
      if (req.method === 'PUT') {
        objects.set(key, { body: Buffer.concat(chunks), headers: req.headers });
        return void res.writeHead(200).end();
      }
      res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (key) => `http://127.0.0.1:${port}/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&${FAKE_SIGNATURE}`,
    put: (key, body) => void objects.set(key, { body: Buffer.from(body), headers: {} }),
    fail: (key, status) => void failures.set(key, status),
    objects,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
