/**
 * core/api-client.ts against the TEST DOUBLE of the jobs API
 * (test/doubles/jobs-api-double.ts: the routes, envelopes and headers of
 * docs/openapi.yaml over real HTTP), with a fake clock so Retry-After and
 * back-off are checked without waiting.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  ApiError,
  backoffDelay,
  NetworkError,
  parseRetryAfter,
  ResponseFormatError,
  withCapacityRetry,
  type CapacityWait,
  type Clock,
} from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { DOUBLE_KEY, OTHER_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';
import { sampleBundle } from '../support/job-fixtures';
import { uploadToPresignedPost } from '../../core/node/upload';

interface FakeClock extends Clock {
  sleeps: number[];
  /** Moves time on without a sleep of the code under test (a server holding a request). */
  advance(ms: number): void;
}

/** Time that moves only when the code under test sleeps. */
function fakeClock(start = Date.parse('2024-05-01T12:00:00Z')): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance: (ms) => {
      now += ms;
    },
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
    },
  };
}

let api: JobsApiDouble;
beforeAll(async () => {
  api = await startJobsApiDouble();
});
afterEach(() => {
  api.faults.length = 0;
  api.refusals.length = 0;
  api.outcomes.length = 0;
  api.onPoll = undefined;
  api.longPoll = false;
  api.frozen = false;
});
afterAll(async () => {
  // The double checks every answer it gave against docs/openapi.yaml.
  expect(api.violations).toEqual([]);
  await api.close();
});

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function client(options: { key?: string; clock?: Clock; random?: () => number } = {}): ApiClient {
  return new ApiClient({
    baseUrl: `${api.url}/`,
    apiKey: options.key ?? DOUBLE_KEY,
    clock: options.clock ?? fakeClock(),
    random: options.random ?? (() => 0.5),
  });
}

async function uploadedJob(c: ApiClient): Promise<JobView> {
  const created = await c.createJob({ filename: 'KNIME_single_csv' });
  await uploadToPresignedPost(created.upload!, sampleBundle());
  return created.job;
}

describe('ApiClient requests and envelopes', () => {
  it('reads /health without sending the API key', async () => {
    const health = await client().health();
    expect(health.status).toBe('ok');
    expect(api.requests.at(-1)).toMatchObject({ path: '/health', apiKey: undefined });
  });

  it('creates a job with an Idempotency-Key and the presigned POST', async () => {
    const created = await client().createJob({ filename: 'Flow.knwf', sizeBytes: 1234, options: { workbook: 'py' } });
    expect(created.job).toMatchObject({ status: 'AWAITING_UPLOAD', workflowName: 'Flow', options: { workbook: 'py', graph: 'both' } });
    expect(created.upload).toMatchObject({ url: `${api.url}/upload`, maxBytes: api.maxBytes });
    expect(created.replayed).toBe(false);
    expect(created.idempotencyKey).toMatch(/^k2p-[0-9a-f-]{32,}$/);
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', idempotencyKey: created.idempotencyKey, apiKey: DOUBLE_KEY });
  });

  it('turns an error envelope into an ApiError with code, message, details, requestId, status and hint', async () => {
    const error = await client()
      .createJob({ sizeBytes: api.maxBytes + 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: 'BUNDLE_TOO_LARGE', enveloped: true });
    expect((error as ApiError).message).toContain('upload limit');
    expect((error as ApiError).requestId).toMatch(/^req-/);
    expect((error as ApiError).hint).toContain('k2p-web bundle');
  });

  it('answers NOT_FOUND for a job of another API key (jobs are private to their key)', async () => {
    const mine = await client().createJob();
    const error = await client({ key: OTHER_KEY })
      .getJob(mine.job.jobId)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ApiError', status: 404, code: 'NOT_FOUND' });
  });

  it('reports a wrong API key as UNAUTHORIZED without retrying', async () => {
    const before = api.requests.length;
    const error = await client({ key: 'wrong-key-wrong-key' })
      .listJobs()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(api.requests.length - before).toBe(1);
  });

  it('rejects INVALID_REQUEST with the failing fields in details', async () => {
    const error = await client()
      .listJobs({ limit: 500 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_REQUEST', details: { issues: ['limit'] } });
  });

  it('retries a bare 502 from a proxy with back-off, then succeeds', async () => {
    const clock = fakeClock();
    api.faults.push({ method: 'GET', path: /^\/jobs$/, kind: { status: 502 } });
    const page = await client({ clock }).listJobs({ limit: 1 });
    expect(page.jobs.length).toBe(1);
    expect(clock.sleeps).toEqual([backoffDelay(1, 500, 8000, () => 0.5)]);
  });

  it('gives up after the retry policy with an ApiError that says the answer had no envelope', async () => {
    for (let i = 0; i < 3; i++) api.faults.push({ method: 'GET', path: /^\/jobs$/, kind: { status: 502 } });
    const error = await client()
      .listJobs()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: 'INTERNAL_ERROR', enveloped: false });
    expect((error as Error).message).toContain('without a k2p-web error envelope');
  });

  it('says when the URL is not the API (a 200 that is not its JSON)', async () => {
    api.faults.push({ method: 'GET', path: /^\/health$/, kind: { status: 200, body: '<html>a web page</html>' } });
    const error = await client()
      .health()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseFormatError);
    expect((error as Error).message).toContain('Is the API URL right');
  });

  it('retries a dropped connection as a NetworkError and reports it when it persists', async () => {
    for (let i = 0; i < 3; i++) api.faults.push({ method: 'GET', path: /^\/health$/, kind: 'reset' });
    const clock = fakeClock();
    const error = await client({ clock })
      .health()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain('cannot reach the API');
    expect(clock.sleeps).toHaveLength(2);
  });

  it('reports a refused connection as a NetworkError', async () => {
    const port = await closedPort();
    const error = await new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'x', clock: fakeClock() })
      .health()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('Idempotency-Key', () => {
  it('reuses the key when a lost answer is retried, so only one job is created', async () => {
    const before = api.jobs.size;
    api.faults.push({ method: 'POST', path: /^\/jobs$/, kind: 'afterHandling' });
    const created = await client().createJob({ filename: 'Lost' });
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path === '/jobs').slice(-2);
    expect(posts[0]!.idempotencyKey).toBe(posts[1]!.idempotencyKey);
    expect(created.replayed).toBe(true);
    expect(api.jobs.size).toBe(before + 1);
    expect(created.upload).toBeDefined();
  });

  it('returns the same job for the same caller-chosen key', async () => {
    const c = client();
    const first = await c.createJob({ filename: 'Again' }, { idempotencyKey: 'my-key-1' });
    const second = await c.createJob({ filename: 'Again' }, { idempotencyKey: 'my-key-1' });
    expect(second.job.jobId).toBe(first.job.jobId);
    expect(second.replayed).toBe(true);
  });
});

describe('Retry-After', () => {
  it('parses delta-seconds and HTTP dates', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('carries Retry-After on SERVER_BUSY', async () => {
    api.refusals.push({ code: 'SERVER_BUSY', retryAfter: 9 });
    const error = await client()
      .createJob()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'SERVER_BUSY', retryAfterSeconds: 9 });
  });

  it('withCapacityRetry waits each Retry-After with a countdown, then succeeds with the same key', async () => {
    const clock = fakeClock();
    const c = client({ clock });
    api.refusals.push({ code: 'SERVER_BUSY', retryAfter: 3 }, { code: 'RATE_LIMITED', retryAfter: 2 });
    const waits: CapacityWait[] = [];
    const created = await c.withCapacityRetry(() => c.createJob({ filename: 'Busy' }, { idempotencyKey: 'busy-key-1' }), {
      onWait: (w) => waits.push(w),
    });
    expect(created.job.workflowName).toBe('Busy');
    expect(waits.map((w) => [w.code, w.secondsLeft, w.attempt])).toEqual([
      ['SERVER_BUSY', 3, 1],
      ['SERVER_BUSY', 2, 1],
      ['SERVER_BUSY', 1, 1],
      ['RATE_LIMITED', 2, 2],
      ['RATE_LIMITED', 1, 2],
    ]);
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
    const keys = api.requests
      .filter((r) => r.method === 'POST')
      .slice(-3)
      .map((r) => r.idempotencyKey);
    expect(new Set(keys)).toEqual(new Set(['busy-key-1']));
  });

  it('withCapacityRetry gives up at once when the wait would pass maxWaitMs', async () => {
    const clock = fakeClock();
    api.refusals.push({ code: 'RATE_LIMITED', retryAfter: 120 });
    const c = client({ clock });
    const error = await c.withCapacityRetry(() => c.createJob(), { maxWaitMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 120 });
    expect(clock.sleeps).toEqual([]);
  });

  it('withCapacityRetry passes other errors through untouched', async () => {
    const error = await withCapacityRetry(() => Promise.reject(new Error('boom')), { clock: fakeClock() }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('boom');
  });

  it('withCapacityRetry stops counting down when aborted', async () => {
    api.refusals.push({ code: 'SERVER_BUSY', retryAfter: 5 });
    const controller = new AbortController();
    const c = client();
    const error = await c
      .withCapacityRetry(() => c.createJob(), {
        signal: controller.signal,
        onWait: (w) => w.secondsLeft === 3 && controller.abort(new Error('stop')),
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('stop');
  });
});

describe('pagination', () => {
  it('lists a fresh key’s jobs newest first, page by page', async () => {
    const fresh = `k2p-page-key-${Date.now()}`;
    api.keys.push(fresh);
    const c = client({ key: fresh });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.createJob({ filename: `Flow${i}` })).job.jobId);
    const first = await c.listJobs({ limit: 2 });
    expect(first.jobs.map((j) => j.jobId)).toEqual([ids[4], ids[3]]);
    expect(first.nextToken).toBeDefined();
    const all: string[] = [];
    for await (const job of c.iterateJobs({ pageSize: 2 })) all.push(job.jobId);
    expect(all).toEqual([...ids].reverse());
    const three: string[] = [];
    for await (const job of c.iterateJobs({ max: 3 })) three.push(job.jobId);
    expect(three).toEqual([ids[4], ids[3], ids[2]]);
  });
});

describe('followJob', () => {
  it('polls with the server’s Retry-After until the job is terminal', async () => {
    const clock = fakeClock();
    const c = client({ clock });
    const job = await uploadedJob(c);
    api.pollAfterSeconds = 2;
    const seen: string[] = [];
    try {
      const final = await c.followJob(job.jobId, { onUpdate: (j) => seen.push(j.status) });
      expect(final.status).toBe('SUCCEEDED');
      expect(final.result?.downloadPath).toBe(`/jobs/${job.jobId}/result`);
    } finally {
      api.pollAfterSeconds = 1;
    }
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(clock.sleeps).toEqual([2000, 2000]);
  });

  it('bounds the server’s Retry-After by min/maxPollMs', async () => {
    const clock = fakeClock();
    const c = client({ clock });
    const job = await uploadedJob(c);
    api.pollAfterSeconds = 120;
    try {
      await c.followJob(job.jobId, { maxPollMs: 10_000 });
    } finally {
      api.pollAfterSeconds = 1;
    }
    expect(clock.sleeps).toEqual([10_000, 10_000]);
  });

  it('retries network errors with growing back-off and jitter, reporting each one', async () => {
    const clock = fakeClock();
    const c = client({ clock, random: () => 1 });
    const job = await uploadedJob(c);
    api.faults.push({ method: 'GET', path: /^\/jobs\/[^/]+$/, kind: 'reset' }, { method: 'GET', path: /^\/jobs\/[^/]+$/, kind: 'reset' });
    const retries: { attempt: number; delayMs: number; name: string }[] = [];
    const final = await c.followJob(job.jobId, {
      onRetry: (r) => retries.push({ attempt: r.attempt, delayMs: r.delayMs, name: r.error.name }),
    });
    expect(final.terminal).toBe(true);
    expect(retries).toEqual([
      { attempt: 1, delayMs: 1000, name: 'NetworkError' },
      { attempt: 2, delayMs: 2000, name: 'NetworkError' },
    ]);
    expect(clock.sleeps.slice(0, 2)).toEqual([1000, 2000]);
  });

  it('waits a gateway throttle’s Retry-After while following', async () => {
    const clock = fakeClock();
    const c = client({ clock, random: () => 0 });
    const job = await uploadedJob(c);
    api.faults.push({
      method: 'GET',
      path: /^\/jobs\/[^/]+$/,
      kind: {
        status: 429,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '7' },
        body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests', hint: 'slow down', requestId: 'gw-1' } }),
      },
    });
    await c.followJob(job.jobId);
    expect(clock.sleeps[0]).toBe(7000);
  });

  it('gives up after maxConsecutiveFailures with the last error, not silently', async () => {
    const c = client();
    const job = await uploadedJob(c);
    for (let i = 0; i < 3; i++) api.faults.push({ method: 'GET', path: /^\/jobs\/[^/]+$/, kind: 'reset' });
    const error = await c.followJob(job.jobId, { maxConsecutiveFailures: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
  });

  it('does not retry NOT_FOUND', async () => {
    const error = await client()
      .followJob('nosuchjob123')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stops when aborted, with the abort reason', async () => {
    const c = client();
    const job = await uploadedJob(c);
    const controller = new AbortController();
    api.onPoll = () => controller.abort(new Error('Ctrl-C'));
    const error = await c.followJob(job.jobId, { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Ctrl-C');
  });

  it('gives up after timeoutMs with FollowTimeoutError', async () => {
    const c = client();
    const created = await c.createJob();
    const error = await c.followJob(created.job.jobId, { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'FollowTimeoutError', jobId: created.job.jobId });
  });
});

describe('followJob with the long poll (GET /jobs/{id}?waitSeconds)', () => {
  function pollsOf(jobId: string) {
    return api.requests.filter((r) => r.method === 'GET' && r.path === `/jobs/${jobId}`);
  }

  it('asks the first poll for no wait, then every poll for 20 s and, when the server honours it, asks again at once: no pauses', async () => {
    api.longPoll = true;
    const clock = fakeClock();
    const c = client({ clock });
    const job = await uploadedJob(c);
    const seen: string[] = [];
    const final = await c.followJob(job.jobId, { onUpdate: (j) => seen.push(j.status) });
    expect(final.status).toBe('SUCCEEDED');
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(pollsOf(job.jobId).map((r) => r.waitSeconds)).toEqual(['0', '20', '20']);
    expect(clock.sleeps).toEqual([]);
  });

  it('follows a held poll that ran out without news at once, but pauses after a quick answer without news', async () => {
    api.longPoll = true;
    const clock = fakeClock();
    const c = client({ clock, random: () => 0 });
    const job = await uploadedJob(c);
    await c.getJob(job.jobId); // VALIDATING → QUEUED
    let polls = 0;
    api.onPoll = () => {
      polls += 1;
      // 1st: the plain first poll; 2nd: held the whole 20 s without news; 3rd: answered at once without news; then the job moves.
      api.frozen = polls <= 3;
      if (polls === 2) clock.advance(20_000);
    };
    const sleepsBefore = clock.sleeps.length;
    const final = await c.followJob(job.jobId, { waitSeconds: 20 });
    expect(final.terminal).toBe(true);
    // Only the quick answer without news was followed by a pause (Retry-After 1 s); the held one was not.
    expect(clock.sleeps.slice(sleepsBefore)).toEqual([1000]);
    expect(
      pollsOf(job.jobId)
        .slice(1)
        .map((r) => r.waitSeconds),
    ).toEqual(['0', '20', '20', '20', '20']);
  });

  it('falls back to Retry-After and back-off against a server that does not wait (no K2p-Waited-Seconds)', async () => {
    const clock = fakeClock();
    const c = client({ clock });
    const job = await uploadedJob(c);
    await c.followJob(job.jobId);
    // The first poll asks for no wait and learns the server does not long-poll; the later ones still ask.
    expect(pollsOf(job.jobId).map((r) => r.waitSeconds)).toEqual(['0', '20', '20']);
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it('drops the wait when the server refuses the parameter, and sends none with waitSeconds 0', async () => {
    const clock = fakeClock();
    const c = client({ clock });
    const job = await uploadedJob(c);
    api.faults.push({
      method: 'GET',
      path: /^\/jobs\/[^/]+$/,
      kind: {
        status: 400,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          error: {
            code: 'INVALID_REQUEST',
            message: 'bad',
            details: { issues: [{ path: 'waitSeconds', message: 'too big' }] },
            requestId: 'r',
          },
        }),
      },
    });
    const final = await c.followJob(job.jobId);
    expect(final.terminal).toBe(true);
    expect(pollsOf(job.jobId).map((r) => r.waitSeconds)).toEqual(['0', undefined, undefined, undefined]);
    const other = await uploadedJob(c);
    await c.followJob(other.jobId, { waitSeconds: 0 });
    expect(pollsOf(other.jobId).every((r) => r.waitSeconds === undefined)).toBe(true);
  });

  it('keeps the wait inside the request timeout', async () => {
    api.longPoll = true;
    const c = new ApiClient({ baseUrl: api.url, apiKey: DOUBLE_KEY, clock: fakeClock(), requestTimeoutMs: 12_000 });
    const job = await uploadedJob(c);
    await c.followJob(job.jobId);
    expect(pollsOf(job.jobId).map((r) => r.waitSeconds)).toEqual(['0', '7', '7']);
  });
});

describe('results and deletion', () => {
  it('answers RESULT_NOT_READY with Retry-After before the job succeeds, then the link as JSON', async () => {
    const c = client();
    const job = await uploadedJob(c);
    const early = await c.getResultUrl(job.jobId).catch((e: unknown) => e);
    expect(early).toMatchObject({ status: 409, code: 'RESULT_NOT_READY', retryAfterSeconds: 1, details: { status: 'VALIDATING' } });
    await c.followJob(job.jobId);
    const link = await c.getResultUrl(job.jobId);
    expect(link.filename).toBe('KNIME_single_csv-k2p.zip');
    expect(api.requests.at(-1)?.path).toBe(`/jobs/${job.jobId}/result`);
    const download = await fetch(link.url);
    expect(download.status).toBe(200);
  });

  it('deletes a job (DELETED, terminal) and then reports its result gone', async () => {
    const c = client();
    const job = await uploadedJob(c);
    const deleted = await c.deleteJob(job.jobId);
    expect(deleted).toMatchObject({ status: 'DELETED', terminal: true });
    await expect(c.getResultUrl(job.jobId)).rejects.toMatchObject({ status: 410, code: 'RESULT_GONE' });
  });
});
