/**
 * A job that waits for an upload that never came holds its slots for at most
 * its upload window plus UPLOAD_SLOT_GRACE_SECONDS: past that, with no bundle
 * in the bucket, it is EXPIRED (UPLOAD_NOT_RECEIVED) by one conditional move
 * from AWAITING_UPLOAD, which frees its slots. Two callers apply the rule:
 * admission, inline, to the holders of a ledger that just refused a job (so a
 * principal's capacity is back the moment it is wanted), and the reaper on its
 * sweep. A bundle that arrived but whose S3 event is late keeps the job until
 * its full deadline, so validation can still take it.
 */
import { isTerminal } from '../../core/job-states';
import type { ServiceLimits } from '../../core/limits';
import { METRIC } from '../../core/metrics';
import { abandonedIfCreatedBefore, uploadAbandonedAt } from '../decisions/deadlines';
import { jobIdTime } from '../decisions/ids';
import type { JobObjects } from '../storage/job-objects';
import type { StoredJob, TransitionResult } from '../storage/job-store';
import { countMetric, logger } from '../runtime/observability';
import { finishJob, type LifecycleDeps } from './job-lifecycle';

export interface AbandonedUploadDeps extends LifecycleDeps {
  objects: JobObjects;
  limits: ServiceLimits;
}

/** Moves an AWAITING_UPLOAD job to EXPIRED (slot freed, any late bundle deleted); `ok` false when it had moved on. */
export async function expireUpload(deps: LifecycleDeps, job: StoredJob, nowMs: number): Promise<TransitionResult> {
  const moved = await finishJob(deps, job, 'EXPIRED', {
    from: ['AWAITING_UPLOAD'],
    now: nowMs,
    set: { expiredReason: 'UPLOAD_NOT_RECEIVED' },
    deleteObjects: ['bundle'],
  });
  if (moved.ok) {
    countMetric(METRIC.jobsExpired);
    logger.info('Upload never arrived; job expired', { jobId: job.jobId, uploadExpiresAt: job.uploadExpiresAt });
  }
  return moved;
}

/** Past its upload window and grace with no bundle in the bucket: nothing will run. */
async function isAbandoned(deps: AbandonedUploadDeps, job: StoredJob, nowMs: number): Promise<boolean> {
  if (job.status !== 'AWAITING_UPLOAD' || uploadAbandonedAt(job.uploadExpiresAt) > nowMs) return false;
  return (await deps.objects.size(job.jobId, 'bundle')) === undefined;
}

/** Expires the job when it is abandoned; true when this call moved it. */
export async function expireIfAbandoned(deps: AbandonedUploadDeps, job: StoredJob, nowMs: number): Promise<boolean> {
  return (await isAbandoned(deps, job, nowMs)) && (await expireUpload(deps, job, nowMs)).ok;
}

/**
 * Frees the slots of one ledger's holders that have nothing to run: abandoned
 * uploads are expired, and a holder whose job has already ended is released
 * (release is idempotent). Returns how many holders that freed.
 */
export async function freeAbandonedSlots(deps: AbandonedUploadDeps, ledgerPk: string, nowMs: number): Promise<number> {
  const cutoff = abandonedIfCreatedBefore(nowMs, deps.limits);
  // Only ids old enough to be past their window are read: a refusal under real load stays cheap.
  const candidates = (await deps.capacity.holders(ledgerPk)).filter((jobId) => (jobIdTime(jobId) ?? 0) <= cutoff);
  const freed = await Promise.all(
    candidates.map(async (jobId) => {
      const job = await deps.store.get(jobId, nowMs);
      if (!job) return false;
      if (isTerminal(job.status)) return deps.capacity.release(job.jobId, job.owner);
      return (await isAbandoned(deps, job, nowMs)) && (await expireUpload(deps, job, nowMs)).ok;
    }),
  );
  return freed.filter(Boolean).length;
}
