import { describe, expect, it } from 'vitest';
import { JobViewSchema } from '../../../../core/api-schemas';
import type { StoredJob } from '../../../../lambdas/storage/job-store';
import { pollAfterSeconds, toJobView } from '../../../../lambdas/decisions/job-view';
import { resultAvailability } from '../../../../lambdas/use-cases/job-queries';

const base: StoredJob = {
  jobId: '0abcdefgh1234567890abcdef',
  owner: 'key-1',
  status: 'AWAITING_UPLOAD',
  workflowName: 'Flow',
  filename: 'Flow.knwf',
  options: { workbook: 'both', graph: 'both' },
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  uploadExpiresAt: '2025-01-01T00:15:00.000Z',
  deadlineAt: '2025-01-01T00:30:00.000Z',
  expiresAt: 1_800_000_000,
  uploadEtag: 'etag',
  validationAttempts: 1,
  idempotencyKey: 'abc',
};

describe('toJobView', () => {
  it('shows what a client needs and nothing of the bookkeeping', () => {
    const view = toJobView(base);
    expect(JobViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({ status: 'AWAITING_UPLOAD', terminal: false, uploadExpiresAt: base.uploadExpiresAt, retryAfterSeconds: 5 });
    for (const hidden of ['owner', 'deadlineAt', 'expiresAt', 'uploadEtag', 'validationAttempts', 'idempotencyKey', 'pk'])
      expect(view).not.toHaveProperty(hidden);
  });

  it('computes stage durations from the timestamps', () => {
    const view = toJobView({
      ...base,
      status: 'SUCCEEDED',
      uploadedAt: '2025-01-01T00:00:10.000Z',
      queuedAt: '2025-01-01T00:00:12.500Z',
      startedAt: '2025-01-01T00:00:20.000Z',
      finishedAt: '2025-01-01T00:01:00.000Z',
      result: { components: 1, nodes: 2, edges: 1, idle: 0, notImplemented: 0, notImplementedNames: [], files: ['a.py'], resultBytes: 99 },
      resultExpiresAt: '2025-01-08T00:01:00.000Z',
    });
    expect(view.durationsMs).toEqual({ upload: 10_000, validation: 2_500, queue: 7_500, conversion: 40_000, total: 60_000 });
    expect(view).toMatchObject({
      terminal: true,
      result: { nodes: 2, expiresAt: '2025-01-08T00:01:00.000Z', downloadPath: `/jobs/${base.jobId}/result` },
    });
    expect(view).not.toHaveProperty('uploadExpiresAt');
    expect(view).not.toHaveProperty('retryAfterSeconds');
  });

  it('adds the hint to an error and hides results of jobs that are no longer SUCCEEDED', () => {
    const view = toJobView({
      ...base,
      status: 'EXPIRED',
      expiredReason: 'RESULT_RETENTION',
      result: { components: 1, nodes: 1, edges: 0, idle: 1, notImplemented: 0, notImplementedNames: [], files: [] },
    });
    expect(view).toMatchObject({ expiredReason: 'RESULT_RETENTION' });
    expect(view).not.toHaveProperty('result');
    const failed = toJobView({ ...base, status: 'REJECTED', error: { code: 'ZIP_SYMLINK', message: 'm', details: { entry: 'a/b' } } });
    expect(failed.error).toMatchObject({ code: 'ZIP_SYMLINK', details: { entry: 'a/b' } });
    expect(failed.error?.hint).toMatch(/regular files/);
  });

  it('asks for polls only while a job moves', () => {
    expect(pollAfterSeconds('VALIDATING')).toBe(2);
    expect(pollAfterSeconds('RUNNING')).toBe(5);
    expect(pollAfterSeconds('FAILED')).toBeUndefined();
  });
});

describe('resultAvailability', () => {
  const now = Date.parse('2025-01-02T00:00:00.000Z');
  it('is ready for a SUCCEEDED job within retention, gone after it or once deleted/expired', () => {
    expect(resultAvailability({ ...base, status: 'SUCCEEDED', resultExpiresAt: '2025-01-08T00:00:00.000Z' }, now)).toEqual({
      kind: 'ready',
    });
    expect(resultAvailability({ ...base, status: 'SUCCEEDED', resultExpiresAt: '2025-01-01T00:00:00.000Z' }, now)).toEqual({
      kind: 'gone',
    });
    expect(resultAvailability({ ...base, status: 'DELETED' }, now)).toEqual({ kind: 'gone' });
    expect(resultAvailability({ ...base, status: 'EXPIRED' }, now)).toEqual({ kind: 'gone' });
  });

  it('is not ready while running, and says why a failed job has none', () => {
    expect(resultAvailability({ ...base, status: 'RUNNING' }, now)).toEqual({ kind: 'not-ready', message: 'The result is not ready yet.' });
    expect(resultAvailability({ ...base, status: 'TIMED_OUT' }, now)).toEqual({
      kind: 'not-ready',
      message: 'The job ended TIMED_OUT; it has no result.',
    });
  });
});
