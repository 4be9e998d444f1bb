/**
 * Ending a job: one conditional move to a terminal status, then the clean-up
 * that must follow it (objects, capacity slot). The slot is released whenever
 * the job is terminal, also when another invocation won the move: release is
 * idempotent, so a crash between the move and the release is healed by any retry.
 */
import type { ErrorInfo } from '../../core/errors';
import { allowedPredecessors, IN_FLIGHT_STATUSES, isTerminal, type JobStatus } from '../../core/job-states';
import type { Capacity } from '../storage/capacity';
import type { JobObjectKind, JobObjects } from '../storage/job-objects';
import type { JobStore, StoredJob, TransitionOptions, TransitionResult } from '../storage/job-store';

export interface LifecycleDeps {
  store: JobStore;
  capacity: Capacity;
  objects?: JobObjects;
}

export interface FinishOptions {
  now: number;
  error?: ErrorInfo;
  set?: Partial<StoredJob>;
  /** Statuses the job may be in; default: the in-flight statuses that may move to `to`. */
  from?: readonly JobStatus[];
  /** Fields that must still hold these values for the move (null: absent). */
  expected?: TransitionOptions['expected'];
  /** Objects to delete once the job has moved. */
  deleteObjects?: readonly JobObjectKind[];
}

export function inFlightPredecessors(to: JobStatus): JobStatus[] {
  return allowedPredecessors(to).filter((status) => IN_FLIGHT_STATUSES.has(status));
}

export async function finishJob(
  deps: LifecycleDeps,
  job: Pick<StoredJob, 'jobId' | 'owner'>,
  to: JobStatus,
  options: FinishOptions,
): Promise<TransitionResult> {
  const result = await deps.store.transition(job.jobId, to, {
    from: options.from ?? inFlightPredecessors(to),
    set: { finishedAt: new Date(options.now).toISOString(), ...(options.error ? { error: options.error } : {}), ...options.set },
    remove: ['deadlineAt'],
    now: options.now,
    expected: options.expected,
  });
  // The slot first: it matters more than storage, which lifecycle rules clean up anyway.
  if (result.job && isTerminal(result.job.status)) await deps.capacity.release(job.jobId, job.owner);
  if (result.ok && options.deleteObjects?.length && deps.objects) await deps.objects.delete(job.jobId, options.deleteObjects);
  return result;
}
