/**
 * GET /jobs/{id}/logs: the conversion log the runner uploaded beside
 * report.json (log.txt, at most MAX_JOB_LOG_BYTES, secrets scrubbed). Only the
 * owner sees it, and admins (GET /admin/jobs/{id}/logs, no owner given); a job without one — not run yet, rejected before running,
 * or its data deleted or expired — is LOG_NOT_AVAILABLE, never an empty log.
 */
import { MAX_JOB_LOG_BYTES } from '../../core/runner-contract';
import { DomainError } from '../../core/errors';
import type { JobStatus } from '../../core/job-states';
import { pollAfterSeconds } from '../decisions/job-view';
import type { JobObjects } from '../storage/job-objects';
import type { JobStore } from '../storage/job-store';
import { requireOwnedJob } from './job-queries';

async function requireJob(store: JobStore, jobId: string, nowMs: number) {
  const job = await store.get(jobId, nowMs);
  if (!job) throw new DomainError('NOT_FOUND');
  return job;
}

/** Statuses in which no log can exist yet, or no longer. */
const NO_LOG: ReadonlySet<JobStatus> = new Set<JobStatus>(['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'DELETED', 'EXPIRED']);

/** The job's log; `owner` undefined: whoever owns the job (the admin route, behind requireRole). */
export async function readJobLog(store: JobStore, objects: JobObjects, jobId: string, owner?: string, nowMs = Date.now()): Promise<string> {
  const job = owner === undefined ? await requireJob(store, jobId, nowMs) : await requireOwnedJob(store, jobId, owner, nowMs);
  const notAvailable = () =>
    new DomainError('LOG_NOT_AVAILABLE', undefined, {
      details: { status: job.status },
      // While the job moves it may still get a log; a terminal job without one never will.
      retryAfterSeconds: pollAfterSeconds(job.status),
    });
  if (NO_LOG.has(job.status)) throw notAvailable();
  // RUNNING: the runner uploads the log as it ends; terminal: a job that never ran (REJECTED) has none.
  const read = await objects.read(jobId, 'log', MAX_JOB_LOG_BYTES);
  if (read.kind !== 'ok') throw notAvailable();
  return new TextDecoder().decode(read.bytes);
}
