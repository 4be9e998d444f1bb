/**
 * s3rver in its own worker thread. s3rver checks request times (15-minute
 * skew, presigned expiry) against its own `Date`; running it in a worker with
 * the stack's clock installed (local/host/clock.ts) keeps it in step with handlers
 * whose time a test has moved. Its S3 events are passed to the main thread.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { S3Event } from 'aws-lambda';
import { DATE_PATCH_SOURCE } from '../../host/clock';
import { PortInUseError } from '../../host/ports';

export interface S3rverOptions {
  directory: string;
  port: number;
  buckets: string[];
  clockBuffer?: SharedArrayBuffer;
  onEvent(event: S3Event): void;
}

export interface S3rverHandle {
  port: number;
  /** Sent by the proxy as PROXY_TOKEN_HEADER; s3rver refuses requests without it. */
  proxyToken: string;
  close(): Promise<void>;
}

/** The header by which s3rver knows a request came through the proxy (never reaches s3rver's handlers). */
export const PROXY_TOKEN_HEADER = 'x-k2p-local-proxy-token';

const WORKER_SOURCE = `
${DATE_PATCH_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
const S3rver = require(workerData.s3rverPath);
const server = new S3rver({
  address: '127.0.0.1',
  port: workerData.port,
  silent: true,
  directory: workerData.directory,
  configureBuckets: workerData.buckets.map((name) => ({ name, configs: [] })),
});
// Only the proxy, which checks signatures, may talk to s3rver: it proves itself with a per-start token.
server.middleware.unshift(async (ctx, next) => {
  const token = ctx.get('${PROXY_TOKEN_HEADER}');
  const expected = Buffer.from(workerData.proxyToken);
  if (token.length !== expected.length || !require('node:crypto').timingSafeEqual(Buffer.from(token), expected)) {
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
    return;
  }
  delete ctx.request.headers['${PROXY_TOKEN_HEADER}'];
  await next();
});
server.on('event', (event) => parentPort.postMessage({ type: 'event', event }));
server.run().then(
  (address) => parentPort.postMessage({ type: 'ready', port: address.port }),
  (error) => parentPort.postMessage({ type: 'failed', code: error.code, message: error.message }),
);
parentPort.on('message', (message) => {
  if (message === 'close') server.close().finally(() => parentPort.postMessage({ type: 'closed' }));
});
`;

type Message =
  | { type: 'event'; event: S3Event }
  | { type: 'ready'; port: number }
  | { type: 'failed'; code?: string; message: string }
  | { type: 'closed' };

export function startS3rver(options: S3rverOptions): Promise<S3rverHandle> {
  const proxyToken = randomBytes(24).toString('base64url');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      s3rverPath: createRequire(import.meta.url).resolve('s3rver'),
      port: options.port,
      directory: options.directory,
      buckets: options.buckets,
      clock: options.clockBuffer,
      proxyToken,
    },
  });
  let closed: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    worker.on('message', (message: Message) => {
      switch (message.type) {
        case 'event':
          options.onEvent(message.event);
          break;
        case 'ready':
          resolve({
            port: message.port,
            proxyToken,
            close: () =>
              new Promise<void>((done) => {
                closed = done;
                worker.postMessage('close');
                // Never hang shutdown on a stuck server.
                setTimeout(() => void worker.terminate().then(() => done()), 5000).unref();
              }).then(() => void worker.terminate()),
          });
          break;
        case 'failed':
          void worker.terminate();
          reject(
            message.code === 'EADDRINUSE'
              ? new PortInUseError(options.port, 's3rver (behind the S3 proxy)')
              : new Error(`s3rver failed to start: ${message.message}`),
          );
          break;
        case 'closed':
          closed?.();
          break;
      }
    });
    worker.on('error', reject);
  });
}
