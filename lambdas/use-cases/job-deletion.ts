/**
 * DELETE /jobs/{id}: mark DELETED (so every pipeline step that comes later
 * stops), delete the bundle and the result now, release the slot. Each step
 * is idempotent and runs on every call, so a retry heals a crash mid-way.
 * A job whose task runs is cancelled first (CANCELLING with deleteRequested):
 * its slot is freed and its data deleted only once the task has stopped
 * (job-cancellation.ts finishes it DELETED).
 */
import type { Capacity } from '../storage/capacity';
import type { Executions } from '../storage/executions';
import type { JobObjects } from '../storage/job-objects';
import { requireOwnedJob } from './job-queries';
import type { JobStore, StoredJob } from '../storage/job-store';
import { allowedPredecessors } from '../../core/job-states';
import { METRIC } from '../../core/metrics';
import { countMetric, logger, withJob } from '../runtime/observability';
import { startCancelling, stopExecution } from './job-cancellation';

export interface DeleteJobDeps {
  store: JobStore;
  capacity: Capacity;
  objects: JobObjects;
  executions: Executions;
  now?: () => number;
}

export interface DeleteResult {
  job: StoredJob;
  /** The task is being stopped first (CANCELLING): the API answers 202. */
  stopping: boolean;
}

/** Straight to DELETED only from where no task can be running. */
const DELETABLE_AT_ONCE = allowedPredecessors('DELETED').filter((status) => status !== 'CANCELLING');
const MAX_ATTEMPTS = 5;

export async function deleteJob(deps: DeleteJobDeps, owner: string, jobId: string): Promise<DeleteResult> {
  const now = (deps.now ?? Date.now)();
  let job: StoredJob | undefined = await requireOwnedJob(deps.store, jobId, owner, now);
  withJob(jobId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS && job && job.status !== 'DELETED'; attempt++) {
    if (job.status === 'RUNNING') {
      const cancelling = await startCancelling({ ...deps, now: () => now }, job, true);
      if (cancelling) return { job: cancelling, stopping: cancelling.status === 'CANCELLING' };
      job = await deps.store.get(jobId, now);
      continue;
    }
    if (job.status === 'CANCELLING') {
      const marked = job.deleteRequested ? job : await deps.store.updateIf(jobId, 'CANCELLING', {}, { deleteRequested: true }, now);
      if (marked) {
        await stopExecution(deps.executions, jobId);
        return { job: marked, stopping: true };
      }
      job = await deps.store.get(jobId, now);
      continue;
    }
    const previousStatus = job.status;
    const nowIso = new Date(now).toISOString();
    const moved = await deps.store.transition(jobId, 'DELETED', {
      from: DELETABLE_AT_ONCE,
      set: { deletedAt: nowIso, finishedAt: job.finishedAt ?? nowIso },
      remove: ['deadlineAt'],
      now,
    });
    // Lost to another delete, or to PrepareRun's QUEUED → RUNNING: look again.
    job = moved.job;
    if (moved.ok) {
      countMetric(METRIC.jobsDeleted);
      logger.info('Job deleted', { previousStatus });
    }
  }
  if (!job) throw new Error('The job vanished while being deleted');
  if (job.status !== 'DELETED') throw new Error(`Delete kept losing races (status ${job.status})`);
  await deps.objects.delete(jobId, ['bundle', 'result', 'report', 'log']);
  await deps.capacity.release(jobId, owner);
  return { job, stopping: false };
}
