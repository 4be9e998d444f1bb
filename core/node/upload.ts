/**
 * Uploads a bundle through a presigned S3 POST from Node: a multipart form
 * with every policy field in order, then the file as `file`, streamed with
 * node:http(s) (S3 wants a Content-Length, so the body is never chunked) and
 * reporting progress as the bytes leave. S3's XML errors (EntityTooLarge,
 * AccessDenied for an expired policy, …) become an UploadError that says what
 * went wrong in plain words.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { formatBytes } from '../format';
import { parseS3Error } from '../s3-error';

export interface PresignedPost {
  url: string;
  /** Sent before the file, unchanged and in this order. */
  fields: Record<string, string>;
  /** The policy's size limit, when known: a larger file is refused before anything is sent. */
  maxBytes?: number;
}

/** The bundle: bytes in memory, or a file streamed from disk. */
export type UploadBody = Uint8Array | { path: string };

export interface UploadProgress {
  /** Bundle bytes handed to the network so far. */
  loaded: number;
  /** The bundle's size. */
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** Name of the file part. @default "bundle.zip" */
  filename?: string;
  /** @default "application/zip" */
  contentType?: string;
  /** Give up when the connection makes no progress for this long. @default 60 s */
  idleTimeoutMs?: number;
}

/** Why an upload failed: S3's code (EntityTooLarge, AccessDenied, …), or NETWORK / TOO_LARGE decided here. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
    /** S3's own message, verbatim. */
    readonly s3Message?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A failure of the connection (worth retrying), not a refusal by S3. */
  get isNetwork(): boolean {
    return this.code === 'NETWORK';
  }
}

const CHUNK_BYTES = 64 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export async function uploadToPresignedPost(
  target: PresignedPost,
  body: UploadBody,
  options: UploadOptions = {},
): Promise<{ status: number }> {
  options.signal?.throwIfAborted();
  const size = body instanceof Uint8Array ? body.length : (await stat(body.path)).size;
  if (target.maxBytes !== undefined && size > target.maxBytes) {
    throw new UploadError(`The bundle is ${formatBytes(size)}; the upload limit is ${formatBytes(target.maxBytes)}.`, 'TOO_LARGE');
  }
  const form = multipartFrame(target.fields, options.filename ?? 'bundle.zip', options.contentType ?? 'application/zip');
  const contentLength = form.head.length + size + form.tail.length;
  return new Upload(target, body, size, form, contentLength, options).run();
}

interface Frame {
  boundary: string;
  head: Buffer;
  tail: Buffer;
}

/** The form around the file: fields first (S3 ignores fields after the file), then the file part's header. */
export function multipartFrame(fields: Record<string, string>, filename: string, contentType: string): Frame {
  const boundary = `----k2p-web-${randomBytes(12).toString('hex')}`;
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`,
  );
  parts.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(filename)}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  return { boundary, head: Buffer.from(parts.join(''), 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

/** Form names are quoted strings (RFC 7578): quotes and line breaks percent-encoded as browsers do. */
function quoteName(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** One upload: writes the body with back-pressure and settles on S3's answer. */
class Upload {
  private request!: ClientRequest;
  private answered = false;
  private loaded = 0;

  constructor(
    private readonly target: PresignedPost,
    private readonly body: UploadBody,
    private readonly size: number,
    private readonly form: Frame,
    private readonly contentLength: number,
    private readonly options: UploadOptions,
  ) {}

  run(): Promise<{ status: number }> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.target.url);
      const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
      if (!send) return reject(new UploadError(`The upload URL ${url.protocol}// is neither http nor https.`, 'NETWORK'));
      const settle = onceOnly(resolve, reject);
      this.request = send(url, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${this.form.boundary}`, 'content-length': this.contentLength },
      });
      this.request.on('response', (response) => this.onResponse(response, settle));
      this.request.on('error', (error) => {
        // After S3 has answered, a reset while we were still sending is expected: the answer decides.
        if (!this.answered) settle.reject(this.connectionError(error));
      });
      this.request.setTimeout(this.options.idleTimeoutMs ?? 60_000, () => {
        this.request.destroy(new Error(`no progress for ${Math.round((this.options.idleTimeoutMs ?? 60_000) / 1000)} s`));
      });
      this.watchAbort(settle);
      this.writeBody().catch((error: unknown) => {
        if (!this.answered) this.request.destroy(error as Error);
      });
    });
  }

  private watchAbort(settle: Settle): void {
    const signal = this.options.signal;
    if (!signal) return;
    const onAbort = () => {
      this.request.destroy();
      settle.reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.request.on('close', () => signal.removeEventListener('abort', onAbort));
  }

  private async writeBody(): Promise<void> {
    this.progress();
    await this.write(this.form.head);
    for await (const chunk of this.chunks()) {
      if (this.answered || this.request.destroyed) return;
      await this.write(chunk);
      this.loaded += chunk.length;
      this.progress();
    }
    await this.write(this.form.tail);
    this.request.end();
  }

  private async *chunks(): AsyncGenerator<Uint8Array> {
    if (this.body instanceof Uint8Array) {
      for (let at = 0; at < this.body.length; at += CHUNK_BYTES) yield this.body.subarray(at, at + CHUNK_BYTES);
      return;
    }
    let read = 0;
    for await (const chunk of createReadStream(this.body.path, { highWaterMark: CHUNK_BYTES })) {
      read += (chunk as Buffer).length;
      // Content-Length is already sent: a file that grows would corrupt the form.
      if (read > this.size) throw new Error(`${this.body.path} changed while it was being uploaded`);
      yield chunk as Buffer;
    }
    if (read !== this.size) throw new Error(`${this.body.path} changed while it was being uploaded`);
  }

  /** Resolves once the chunk is flushed towards the socket, so progress follows the network, not memory. */
  private write(chunk: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.request.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  }

  private progress(): void {
    this.options.onProgress?.({ loaded: this.loaded, total: this.size });
  }

  private onResponse(response: IncomingMessage, settle: Settle): void {
    this.answered = true;
    const status = response.statusCode ?? 0;
    readCapped(response, MAX_ERROR_BODY).then(
      (text) => {
        if (status >= 200 && status <= 299) {
          this.loaded = this.size;
          this.progress();
          settle.resolve({ status });
        } else {
          settle.reject(s3Error(status, text, this.size, this.target.maxBytes));
        }
      },
      (error: unknown) => settle.reject(this.connectionError(error as Error)),
    );
  }

  private connectionError(error: Error): UploadError {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code ? `${code}: ${error.message}` : error.message;
    const sent = `${formatBytes(this.loaded)} of ${formatBytes(this.size)} sent`;
    // A server that stops reading an oversize body resets the connection instead of answering.
    const limit =
      this.target.maxBytes !== undefined && (code === 'EPIPE' || code === 'ECONNRESET')
        ? ` The upload server closed the connection; the upload limit is ${formatBytes(this.target.maxBytes)}.`
        : '';
    return new UploadError(
      `The upload to ${new URL(this.target.url).host} failed (${reason}; ${sent}).${limit}`,
      'NETWORK',
      undefined,
      undefined,
      {
        cause: error,
      },
    );
  }
}

interface Settle {
  resolve(value: { status: number }): void;
  reject(error: unknown): void;
}

function onceOnly(resolve: Settle['resolve'], reject: Settle['reject']): Settle {
  let done = false;
  return {
    resolve: (value) => {
      if (done) return;
      done = true;
      resolve(value);
    },
    reject: (error) => {
      if (done) return;
      done = true;
      reject(error);
    },
  };
}

function readCapped(response: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

/** S3's `<Error><Code>…</Code><Message>…</Message>…</Error>` as a fields map (no XML parser needed for a flat document). */
export { parseS3Error } from '../s3-error';

/** A refusal explained: what S3 said, plus what it means for this upload. */
export function s3Error(status: number, body: string, size: number, maxBytes?: number): UploadError {
  const fields = parseS3Error(body);
  const code = fields.Code ?? `HTTP_${status}`;
  const said = fields.Message ?? (body.trim() ? body.trim().slice(0, 200) : `HTTP ${status}`);
  return new UploadError(
    `S3 refused the upload (${status} ${code}): ${said}. ${explain(code, said, fields, size, maxBytes)}`.trim(),
    code,
    status,
    fields.Message,
  );
}

function explain(code: string, message: string, fields: Record<string, string>, size: number, maxBytes?: number): string {
  const limit = fields.MaxSizeAllowed !== undefined ? Number(fields.MaxSizeAllowed) : maxBytes;
  switch (code) {
    case 'EntityTooLarge':
      return `The bundle is ${formatBytes(size)}${limit !== undefined && Number.isFinite(limit) ? `; the upload limit is ${formatBytes(limit)}` : ', over the upload limit'}. Bundle only workflow.knime and the settings.xml files (\`k2p-web bundle\`).`;
    case 'EntityTooSmall':
      return 'The bundle is empty.';
    case 'AccessDenied':
      return /expired/i.test(message)
        ? 'The upload link expired before the upload finished; run the command again.'
        : 'The upload link does not allow this upload (it may have expired or been used for another file); run the command again.';
    case 'SignatureDoesNotMatch':
    case 'InvalidPolicyDocument':
    case 'InvalidAccessKeyId':
      return 'The upload link was not accepted; run the command again, and report it if it keeps happening.';
    default:
      return '';
  }
}
