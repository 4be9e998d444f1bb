/**
 * Local S3 as the functions and the page reach it: s3rver (objects in the data
 * directory, the buckets local mode uses) behind the presigned-POST proxy, and
 * the buckets' notifications, held back until something takes them (the
 * functions start after S3, whose endpoint is in their environment).
 */
import type { S3Event } from 'aws-lambda';
import type { LocalClock } from '../../host/clock';
import type { BucketModel } from '../../model/stack-model';
import type { LocalCredentials } from '../credentials';
import { invocationsFor } from './notifications';
import { startS3Proxy, type S3Proxy } from './proxy';
import { startS3rver } from './s3rver';

export interface LocalS3 {
  /** The endpoint clients use (the proxy). */
  endpoint: string;
  /** Sends every notification to `invokeAsync` from now on, those raised so far first. */
  notify(invokeAsync: (functionArn: string, event: S3Event) => void): void;
  close(): Promise<void>;
}

export interface S3Options {
  /** Where s3rver keeps the objects. */
  directory: string;
  /** The proxy's port (the S3 endpoint). */
  port: number;
  s3rverPort: number;
  buckets: BucketModel[];
  /** The largest upload any function's presigned POST allows. */
  maxUploadBytes: number;
  clock: LocalClock;
  /** The only key pair whose signatures the endpoint accepts (the functions'). */
  credentials: LocalCredentials;
}

export async function startS3(options: S3Options): Promise<LocalS3> {
  const raised: S3Event[] = [];
  let deliver: ((event: S3Event) => void) | undefined;
  const s3rver = await startS3rver({
    directory: options.directory,
    port: options.s3rverPort,
    buckets: options.buckets.map((b) => b.name),
    clockBuffer: options.clock.buffer,
    onEvent: (event) => (deliver ? deliver(event) : raised.push(event)),
  });
  let proxy: S3Proxy;
  try {
    proxy = await startS3Proxy(options.port, {
      upstream: { host: '127.0.0.1', port: s3rver.port, proxyToken: s3rver.proxyToken },
      secretFor: (id) => (id === options.credentials.accessKeyId ? options.credentials.secretAccessKey : undefined),
      allowedOrigins: [...new Set(options.buckets.flatMap((b) => b.cors.flatMap((rule) => rule.allowedOrigins)))],
      // Bodies far above the largest allowed upload are refused before parsing (S3 answers EntityTooLarge too).
      maxBodyBytes: 2 * options.maxUploadBytes + 1024 * 1024,
      now: () => new Date(options.clock.now()),
    });
  } catch (error) {
    await s3rver.close();
    throw error;
  }
  return {
    endpoint: proxy.endpoint,
    notify(invokeAsync) {
      deliver = (event) => {
        for (const invocation of invocationsFor(options.buckets, event)) invokeAsync(invocation.functionArn, invocation.event);
      };
      for (const event of raised.splice(0)) deliver(event);
    },
    close: () => proxy.close().finally(() => s3rver.close()),
  };
}
