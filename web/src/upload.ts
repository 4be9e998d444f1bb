/**
 * The bundle goes straight from the browser to S3 through the presigned POST
 * (never through the API): a multipart form with every policy field in the
 * order given, then the file as `file`. XHR rather than fetch because only
 * XHR reports upload progress in every browser.
 */
import type { UploadTicket } from '../../core/api-schemas';
import { formatBytes } from '../../core/format';
import { parseS3Error as parseS3ErrorFields } from '../../core/s3-error';

export interface UploadProgress {
  loaded: number;
  total: number;
}

/** Why the upload failed. `network` failures are worth retrying; refusals by S3 are not. */
export class UploadFailure extends Error {
  override readonly name = 'UploadFailure';
  constructor(
    message: string,
    readonly kind: 'network' | 'refused' | 'too-large',
    readonly status?: number,
    readonly s3Code?: string,
  ) {
    super(message);
  }

  /** The service's code for the same problem, when there is one. */
  get bundleCode(): 'BUNDLE_TOO_LARGE' | undefined {
    return this.kind === 'too-large' || this.s3Code === 'EntityTooLarge' ? 'BUNDLE_TOO_LARGE' : undefined;
  }
}

/** The multipart form, policy fields first and in order (S3 requires `file` to be last). */
export function uploadForm(ticket: Pick<UploadTicket, 'fields'>, bundle: Blob, filename = 'bundle.zip'): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append('file', bundle, filename);
  return form;
}

/** The Code and Message of S3's error document. */
export function parseS3Error(xml: string): { code?: string; message?: string } {
  const { Code: code, Message: message } = parseS3ErrorFields(xml);
  return { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) };
}

/** A refusal by S3 in plain words. */
export function refusal(status: number, body: string, size: number, maxBytes: number | undefined): UploadFailure {
  const { code, message } = parseS3Error(body);
  const said = message ?? `HTTP ${status}`;
  let advice = '';
  if (code === 'EntityTooLarge')
    advice = ` The bundle is ${formatBytes(size)}${maxBytes !== undefined ? `; the limit is ${formatBytes(maxBytes)}` : ''}.`;
  else if (code === 'AccessDenied' && /expired/i.test(said)) advice = ' The upload link expired before the upload finished.';
  return new UploadFailure(
    `The storage service refused the upload (${code ?? `HTTP ${status}`}): ${said}.${advice}`,
    'refused',
    status,
    code,
  );
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** @default "bundle.zip" */
  filename?: string;
}

/** Uploads with XMLHttpRequest; resolves on a 2xx from S3. */
export function uploadBundle(ticket: UploadTicket, bundle: Blob, options: UploadOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    if (bundle.size > ticket.maxBytes) {
      return reject(
        new UploadFailure(`The bundle is ${formatBytes(bundle.size)}; the upload limit is ${formatBytes(ticket.maxBytes)}.`, 'too-large'),
      );
    }
    const xhr = new XMLHttpRequest();
    const total = bundle.size;
    const onAbort = () => xhr.abort();
    const done = () => options.signal?.removeEventListener('abort', onAbort);
    xhr.open('POST', ticket.url);
    // S3 answers 204 with no body; an error is a small XML document.
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      // The form adds the policy fields: scale to the bundle's own size.
      const loaded = event.lengthComputable && event.total > 0 ? Math.round((event.loaded / event.total) * total) : event.loaded;
      options.onProgress?.({ loaded: Math.min(loaded, total), total });
    });
    xhr.addEventListener('load', () => {
      done();
      if (xhr.status >= 200 && xhr.status <= 299) {
        options.onProgress?.({ loaded: total, total });
        resolve();
      } else {
        reject(refusal(xhr.status, String(xhr.responseText ?? ''), total, ticket.maxBytes));
      }
    });
    xhr.addEventListener('error', () => {
      done();
      reject(new UploadFailure(`The upload to ${new URL(ticket.url).host} failed: the connection was lost or refused.`, 'network'));
    });
    xhr.addEventListener('timeout', () => {
      done();
      reject(new UploadFailure(`The upload to ${new URL(ticket.url).host} made no progress and was stopped.`, 'network'));
    });
    xhr.addEventListener('abort', () => {
      done();
      reject(options.signal?.reason ?? new DOMException('The upload was cancelled.', 'AbortError'));
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    options.onProgress?.({ loaded: 0, total });
    xhr.send(uploadForm(ticket, bundle, options.filename));
  });
}
