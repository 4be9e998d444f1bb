/**
 * DELETE /jobs/{id}: mark DELETED (so every pipeline step that comes later
 * stops), delete the bundle and the result now, release the slot. Each step
 * is idempotent and runs on every call, so a retry heals a crash mid-way.
 */
import type { Capacity } from '../storage/capacity';
import type { JobObjects } from '../storage/job-objects';
import { requireOwnedJob } from './job-queries';
import type { JobStore, StoredJob } from '../storage/job-store';
import { METRIC } from '../../core/metrics';
import { countMetric, logger, withJob } from '../runtime/observability';

export interface DeleteJobDeps {
  store: JobStore;
  capacity: Capacity;
  objects: JobObjects;
  now?: () => number;
}

export async function deleteJob(deps: DeleteJobDeps, owner: string, jobId: string): Promise<StoredJob> {
  const now = (deps.now ?? Date.now)();
  let job = await requireOwnedJob(deps.store, jobId, owner, now);
  withJob(jobId);
  if (job.status !== 'DELETED') {
    const previousStatus = job.status;
    const nowIso = new Date(now).toISOString();
    const moved = await deps.store.transition(jobId, 'DELETED', {
      set: { deletedAt: nowIso, finishedAt: job.finishedAt ?? nowIso },
      remove: ['deadlineAt'],
      now,
    });
    // The only legal way to lose this race is to another delete.
    job = moved.job ?? job;
    if (moved.ok) {
      countMetric(METRIC.jobsDeleted);
      logger.info('Job deleted', { previousStatus });
    }
  }
  await deps.objects.delete(jobId, ['bundle', 'result', 'report', 'log']);
  await deps.capacity.release(jobId, owner);
  return job;
}
