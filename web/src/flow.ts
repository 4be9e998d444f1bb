/**
 * One conversion from the page's point of view: admission (waiting out
 * SERVER_BUSY / RATE_LIMITED with a countdown), the upload straight to S3
 * (retried on network failures), then following the job to its end. Free of
 * DOM code: the API, the uploader and the clock are passed in, so the unit
 * tests drive it with fakes and the page with the real things.
 */
import { backoffDelay, realClock, type ApiClient, type CapacityWait, type FollowRetry } from '../../core/api-client';
import { MAX_JOB_WAIT_SECONDS, type JobView, type UploadTicket } from '../../core/api-schemas';
import type { ConversionOptions } from '../../core/types';
import { UploadFailure, type UploadOptions, type UploadProgress } from './upload';

export type FlowApi = Pick<ApiClient, 'createJob' | 'followJob' | 'deleteJob' | 'withCapacityRetry'>;
export type Uploader = (ticket: UploadTicket, bundle: Blob, options: UploadOptions) => Promise<void>;

export type FlowEvent =
  | { type: 'creating' }
  | { type: 'capacity-wait'; wait: CapacityWait }
  | { type: 'created'; job: JobView }
  | { type: 'upload-progress'; progress: UploadProgress }
  | { type: 'upload-retry'; attempt: number; delayMs: number; error: UploadFailure }
  | { type: 'uploaded' }
  | { type: 'job'; job: JobView }
  | { type: 'poll-retry'; retry: FollowRetry };

export interface FlowDeps {
  api: FlowApi;
  upload: Uploader;
  onEvent: (event: FlowEvent) => void;
  signal?: AbortSignal;
  /** @default - the real clock's sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random (back-off jitter) */
  random?: () => number;
  /** Tries of the upload when the connection fails. @default 3 */
  uploadAttempts?: number;
  /** @default - "k2p-web-" + a random UUID */
  newIdempotencyKey?: () => string;
  /** Longest pause between status polls; the server's Retry-After is honoured below it. @default 10 s */
  maxPollMs?: number;
}

export interface ConversionInput {
  bundle: Blob;
  /** Sent as the job's filename: the service derives the workflow (and file) names from it. */
  filename: string;
  options: ConversionOptions;
}

/** Pause between the end of the upload and the first status poll. */
export const FIRST_POLL_DELAY_MS = 800;

function randomKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return `k2p-web-${c.randomUUID()}`;
  // Plain-http origins other than localhost have no randomUUID.
  return `k2p-web-${Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof DOMException && error.name === 'AbortError');
}

/** Creates the job, uploads the bundle and follows the job until it ends; resolves with the final job. */
export async function convert(input: ConversionInput, deps: FlowDeps): Promise<JobView> {
  const { api, signal, onEvent } = deps;
  onEvent({ type: 'creating' });
  // One key for every try: a retried POST /jobs never creates a second job.
  const idempotencyKey = (deps.newIdempotencyKey ?? randomKey)();
  const request = { filename: input.filename.slice(0, 255), sizeBytes: input.bundle.size, options: input.options };
  const created = await api.withCapacityRetry(() => api.createJob(request, { idempotencyKey, signal }), {
    signal,
    onWait: (wait) => onEvent({ type: 'capacity-wait', wait }),
  });
  onEvent({ type: 'created', job: created.job });
  const jobId = created.job.jobId;
  if (created.upload) {
    try {
      await uploadWithRetry(created.upload, input.bundle, deps);
    } catch (error) {
      // A job whose upload never arrives holds a capacity slot until it expires: give it back now.
      await api.deleteJob(jobId).catch(() => undefined);
      throw error;
    }
    onEvent({ type: 'uploaded' });
    // The service answers "AWAITING_UPLOAD, poll in 5 s" until S3's event lands, which takes well
    // under a second: a short pause first spares this client the long wait.
    await (deps.sleep ?? realClock.sleep)(FIRST_POLL_DELAY_MS, signal);
  }
  return follow(jobId, deps);
}

async function uploadWithRetry(ticket: UploadTicket, bundle: Blob, deps: FlowDeps): Promise<void> {
  const attempts = Math.max(1, deps.uploadAttempts ?? 3);
  const sleep = deps.sleep ?? realClock.sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.upload(ticket, bundle, {
        signal: deps.signal,
        onProgress: (progress) => deps.onEvent({ type: 'upload-progress', progress }),
      });
      return;
    } catch (error) {
      const retry = error instanceof UploadFailure && error.kind === 'network' && attempt < attempts && !isAbort(error, deps.signal);
      if (!retry || Date.parse(ticket.expiresAt) <= Date.now()) throw error;
      const delayMs = backoffDelay(attempt, 1000, 8000, deps.random);
      deps.onEvent({ type: 'upload-retry', attempt, delayMs, error });
      await sleep(delayMs, deps.signal);
    }
  }
}

/** Follows an existing job (after an upload, or after a reload) until it ends. */
export function follow(jobId: string, deps: FlowDeps): Promise<JobView> {
  return deps.api.followJob(jobId, {
    signal: deps.signal,
    maxPollMs: deps.maxPollMs ?? 10_000,
    // Long poll: the service answers as soon as the job moves (the pauses above only for a server that does not wait).
    waitSeconds: MAX_JOB_WAIT_SECONDS,
    onUpdate: (job) => deps.onEvent({ type: 'job', job }),
    onRetry: (retry) => deps.onEvent({ type: 'poll-retry', retry }),
  });
}

/** The job's options as the API wants them, from the page's three checkboxes. */
export function conversionOptions(choice: { script: boolean; notebook: boolean; graph: boolean }): ConversionOptions | undefined {
  if (!choice.script && !choice.notebook) return undefined;
  const workbook = choice.script && choice.notebook ? 'both' : choice.script ? 'py' : 'ipynb';
  return { workbook, graph: choice.graph ? 'both' : 'off' };
}
