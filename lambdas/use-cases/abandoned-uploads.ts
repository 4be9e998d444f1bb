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
import type { ServiceLimits } from '../../core/limits';
import { METRIC } from '../../core/metrics';
import { abandonedIfCreatedBefore, uploadAbandonedAt } from '../decisions/deadlines';
import { jobIdTime } from '../decisions/ids';
import type { JobObjects } from '../storage/job-objects';
import type { StoredJob } from '../storage/job-store';
import { countMetric, logger } from '../runtime/observability';
import { finishJob, type LifecycleDeps } from './job-lifecycle';

export interface AbandonedUploadDeps extends LifecycleDeps {
  objects: JobObjects;
  limits: ServiceLimits;
}

/** Moves an AWAITING_UPLOAD job to EXPIRED (slot freed, any late bundle deleted); false when it had moved on. */
export async function expireUpload(deps: LifecycleDeps, job: StoredJob, nowMs: number): Promise<boolean> {
  const moved = await finishJob(deps, job, 'EXPIRED', {
    from: ['AWAITING_UPLOAD'],
    now: nowMs,
    set: { expiredReason: 'UPLOAD_NOT_RECEIVED' },
    deleteObjects: ['bundle'],
  });
  if (!moved.ok) return false;
  countMetric(METRIC.jobsExpired);
  logger.info('Upload never arrived; job expired', { jobId: job.jobId, uploadExpiresAt: job.uploadExpiresAt });
  return true;
}

/** Expires the job when its upload window and grace are over and no bundle is in the bucket. */
export async function expireIfAbandoned(deps: AbandonedUploadDeps, job: StoredJob, nowMs: number): Promise<boolean> {
  if (job.status !== 'AWAITING_UPLOAD' || uploadAbandonedAt(job.uploadExpiresAt) > nowMs) return false;
  if ((await deps.objects.size(job.jobId, 'bundle')) !== undefined) return false;
  return expireUpload(deps, job, nowMs);
}

/** Expires the abandoned uploads among one ledger's holders; returns how many slots that freed. */
export async function freeAbandonedSlots(deps: AbandonedUploadDeps, ledgerPk: string, nowMs: number): Promise<number> {
  const cutoff = abandonedIfCreatedBefore(nowMs, deps.limits);
  // Only ids old enough to be past their window are read: a refusal under real load stays cheap.
  const candidates = (await deps.capacity.holders(ledgerPk)).filter((jobId) => (jobIdTime(jobId) ?? 0) <= cutoff);
  const expired = await Promise.all(
    candidates.map(async (jobId) => {
      const job = await deps.store.get(jobId, nowMs);
      return job ? expireIfAbandoned(deps, job, nowMs) : false;
    }),
  );
  return expired.filter(Boolean).length;
}
