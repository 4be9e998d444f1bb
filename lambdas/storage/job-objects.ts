/**
 * The job's objects in the data bucket (keys from core/service-env.ts s3Keys):
 * bounded reads into memory and idempotent deletes.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Keys } from '../../core/service-env';
import { isAwsError } from './aws-errors';

export type JobObjectKind = keyof typeof s3Keys;

export type BoundedRead = { kind: 'ok'; bytes: Uint8Array } | { kind: 'too-large'; size: number } | { kind: 'missing' };

const isMissing = (error: unknown) => isAwsError(error, 'NoSuchKey', 'NotFound');

async function readAtMost(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BoundedRead> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    // Never hold more than the cap, whatever the object's header claimed.
    if (size > maxBytes) {
      (body as { destroy?: () => void }).destroy?.();
      return { kind: 'too-large', size };
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: 'ok', bytes };
}

export class JobObjects {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Streams the object into memory, stopping as soon as it exceeds `maxBytes`. */
  async read(jobId: string, kind: JobObjectKind, maxBytes: number): Promise<BoundedRead> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: s3Keys[kind](jobId) }));
      if (typeof out.ContentLength === 'number' && out.ContentLength > maxBytes) {
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return { kind: 'too-large', size: out.ContentLength };
      }
      if (!out.Body) return { kind: 'ok', bytes: new Uint8Array() };
      return await readAtMost(out.Body as AsyncIterable<Uint8Array>, maxBytes);
    } catch (error) {
      if (isMissing(error)) return { kind: 'missing' };
      throw error;
    }
  }

  /** Size of the object, or undefined when it does not exist. */
  async size(jobId: string, kind: JobObjectKind): Promise<number | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: s3Keys[kind](jobId) }));
      return out.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * Deletes the given objects; deleting a missing object succeeds. One at a
   * time: at most three small requests, and file-backed S3 servers (s3rver)
   * race when emptying a shared prefix concurrently.
   */
  async delete(jobId: string, kinds: readonly JobObjectKind[]): Promise<void> {
    for (const kind of kinds) await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: s3Keys[kind](jobId) }));
  }
}
