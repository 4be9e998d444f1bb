/**
 * The page's conversion flow with a fake API and uploader (the real
 * withCapacityRetry, with a fake clock): capacity countdown then retry with
 * one idempotency key, upload retries, slots given back on failure, resume.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, withCapacityRetry, type CreatedJob, type FollowOptions } from '../../core/api-client';
import type { JobView, UploadTicket } from '../../core/api-schemas';
import { conversionOptions, convert, FIRST_POLL_DELAY_MS, follow, type FlowApi, type FlowDeps, type FlowEvent } from '../../web/src/flow';
import { UploadFailure } from '../../web/src/upload';

function jobView(status: JobView['status'], extra: Partial<JobView> = {}): JobView {
  return {
    jobId: 'job_12345678',
    status,
    terminal: ['SUCCEEDED', 'REJECTED', 'FAILED', 'TIMED_OUT', 'EXPIRED', 'DELETED'].includes(status),
    workflowName: 'flow',
    options: { workbook: 'both', graph: 'both' },
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    durationsMs: {},
    ...extra,
  };
}

const ticket: UploadTicket = {
  url: 'http://s3.test/bucket',
  fields: { key: 'bundles/x.zip' },
  expiresAt: '2999-01-01T00:00:00.000Z',
  maxBytes: 1000,
};

function busy(code: 'SERVER_BUSY' | 'RATE_LIMITED', seconds: number): ApiError {
  return new ApiError({ status: code === 'SERVER_BUSY' ? 503 : 429, code, message: 'busy', retryAfterSeconds: seconds, enveloped: true });
}

interface Harness {
  deps: FlowDeps;
  events: FlowEvent[];
  calls: { create: string[]; deleted: string[]; uploads: number; sleeps: number[]; follows: FollowOptions[] };
}

function harness(
  options: { refusals?: ApiError[]; uploadFailures?: UploadFailure[]; withTicket?: boolean; final?: JobView } = {},
): Harness {
  const refusals = [...(options.refusals ?? [])];
  const uploadFailures = [...(options.uploadFailures ?? [])];
  const calls = { create: [] as string[], deleted: [] as string[], uploads: 0, sleeps: [] as number[], follows: [] as FollowOptions[] };
  const events: FlowEvent[] = [];
  let now = 0;
  const clock = { now: () => now, sleep: async (ms: number) => void ((now += ms), calls.sleeps.push(ms)) };
  const api: FlowApi = {
    async createJob(_request, createOptions = {}): Promise<CreatedJob> {
      calls.create.push(createOptions.idempotencyKey!);
      const refusal = refusals.shift();
      if (refusal) throw refusal;
      return {
        job: jobView('AWAITING_UPLOAD'),
        ...(options.withTicket === false ? {} : { upload: ticket }),
        replayed: false,
        idempotencyKey: createOptions.idempotencyKey!,
      };
    },
    async followJob(jobId: string, followOptions: FollowOptions = {}) {
      calls.follows.push(followOptions);
      followOptions.onUpdate?.(jobView('RUNNING', { jobId }));
      const final = options.final ?? jobView('SUCCEEDED', { jobId });
      followOptions.onUpdate?.(final);
      return final;
    },
    async deleteJob(jobId: string) {
      calls.deleted.push(jobId);
      return jobView('DELETED', { jobId });
    },
    withCapacityRetry: (fn, retryOptions = {}) => withCapacityRetry(fn, { clock, ...retryOptions }),
  } as FlowApi;
  const deps: FlowDeps = {
    api,
    upload: async (_ticket, _bundle, uploadOptions) => {
      calls.uploads++;
      const failure = uploadFailures.shift();
      if (failure) throw failure;
      uploadOptions.onProgress?.({ loaded: 10, total: 10 });
    },
    onEvent: (event) => events.push(event),
    sleep: clock.sleep,
    random: () => 0.5,
    newIdempotencyKey: () => 'key-1',
  };
  return { deps, events, calls };
}

const input = { bundle: new Blob([new Uint8Array(10)]), filename: 'flow', options: { workbook: 'both' as const, graph: 'both' as const } };

describe('convert', () => {
  it('creates the job, uploads with progress and follows it to the end', async () => {
    const { deps, events, calls } = harness();
    const job = await convert(input, deps);
    expect(job.status).toBe('SUCCEEDED');
    expect(calls.uploads).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['creating', 'created', 'upload-progress', 'uploaded', 'job', 'job']);
  });

  it('counts down a SERVER_BUSY refusal second by second, then retries with the same idempotency key', async () => {
    const { deps, events, calls } = harness({ refusals: [busy('SERVER_BUSY', 3), busy('RATE_LIMITED', 2)] });
    await convert(input, deps);
    const waits = events.flatMap((e) => (e.type === 'capacity-wait' ? [`${e.wait.code}:${e.wait.secondsLeft}`] : []));
    expect(waits).toEqual(['SERVER_BUSY:3', 'SERVER_BUSY:2', 'SERVER_BUSY:1', 'RATE_LIMITED:2', 'RATE_LIMITED:1']);
    expect(calls.create).toEqual(['key-1', 'key-1', 'key-1']);
  });

  it('retries an upload whose connection failed, with back-off, and reports each retry', async () => {
    const network = new UploadFailure('connection lost', 'network');
    const { deps, events, calls } = harness({ uploadFailures: [network, network] });
    const job = await convert(input, deps);
    expect(job.status).toBe('SUCCEEDED');
    expect(calls.uploads).toBe(3);
    expect(events.filter((e) => e.type === 'upload-retry').map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
    expect(calls.sleeps).toEqual([750, 1500, FIRST_POLL_DELAY_MS]);
  });

  it('does not retry a refusal by S3, and gives the capacity slot back by deleting the job', async () => {
    const refused = new UploadFailure('EntityTooLarge', 'refused', 400, 'EntityTooLarge');
    const { deps, calls } = harness({ uploadFailures: [refused] });
    await expect(convert(input, deps)).rejects.toBe(refused);
    expect(calls.uploads).toBe(1);
    expect(calls.deleted).toEqual(['job_12345678']);
    expect(refused.bundleCode).toBe('BUNDLE_TOO_LARGE');
  });

  it('gives up after the last upload attempt and deletes the job', async () => {
    const network = new UploadFailure('connection lost', 'network');
    const { deps, calls } = harness({ uploadFailures: [network, network, network] });
    await expect(convert(input, deps)).rejects.toBe(network);
    expect(calls.uploads).toBe(3);
    expect(calls.deleted).toEqual(['job_12345678']);
  });

  it('follows a replayed job that is already past its upload without uploading again', async () => {
    const { deps, calls, events } = harness({ withTicket: false });
    await convert(input, deps);
    expect(calls.uploads).toBe(0);
    expect(events.some((e) => e.type === 'uploaded')).toBe(false);
  });

  it('passes a rejected job through as the result (the page explains it)', async () => {
    const rejected = jobView('REJECTED', { error: { code: 'ZIP_SYMLINK', message: 'x', details: { entry: 'a/settings.xml' } } });
    const { deps } = harness({ final: rejected });
    await expect(convert(input, deps)).resolves.toBe(rejected);
  });
});

describe('follow', () => {
  it('reports every state of a resumed job', async () => {
    const { deps, events } = harness();
    const job = await follow('job_abcdefgh', deps);
    expect(job.jobId).toBe('job_abcdefgh');
    expect(events.map((e) => (e.type === 'job' ? e.job.status : e.type))).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('follows with the long poll (the longest wait the API allows)', async () => {
    const { deps, calls } = harness();
    await follow('job_abcdefgh', deps);
    expect(calls.follows.map((f) => f.waitSeconds)).toEqual([20]);
  });
});

describe('conversionOptions', () => {
  it('maps the three checkboxes to the API options and refuses a job without any code', () => {
    expect(conversionOptions({ script: true, notebook: true, graph: true })).toEqual({ workbook: 'both', graph: 'both' });
    expect(conversionOptions({ script: true, notebook: false, graph: false })).toEqual({ workbook: 'py', graph: 'off' });
    expect(conversionOptions({ script: false, notebook: true, graph: true })).toEqual({ workbook: 'ipynb', graph: 'both' });
    expect(conversionOptions({ script: false, notebook: false, graph: true })).toBeUndefined();
  });
});
