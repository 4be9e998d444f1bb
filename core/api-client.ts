/**
 * Typed client of the k2p-web HTTP API (docs/openapi.yaml), shared by the CLI
 * and the web page. Every response is checked with the zod schemas of
 * api-schemas.ts; every non-2xx answer becomes an ApiError carrying the error
 * envelope, the HTTP status and Retry-After.
 *
 * Browser-safe: fetch only, no node: imports. fetch, the clock, sleep and
 * randomness are injectable so tests can drive time without waiting.
 *
 * Uploading the bundle is transport-specific and not done here: createJob
 * hands back the presigned POST ({url, fields}); the page uploads it with XHR
 * (for progress), the CLI with core/node/upload.ts.
 */
import {
  CreateJobResponseSchema,
  ErrorEnvelopeSchema,
  HealthResponseSchema,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAY_HEADER,
  JOB_WAIT_HEADER,
  JobViewSchema,
  MAX_JOB_WAIT_SECONDS,
  ListJobsResponseSchema,
  MeResponseSchema,
  ResultLinkSchema,
  AdminJobCountsResponseSchema,
  AdminJobDetailSchema,
  AdminKeyResponseSchema,
  AdminKeySecretResponseSchema,
  AdminListAuditResponseSchema,
  AdminListJobsResponseSchema,
  AdminListKeysResponseSchema,
  AdminListPeopleResponseSchema,
  AdminPersonResponseSchema,
  AdminUsageResponseSchema,
  type AdminCreateKeyRequest,
  type AdminJobCountsResponse,
  type AdminJobDetail,
  type AdminKeyResponse,
  type AdminKeySecretResponse,
  type AdminListAuditResponse,
  type AdminListJobsQuery,
  type AdminListJobsResponse,
  type AdminListKeysResponse,
  type AdminListPeopleResponse,
  type AdminPutPersonRequest,
  type AdminTimeRange,
  type AdminUsageResponse,
  type PersonStandingView,
  type CreateJobRequest,
  type HealthResponse,
  type JobView,
  type ListJobsResponse,
  type MeResponse,
  type ResultLink,
  type UploadTicket,
} from './api-schemas';
import { ERRORS, isErrorCode, type ErrorCode } from './errors';

/** Time as the client sees it; tests pass a fake one. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** How a single request retries transient failures (no answer, 502/504, 5xx without an envelope, 500). */
export interface RetryPolicy {
  /** Tries per request, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ApiClientOptions {
  /** The API's base URL, stage included (e.g. `https://abc.execute-api.eu-central-1.amazonaws.com/prod`). */
  baseUrl: string;
  /** Sent as `x-api-key` on every request but GET /health. */
  apiKey?: string;
  /**
   * A signed-in person's token, asked for before every request but GET /health and sent as
   * `Authorization: Bearer`, instead of the key; undefined (signed out): the key, if any, is sent.
   */
  bearerToken?: () => Promise<string | undefined> | string | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default - the real clock */
  clock?: Partial<Clock>;
  /** @default Math.random - used for back-off jitter */
  random?: () => number;
  /** @default - 3 attempts, 500 ms doubling up to 8 s, with jitter */
  retry?: Partial<RetryPolicy>;
  /** Longest wait for one HTTP answer. @default 30 s */
  requestTimeoutMs?: number;
  /** @default - `k2p-` + a random UUID */
  newIdempotencyKey?: () => string;
}

export interface CreateJobOptions {
  /**
   * Reuse the same key for every try of the same job (also across capacity
   * retries): the server then returns the job an earlier try created instead of
   * creating a second one. @default - a new key per createJob call
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface CreatedJob {
  job: JobView;
  /** The presigned POST; absent only when a replay finds the job past its upload. */
  upload?: UploadTicket;
  /** true when an earlier request with the same key created the job. */
  replayed: boolean;
  idempotencyKey: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface FollowRetry {
  error: Error;
  /** Consecutive failed polls so far. */
  attempt: number;
  delayMs: number;
}

export interface FollowOptions {
  /** Called with every status the server reports. */
  onUpdate?: (job: JobView) => void;
  /** Called when a poll fails and will be retried: failures are reported, never swallowed. */
  onRetry?: (retry: FollowRetry) => void;
  signal?: AbortSignal;
  /** Shortest pause between polls. @default 1000 ms */
  minPollMs?: number;
  /** Longest pause between polls (bounds Retry-After and back-off). @default 30 s */
  maxPollMs?: number;
  /** Failed polls in a row before giving up with the last error. @default 8 */
  maxConsecutiveFailures?: number;
  /** Give up (FollowTimeoutError) when the job is not terminal after this long. @default - never: every job ends */
  timeoutMs?: number;
  /**
   * Long poll: each GET /jobs/{id} asks the server to hold the answer up to this many seconds until the status
   * changes, and the next one is sent at once. A server that does not honour it (no `K2p-Waited-Seconds`
   * answer header) and failed polls fall back to the pauses above. 0 turns it off.
   * @default 20 (MAX_JOB_WAIT_SECONDS; lowered to fit requestTimeoutMs)
   */
  waitSeconds?: number;
}

export interface CapacityWait {
  code: 'SERVER_BUSY' | 'RATE_LIMITED';
  message: string;
  /** Seconds until the next try: counts down to 1, once per second. */
  secondsLeft: number;
  /** The try that was refused (1 = the first). */
  attempt: number;
  error: ApiError;
}

export interface CapacityRetryOptions {
  /** Called once per second of every wait, for a countdown. */
  onWait?: (wait: CapacityWait) => void;
  signal?: AbortSignal;
  /** Total waiting allowed before giving up with the last refusal. @default 10 minutes */
  maxWaitMs?: number;
  /** Wait used when the refusal carries no Retry-After. @default 5 s */
  defaultRetryAfterSeconds?: number;
  clock?: Partial<Clock>;
}

/** The API answered with a non-2xx status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly requestId?: string;
  /** What the user can do about it (from the envelope, else from core/errors.ts). */
  readonly hint: string;
  /** Seconds from the Retry-After header. */
  readonly retryAfterSeconds?: number;
  /** false when the answer had no k2p-web error envelope (a proxy, a wrong URL). */
  readonly enveloped: boolean;

  constructor(init: {
    status: number;
    code: ErrorCode;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string;
    hint?: string;
    retryAfterSeconds?: number;
    enveloped: boolean;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.hint = init.hint ?? ERRORS[init.code].hint;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.enveloped = init.enveloped;
  }
}

/** No HTTP answer at all: connection refused, DNS, reset, timeout. Safe to retry. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A 2xx answer that is not what the API documents (wrong URL, version mismatch). */
export class ResponseFormatError extends Error {
  override readonly name = 'ResponseFormatError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** followJob gave up waiting (only with its `timeoutMs`). */
export class FollowTimeoutError extends Error {
  override readonly name = 'FollowTimeoutError';
  constructor(
    readonly jobId: string,
    readonly lastJob: JobView | undefined,
    timeoutMs: number,
  ) {
    super(`Job ${jobId} did not finish within ${Math.round(timeoutMs / 1000)} s.`);
  }
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 8000 };
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Fallback status → code when an error answer has no envelope. */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'RESULT_NOT_READY',
  410: 'RESULT_GONE',
  429: 'RATE_LIMITED',
  503: 'SERVER_BUSY',
};

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: abortableSleep,
};

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function clockOf(partial: Partial<Clock> | undefined): Clock {
  return { now: partial?.now ?? realClock.now, sleep: partial?.sleep ?? realClock.sleep };
}

/** Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** Exponential back-off with "equal jitter": half fixed, half random, so clients do not retry in lockstep. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/** Failures worth another try: no answer, or the server/gateway briefly unwell (not capacity: see withCapacityRetry). */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof ApiError)) return false;
  if (error.code === 'SERVER_BUSY' && error.enveloped) return false;
  return error.status >= 500;
}

export function isCapacityError(error: unknown): error is ApiError & { code: 'SERVER_BUSY' | 'RATE_LIMITED' } {
  return error instanceof ApiError && (error.code === 'SERVER_BUSY' || error.code === 'RATE_LIMITED');
}

function newUuidKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return `k2p-${crypto.randomUUID()}`;
  // Older browsers on plain http (not a secure context) lack randomUUID but have getRandomValues.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `k2p-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** The body as it came. */
  text: string;
}

interface SendOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** GET /health is the only route without a key. */
  withKey?: boolean;
  signal?: AbortSignal;
  /** Overrides the policy's attempts (followJob retries itself, so it asks for 1). */
  attempts?: number;
  /** @default application/json */
  accept?: string;
}

/** A schema of api-schemas.ts (zod/mini): only safeParse is needed here. */
interface ResponseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly bearerToken: ApiClientOptions['bearerToken'];
  private readonly fetchImpl: typeof fetch;
  readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly newIdempotencyKey: () => string;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.bearerToken = options.bearerToken;
    // Bound so that a method-less call of fetch keeps its `this` (browsers throw "Illegal invocation").
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.clock = clockOf(options.clock);
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.newIdempotencyKey = options.newIdempotencyKey ?? newUuidKey;
  }

  /** GET /health (no API key). */
  async health(options: RequestOptions = {}): Promise<HealthResponse> {
    const raw = await this.send({ method: 'GET', path: '/health', withKey: false, signal: options.signal });
    return this.parse(HealthResponseSchema, raw, 'GET /health');
  }

  /** GET /me: who the key (or sign-in) belongs to, and its role. */
  async me(options: RequestOptions = {}): Promise<MeResponse> {
    const raw = await this.send({ method: 'GET', path: '/me', signal: options.signal });
    return this.parse(MeResponseSchema, raw, 'GET /me');
  }

  /** POST /jobs with an Idempotency-Key, so the automatic retries (and the caller's) never create two jobs. */
  async createJob(request: CreateJobRequest = {}, options: CreateJobOptions = {}): Promise<CreatedJob> {
    const idempotencyKey = options.idempotencyKey ?? this.newIdempotencyKey();
    const raw = await this.send({
      method: 'POST',
      path: '/jobs',
      body: request,
      headers: { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey },
      signal: options.signal,
    });
    const created = this.parse(CreateJobResponseSchema, raw, 'POST /jobs');
    const replayed = raw.headers.get(IDEMPOTENT_REPLAY_HEADER) === 'true';
    return { job: created.job, ...(created.upload ? { upload: created.upload } : {}), replayed, idempotencyKey };
  }

  /** GET /jobs/{id}. */
  async getJob(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    return (await this.pollJob(jobId, { signal: options.signal })).job;
  }

  /** One page of the caller's jobs, newest first. */
  async listJobs(query: { limit?: number; nextToken?: string } = {}, options: RequestOptions = {}): Promise<ListJobsResponse> {
    const raw = await this.send({
      method: 'GET',
      path: '/jobs',
      query: { limit: query.limit, nextToken: query.nextToken },
      signal: options.signal,
    });
    return this.parse(ListJobsResponseSchema, raw, 'GET /jobs');
  }

  /** Every job of the caller, newest first, page by page; stops after `max` jobs. */
  async *iterateJobs(query: { pageSize?: number; max?: number } = {}, options: RequestOptions = {}): AsyncGenerator<JobView> {
    const max = query.max ?? Number.POSITIVE_INFINITY;
    let nextToken: string | undefined;
    let yielded = 0;
    do {
      const limit = Math.max(1, Math.min(query.pageSize ?? 100, 100, max - yielded));
      const page = await this.listJobs({ limit, nextToken }, options);
      for (const job of page.jobs) {
        if (yielded >= max) return;
        yielded += 1;
        yield job;
      }
      nextToken = page.nextToken;
    } while (nextToken && yielded < max);
  }

  /** GET /jobs/{id}/result?redirect=false: the short-lived download link as JSON (no redirect to follow). */
  async getResultUrl(jobId: string, options: RequestOptions = {}): Promise<ResultLink> {
    const raw = await this.send({ method: 'GET', path: `${jobPath(jobId)}/result`, query: { redirect: 'false' }, signal: options.signal });
    return this.parse(ResultLinkSchema, raw, 'GET /jobs/{id}/result');
  }

  /** POST /jobs/{id}/cancel (idempotent): the job, CANCELLED, or CANCELLING while its task is being stopped. */
  async cancelJob(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    const raw = await this.send({ method: 'POST', path: `${jobPath(jobId)}/cancel`, signal: options.signal });
    return this.parse(JobViewSchema, raw, 'POST /jobs/{id}/cancel');
  }

  /** DELETE /jobs/{id} (idempotent): the job, DELETED, or CANCELLING while its running task is stopped first. */
  async deleteJob(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    const raw = await this.send({ method: 'DELETE', path: jobPath(jobId), signal: options.signal });
    return this.parse(JobViewSchema, raw, 'DELETE /jobs/{id}');
  }

  /** GET /jobs/{id}/logs: the conversion's log as text (409 LOG_NOT_AVAILABLE when the job has none). */
  async getJobLog(jobId: string, options: RequestOptions = {}): Promise<string> {
    const raw = await this.send({ method: 'GET', path: `${jobPath(jobId)}/logs`, signal: options.signal, accept: 'text/plain' });
    return this.plainText(raw, 'GET /jobs/{id}/logs');
  }

  private plainText(raw: RawResponse, what: string): string {
    const type = raw.headers.get('content-type') ?? '';
    if (!type.startsWith('text/plain')) {
      throw new ResponseFormatError(
        `${what} at ${this.baseUrl} answered ${raw.status} with ${type || 'no content type'}, not text/plain. Is the server up to date?`,
        raw.status,
      );
    }
    return raw.text;
  }

  // ------------------------------------------------------------ admin routes (role admin; docs/api.md "Admin API")

  /** GET /admin/jobs: one page of every owner's jobs, newest first, filtered. */
  async adminListJobs(query: AdminListJobsQuery = {}, options: RequestOptions = {}): Promise<AdminListJobsResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/jobs', query: { ...query }, signal: options.signal });
    return this.parse(AdminListJobsResponseSchema, raw, 'GET /admin/jobs');
  }

  /** GET /admin/jobs/counts: jobs created in the range, by state and by error code. */
  async adminJobCounts(range: AdminTimeRange = {}, options: RequestOptions = {}): Promise<AdminJobCountsResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/jobs/counts', query: { ...range }, signal: options.signal });
    return this.parse(AdminJobCountsResponseSchema, raw, 'GET /admin/jobs/counts');
  }

  /** GET /admin/jobs/{id}: any job in full (history, validation, converter, report, log availability). */
  async adminGetJob(jobId: string, options: RequestOptions = {}): Promise<AdminJobDetail> {
    const raw = await this.send({ method: 'GET', path: `/admin${jobPath(jobId)}`, signal: options.signal });
    return this.parse(AdminJobDetailSchema, raw, 'GET /admin/jobs/{id}');
  }

  /** GET /admin/jobs/{id}/logs: any job's conversion log as text (409 LOG_NOT_AVAILABLE when it has none). */
  async adminGetJobLog(jobId: string, options: RequestOptions = {}): Promise<string> {
    const raw = await this.send({ method: 'GET', path: `/admin${jobPath(jobId)}/logs`, signal: options.signal, accept: 'text/plain' });
    return this.plainText(raw, 'GET /admin/jobs/{id}/logs');
  }

  /** POST /admin/jobs/{id}/cancel: cancel any job (audited). */
  async adminCancelJob(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    const raw = await this.send({ method: 'POST', path: `/admin${jobPath(jobId)}/cancel`, signal: options.signal });
    return this.parse(JobViewSchema, raw, 'POST /admin/jobs/{id}/cancel');
  }

  /** DELETE /admin/jobs/{id}: delete any job (audited). */
  async adminDeleteJob(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    const raw = await this.send({ method: 'DELETE', path: `/admin${jobPath(jobId)}`, signal: options.signal });
    return this.parse(JobViewSchema, raw, 'DELETE /admin/jobs/{id}');
  }

  /** GET /admin/audit: one page of the audit trail, newest first. */
  async adminListAudit(
    query: AdminTimeRange & { limit?: number; nextToken?: string } = {},
    options: RequestOptions = {},
  ): Promise<AdminListAuditResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/audit', query: { ...query }, signal: options.signal });
    return this.parse(AdminListAuditResponseSchema, raw, 'GET /admin/audit');
  }

  /** GET /admin/keys: one page of the registered keys (never their values), newest first. */
  async adminListKeys(
    query: { limit?: number; nextToken?: string; principalId?: string } = {},
    options: RequestOptions = {},
  ): Promise<AdminListKeysResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/keys', query: { ...query }, signal: options.signal });
    return this.parse(AdminListKeysResponseSchema, raw, 'GET /admin/keys');
  }

  /** POST /admin/keys: a new key; its value is in this answer only. */
  async adminCreateKey(request: AdminCreateKeyRequest, options: RequestOptions = {}): Promise<AdminKeySecretResponse> {
    const raw = await this.send({ method: 'POST', path: '/admin/keys', body: request, signal: options.signal, attempts: 1 });
    return this.parse(AdminKeySecretResponseSchema, raw, 'POST /admin/keys');
  }

  /** POST /admin/keys/{keyId}/disable | enable: refused (or accepted again) within the authorizer cache bound. */
  async adminSetKeyEnabled(keyId: string, enabled: boolean, options: RequestOptions = {}): Promise<AdminKeyResponse> {
    const action = enabled ? 'enable' : 'disable';
    const raw = await this.send({ method: 'POST', path: `${keyPath(keyId)}/${action}`, signal: options.signal });
    return this.parse(AdminKeyResponseSchema, raw, `POST /admin/keys/{keyId}/${action}`);
  }

  /** POST /admin/keys/{keyId}/rotate: a new value for the same principal; the old one is refused from now on. */
  async adminRotateKey(keyId: string, options: RequestOptions = {}): Promise<AdminKeySecretResponse> {
    const raw = await this.send({ method: 'POST', path: `${keyPath(keyId)}/rotate`, signal: options.signal, attempts: 1 });
    return this.parse(AdminKeySecretResponseSchema, raw, 'POST /admin/keys/{keyId}/rotate');
  }

  /** DELETE /admin/keys/{keyId}: the key is removed from the registry (its principal's jobs stay). */
  async adminDeleteKey(keyId: string, options: RequestOptions = {}): Promise<AdminKeyResponse> {
    const raw = await this.send({ method: 'DELETE', path: keyPath(keyId), signal: options.signal });
    return this.parse(AdminKeyResponseSchema, raw, 'DELETE /admin/keys/{keyId}');
  }

  /** GET /admin/people: every person an operator has set a standing for. */
  async adminListPeople(
    query: { limit?: number; nextToken?: string } = {},
    options: RequestOptions = {},
  ): Promise<AdminListPeopleResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/people', query: { ...query }, signal: options.signal });
    return this.parse(AdminListPeopleResponseSchema, raw, 'GET /admin/people');
  }

  /** PUT /admin/people/{principalId}: disable/enable a person, or override the role their token gives. */
  async adminPutPerson(principalId: string, change: AdminPutPersonRequest, options: RequestOptions = {}): Promise<PersonStandingView> {
    const raw = await this.send({
      method: 'PUT',
      path: `/admin/people/${encodeURIComponent(principalId)}`,
      body: change,
      signal: options.signal,
    });
    return this.parse(AdminPersonResponseSchema, raw, 'PUT /admin/people/{principalId}').person;
  }

  /** GET /admin/usage: jobs per principal over the range. */
  async adminUsage(range: AdminTimeRange = {}, options: RequestOptions = {}): Promise<AdminUsageResponse> {
    const raw = await this.send({ method: 'GET', path: '/admin/usage', query: { ...range }, signal: options.signal });
    return this.parse(AdminUsageResponseSchema, raw, 'GET /admin/usage');
  }

  /**
   * Polls GET /jobs/{id} until the job is terminal and returns it. The pause
   * is the server's Retry-After (bounded by min/maxPollMs), else a growing
   * back-off; failed polls are retried with back-off and jitter and reported
   * through onRetry, and after maxConsecutiveFailures the last error is thrown.
   */
  async followJob(jobId: string, options: FollowOptions = {}): Promise<JobView> {
    const minPoll = options.minPollMs ?? 1000;
    const maxPoll = Math.max(minPoll, options.maxPollMs ?? 30_000);
    const maxFailures = options.maxConsecutiveFailures ?? 8;
    const deadline = options.timeoutMs === undefined ? undefined : this.clock.now() + options.timeoutMs;
    let waitSeconds = this.longPollSeconds(options.waitSeconds);
    let failures = 0;
    let polls = 0;
    let last: JobView | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      let delay: number;
      try {
        const asked = this.clock.now();
        // The first poll asks for no wait (the server waits for a change from the status it finds, which the caller has
        // not seen yet); its answer also tells whether the server long-polls at all.
        const wait = polls === 0 ? 0 : deadline === undefined ? waitSeconds : Math.min(waitSeconds, Math.floor((deadline - asked) / 1000));
        const { job, retryAfterSeconds, waitedSeconds } = await this.pollJob(jobId, {
          signal: options.signal,
          attempts: 1,
          waitSeconds: waitSeconds > 0 && (wait > 0 || polls === 0) ? wait : undefined,
        });
        failures = 0;
        polls += 1;
        const changed = last?.status !== job.status;
        last = job;
        options.onUpdate?.(job);
        if (job.terminal) return job;
        // The server held the request until news or the end of its wait: ask again at once. A quick answer
        // without news would be a server that only claims to wait, and gets the pauses instead of a tight loop.
        const heldOrNews = changed || this.clock.now() - asked >= ((waitedSeconds ?? 0) * 1000) / 2;
        if (waitedSeconds !== undefined && (polls === 1 || (waitedSeconds > 0 && heldOrNews))) {
          await this.pauseUntilNextPoll(0, deadline, jobId, last, options);
          continue;
        }
        const hinted = retryAfterSeconds ?? job.retryAfterSeconds;
        delay = hinted !== undefined ? hinted * 1000 : backoffDelay(polls, minPoll, maxPoll, this.random);
      } catch (error) {
        if (waitSeconds > 0 && isWaitRefused(error)) {
          // A server with other bounds (or none) for waitSeconds: follow it the plain way.
          waitSeconds = 0;
          continue;
        }
        if (options.signal?.aborted || !(isTransient(error) || isCapacityError(error))) throw error;
        failures += 1;
        if (failures >= maxFailures) throw error;
        delay = Math.max(backoffDelay(failures, minPoll, maxPoll, this.random), retryAfterMs(error));
        options.onRetry?.({ error: error as Error, attempt: failures, delayMs: clamp(delay, minPoll, maxPoll) });
      }
      await this.pauseUntilNextPoll(clamp(delay, minPoll, maxPoll), deadline, jobId, last, options);
    }
  }

  private async pauseUntilNextPoll(
    delay: number,
    deadline: number | undefined,
    jobId: string,
    last: JobView | undefined,
    options: FollowOptions,
  ): Promise<void> {
    if (deadline !== undefined && this.clock.now() + delay > deadline) throw new FollowTimeoutError(jobId, last, options.timeoutMs!);
    if (delay > 0) await this.clock.sleep(delay, options.signal);
  }

  /** The long-poll wait to ask for: the caller's (default the API's maximum), leaving 5 s of the request timeout for the answer. */
  private longPollSeconds(requested: number | undefined): number {
    const fits = Math.floor((this.requestTimeoutMs - 5000) / 1000);
    return Math.max(0, Math.min(Math.floor(requested ?? MAX_JOB_WAIT_SECONDS), MAX_JOB_WAIT_SECONDS, fits));
  }

  /** withCapacityRetry with this client's clock. */
  withCapacityRetry<T>(fn: () => Promise<T>, options: CapacityRetryOptions = {}): Promise<T> {
    return withCapacityRetry(fn, { clock: this.clock, ...options });
  }

  private async pollJob(
    jobId: string,
    options: { signal?: AbortSignal; attempts?: number; waitSeconds?: number },
  ): Promise<{ job: JobView; retryAfterSeconds?: number; waitedSeconds?: number }> {
    const raw = await this.send({
      method: 'GET',
      path: jobPath(jobId),
      query: { waitSeconds: options.waitSeconds },
      signal: options.signal,
      attempts: options.attempts,
    });
    const job = this.parse(JobViewSchema, raw, 'GET /jobs/{id}');
    const waited = raw.headers.get(JOB_WAIT_HEADER);
    return {
      job,
      retryAfterSeconds: parseRetryAfter(raw.headers.get('retry-after'), this.clock.now()),
      ...(waited !== null && /^\d+$/.test(waited) ? { waitedSeconds: Number(waited) } : {}),
    };
  }

  /** One request with the retry policy for transient failures. */
  private async send(options: SendOptions): Promise<RawResponse> {
    const attempts = Math.max(1, options.attempts ?? this.retry.attempts);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(options);
      } catch (error) {
        if (attempt >= attempts || options.signal?.aborted || !isTransient(error)) throw error;
        const delay = Math.max(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random), retryAfterMs(error));
        await this.clock.sleep(Math.min(delay, this.retry.maxDelayMs), options.signal);
      }
    }
  }

  private async sendOnce(options: SendOptions): Promise<RawResponse> {
    // Asked per try: a token renewed between retries is the one sent.
    const token = options.withKey !== false ? await this.bearerToken?.() : undefined;
    const init = this.requestInit(options, token);
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = options.signal ? anySignal(options.signal, timeout) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(this.url(options), { ...init, signal });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw networkError(error, timeout.aborted, this.requestTimeoutMs, `${options.method} ${this.baseUrl}${options.path}`);
    }
    if (response.status < 200 || response.status > 299) throw this.toApiError(response, text);
    return { status: response.status, headers: response.headers, body: parseJsonOrText(text), text };
  }

  private requestInit(options: SendOptions, bearerToken: string | undefined): RequestInit {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...options.headers };
    if (bearerToken) headers.authorization = `Bearer ${bearerToken}`;
    else if (options.withKey !== false && this.apiKey !== undefined) headers['x-api-key'] = this.apiKey;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return {
      method: options.method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      // A redirect would be followed with our headers to another host; the API never redirects with redirect=false.
      redirect: 'manual',
      cache: 'no-store',
    };
  }

  private url(options: SendOptions): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) params.set(name, String(value));
    const query = params.toString();
    return `${this.baseUrl}${options.path}${query ? `?${query}` : ''}`;
  }

  private toApiError(response: Response, text: string): ApiError {
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
    const body = parseJsonOrText(text);
    const envelope = ErrorEnvelopeSchema.safeParse(body);
    if (envelope.success) {
      const { code, message, details, requestId } = envelope.data.error;
      // The gateway's own envelopes add a hint; the handlers' get theirs from core/errors.ts.
      const hint = (body as { error: { hint?: unknown } }).error.hint;
      return new ApiError({
        status: response.status,
        code: code as ErrorCode,
        message,
        details,
        requestId,
        hint: typeof hint === 'string' ? hint : undefined,
        retryAfterSeconds,
        enveloped: true,
      });
    }
    return bareApiError(response, text, this.baseUrl, retryAfterSeconds);
  }

  private parse<T>(schema: ResponseSchema<T>, raw: RawResponse, what: string): T {
    const parsed = schema.safeParse(raw.body);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    throw new ResponseFormatError(
      `${what} at ${this.baseUrl} answered ${raw.status} with a body that is not the k2p-web API's (${issues}). Is the API URL right, and the server up to date?`,
      raw.status,
    );
  }
}

/** AbortSignal.any where the browser has it (2024+), else the same by hand. */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

function keyPath(keyId: string): string {
  return `/admin/keys/${encodeURIComponent(keyId)}`;
}

function jobPath(jobId: string): string {
  return `/jobs/${encodeURIComponent(jobId)}`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** A 400 about the waitSeconds parameter: the server does not take the long poll as asked. */
function isWaitRefused(error: unknown): boolean {
  return error instanceof ApiError && error.status === 400 && JSON.stringify(error.details ?? {}).includes('waitSeconds');
}

function retryAfterMs(error: unknown): number {
  return error instanceof ApiError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
}

function parseJsonOrText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function networkError(error: unknown, timedOut: boolean, timeoutMs: number, what: string): NetworkError {
  if (timedOut) return new NetworkError(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s.`, { cause: error });
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
  return new NetworkError(`${what}: cannot reach the API (${reason}).`, { cause: error });
}

/** An error answer without the envelope: a proxy, a load balancer, or a URL that is not the API. */
function bareApiError(response: Response, text: string, baseUrl: string, retryAfterSeconds: number | undefined): ApiError {
  const code: ErrorCode = STATUS_CODES[response.status] ?? 'INTERNAL_ERROR';
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 160);
  const reason = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const urlHint = response.status === 404 ? ` Is ${baseUrl} the API's base URL (with its stage, e.g. /prod)?` : '';
  return new ApiError({
    status: response.status,
    code: isErrorCode(code) ? code : 'INTERNAL_ERROR',
    message: `The server answered HTTP ${reason} without a k2p-web error envelope${snippet ? `: ${snippet}` : ''}.${urlHint}`,
    retryAfterSeconds,
    enveloped: false,
  });
}

/**
 * Runs `fn` (typically a createJob) and, while the service answers
 * SERVER_BUSY or RATE_LIMITED, waits the Retry-After it names — reporting a
 * countdown through onWait once a second — then tries again. Gives up with
 * the refusal once the waits would exceed maxWaitMs. Pass the same
 * Idempotency-Key to every try (a refused try leaves no job behind).
 */
export async function withCapacityRetry<T>(fn: () => Promise<T>, options: CapacityRetryOptions = {}): Promise<T> {
  const clock = clockOf(options.clock);
  const maxWaitMs = options.maxWaitMs ?? 10 * 60_000;
  const fallbackSeconds = options.defaultRetryAfterSeconds ?? 5;
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isCapacityError(error)) throw error;
      const seconds = Math.max(1, error.retryAfterSeconds ?? fallbackSeconds);
      if (clock.now() - started + seconds * 1000 > maxWaitMs) throw error;
      await countDown(seconds, clock, options.signal, (secondsLeft) =>
        options.onWait?.({ code: error.code, message: error.message, secondsLeft, attempt, error }),
      );
    }
  }
}

async function countDown(
  seconds: number,
  clock: Clock,
  signal: AbortSignal | undefined,
  tick: (secondsLeft: number) => void,
): Promise<void> {
  for (let left = seconds; left > 0; left--) {
    tick(left);
    await clock.sleep(1000, signal);
  }
}
