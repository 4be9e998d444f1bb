/**
 * GET /jobs/{id}?waitSeconds: answers with the job as soon as its status
 * differs from the one it had when the request arrived, when it is terminal,
 * or when the wait is over — whichever comes first. Never waits for a job that
 * is already terminal, never past the bound it is given, and only ever reads.
 */
import { isTerminal } from '../../core/job-states';
import type { JobStore, StoredJob } from '../storage/job-store';
import { requireOwnedJob } from './job-queries';

/**
 * Between two consistent reads of the job. 250 ms: a change is seen within a
 * quarter second (a client notices completion in ~0.3 s), while a full 20-s
 * wait costs at most 80 one-unit consistent reads (a 1 KB item), a few
 * millionths of a dollar on demand; faster reads would buy little against
 * the Lambda and network latency the answer pays anyway.
 */
export const JOB_WAIT_INTERVAL_MS = 250;

/** Time for the wait only (the record's expiry is read against the wall clock). */
export interface WaitClock {
  /** Monotonic ms: a wall clock set back (local mode moves it) must not stretch a wait. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: WaitClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface JobWait {
  /** Longest hold, ms (0: answer at once). */
  waitMs: number;
  clock?: WaitClock;
  intervalMs?: number;
}

/** The owner's job once it changed status (or the wait ended); NOT_FOUND as for a plain read, also if it vanishes meanwhile. */
export async function waitForJobChange(store: JobStore, jobId: string, owner: string, wait: JobWait): Promise<StoredJob> {
  const clock = wait.clock ?? realClock;
  const interval = wait.intervalMs ?? JOB_WAIT_INTERVAL_MS;
  const first = await requireOwnedJob(store, jobId, owner);
  if (wait.waitMs <= 0 || isTerminal(first.status)) return first;
  const deadline = clock.now() + wait.waitMs;
  let job = first;
  for (let left = wait.waitMs; left > 0; left = deadline - clock.now()) {
    await clock.sleep(Math.min(interval, left));
    job = await requireOwnedJob(store, jobId, owner);
    if (job.status !== first.status) return job;
  }
  return job;
}
