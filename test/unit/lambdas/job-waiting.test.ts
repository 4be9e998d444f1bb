/**
 * The long poll's use-case with an injected clock and a scripted job store:
 * how many reads it makes, how long it sleeps, and what it answers.
 */
import { describe, expect, it } from 'vitest';
import { GetJobQuerySchema } from '../../../core/api-schemas';
import type { JobStatus } from '../../../core/job-states';
import type { JobStore, StoredJob } from '../../../lambdas/storage/job-store';
import { JOB_WAIT_INTERVAL_MS, waitForJobChange, type WaitClock } from '../../../lambdas/use-cases/job-waiting';

const OWNER = 'owner-1';

/** A store whose job has status `script[i]` at its i-th read (the last one repeats; undefined: gone). */
function scriptedStore(script: (JobStatus | undefined)[]) {
  let reads = 0;
  const store = {
    getOwned: async (jobId: string, owner: string) => {
      const status = script[Math.min(reads++, script.length - 1)];
      return status && owner === OWNER ? ({ jobId, owner, status } as StoredJob) : undefined;
    },
  } as unknown as JobStore;
  return { store, reads: () => reads };
}

function fakeClock(): WaitClock & { sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return { sleeps, now: () => now, sleep: async (ms) => void (sleeps.push(ms), (now += ms)) };
}

describe('waitForJobChange', () => {
  it('answers at the first read that sees another status', async () => {
    const { store, reads } = scriptedStore(['RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED']);
    const clock = fakeClock();
    const job = await waitForJobChange(store, 'job-00000001', OWNER, { waitMs: 20_000, clock });
    expect(job.status).toBe('SUCCEEDED');
    expect(reads()).toBe(4);
    expect(clock.sleeps).toEqual([JOB_WAIT_INTERVAL_MS, JOB_WAIT_INTERVAL_MS, JOB_WAIT_INTERVAL_MS]);
  });

  it('without a change reads every interval until exactly the wait has passed, and answers the same state', async () => {
    const { store, reads } = scriptedStore(['QUEUED']);
    const clock = fakeClock();
    const job = await waitForJobChange(store, 'job-00000001', OWNER, { waitMs: 1100, clock });
    expect(job.status).toBe('QUEUED');
    expect(clock.sleeps).toEqual([250, 250, 250, 250, 100]);
    expect(reads()).toBe(6);
  });

  it('answers a terminal job, and any job with no wait, after one read', async () => {
    for (const [status, waitMs] of [
      ['FAILED', 20_000],
      ['DELETED', 20_000],
      ['RUNNING', 0],
    ] as const) {
      const { store, reads } = scriptedStore([status, 'EXPIRED']);
      const clock = fakeClock();
      expect((await waitForJobChange(store, 'job-00000001', OWNER, { waitMs, clock })).status).toBe(status);
      expect([reads(), clock.sleeps.length]).toEqual([1, 0]);
    }
  });

  it('is NOT_FOUND for an unknown job or another owner’s, and when the job vanishes during the wait', async () => {
    await expect(
      waitForJobChange(scriptedStore([undefined]).store, 'job-00000001', OWNER, { waitMs: 1000, clock: fakeClock() }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      waitForJobChange(scriptedStore(['RUNNING']).store, 'job-00000001', 'someone-else', { waitMs: 1000, clock: fakeClock() }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      waitForJobChange(scriptedStore(['RUNNING', 'RUNNING', undefined]).store, 'job-00000001', OWNER, { waitMs: 5000, clock: fakeClock() }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('GetJobQuerySchema', () => {
  it('takes whole seconds from 0 to 20 and nothing else', () => {
    for (const ok of ['0', '1', '20']) expect(GetJobQuerySchema.parse({ waitSeconds: ok })).toEqual({ waitSeconds: Number(ok) });
    expect(GetJobQuerySchema.parse({})).toEqual({});
    for (const bad of ['-1', '21', '2.5', 'abc', '1e3']) expect(GetJobQuerySchema.safeParse({ waitSeconds: bad }).success, bad).toBe(false);
    expect(GetJobQuerySchema.safeParse({ waitSeconds: '5', other: '1' }).success).toBe(false);
  });
});
