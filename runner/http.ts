/**
 * The runner's only network traffic: GET the bundle and PUT the result and the
 * report, all through presigned URLs (no AWS SDK, no credentials in the task).
 */

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The body grew past the cap: the bundle is larger than any accepted upload. */
export class TooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The download is larger than ${maxBytes} bytes`);
    this.name = 'TooLargeError';
  }
}

/**
 * GETs a URL into memory, reading at most `maxBytes`: the Content-Length header is
 * not trusted, the stream is cancelled as soon as the cap is passed.
 */
export async function downloadCapped(url: string, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const response = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new HttpError(`GET answered HTTP ${response.status}`, response.status);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new TooLargeError(maxBytes);
  }
  return readCapped(response, maxBytes);
}

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

export interface PutOptions {
  contentType: string;
  timeoutMs: number;
  /** Attempts for network errors and 5xx answers (4xx are final: a presigned URL does not heal). */
  attempts?: number;
  /** First back-off delay, doubled after each failed attempt. */
  backoffMs?: number;
}

/** PUTs bytes to a presigned URL; resolves with the HTTP status of the accepted attempt. */
export async function putBytes(url: string, body: Uint8Array, options: PutOptions): Promise<number> {
  const attempts = options.attempts ?? 3;
  let delay = options.backoffMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await putOnce(url, body, options);
    } catch (err) {
      const retryable = !(err instanceof HttpError) || (err.status ?? 0) >= 500;
      if (!retryable || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}

async function putOnce(url: string, body: Uint8Array, options: PutOptions): Promise<number> {
  const response = await request(url, {
    method: 'PUT',
    // fetch derives Content-Length from a byte body; S3 needs it (no chunked uploads to presigned URLs).
    headers: { 'content-type': options.contentType },
    body: new Uint8Array(body), // typed copy: BodyInit wants an ArrayBuffer-backed view
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new HttpError(`PUT answered HTTP ${response.status}`, response.status);
  }
  return response.status;
}

/** fetch, with its errors turned into messages that never contain the (signed) URL. */
async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new HttpError(`${init.method} failed: ${reason}`);
  }
}
