/**
 * S3 ObjectCreated on bundles/<jobId>/bundle.zip → validate → QUEUED (and
 * start the job's execution) or REJECTED (and delete the bundle, free the slot).
 *
 * Duplicated and reordered events are harmless: the job moves
 * AWAITING_UPLOAD → VALIDATING with a conditional write, remembering which
 * upload (ETag) it validates. A redelivery of that same upload while the job
 * is still VALIDATING is a retry after a crash: it resumes (a bounded number
 * of times). A redelivery once QUEUED makes sure the execution exists. Any
 * other upload, an unknown job or a key outside bundles/ is ignored and logged.
 * If every retry dies mid-way, the reaper fails the job at its deadline.
 */
import type { S3EventRecord } from 'aws-lambda';
import type { BundleLimits, ServiceLimits } from '../../core/limits';
import { isTerminal } from '../../core/job-states';
import { jobIdFromBundleKey } from '../../core/service-env';
import type { ValidationVerdict } from '../../core/types';
import type { Capacity } from '../storage/capacity';
import { MAX_VALIDATION_ATTEMPTS, runDeadline, validationDeadline } from '../decisions/deadlines';
import type { Executions } from '../storage/executions';
import { finishJob } from './job-lifecycle';
import type { JobObjects } from '../storage/job-objects';
import type { JobStore, StoredJob } from '../storage/job-store';
import { METRIC } from '../../core/metrics';
import { countByCode, countMetric, durationMetric, logger, withJob } from '../runtime/observability';

export interface UploadValidationDeps {
  store: JobStore;
  capacity: Capacity;
  objects: JobObjects;
  executions: Executions;
  validate: (zip: Uint8Array, limits: BundleLimits) => Promise<ValidationVerdict>;
  limits: ServiceLimits;
  bundleLimits: BundleLimits;
  now?: () => number;
}

export type UploadOutcome =
  | 'queued'
  | 'rejected'
  | 'failed'
  | 'execution-ensured'
  | 'ignored-event-type'
  | 'ignored-bucket'
  | 'ignored-key'
  | 'ignored-unknown-job'
  | 'ignored-duplicate'
  | 'ignored-other-upload'
  | 'ignored-job-ended';

/** S3 event keys are URL-encoded with '+' for spaces (AWS); local servers may send them raw. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/** Identifies one upload: the ETag (same bytes, same tag) or else the event's sequencer. */
function uploadTagOf(record: S3EventRecord): string {
  return record.s3.object.eTag || record.s3.object.sequencer || 'unknown';
}

export async function handleUploadRecord(deps: UploadValidationDeps, record: S3EventRecord): Promise<UploadOutcome> {
  const now = deps.now ?? Date.now;
  const key = decodeS3Key(record.s3?.object?.key ?? '');
  if (!record.eventName?.startsWith('ObjectCreated:')) {
    logger.info('Ignored S3 event of another type', { eventName: record.eventName, key });
    return 'ignored-event-type';
  }
  if (record.s3.bucket.name !== deps.objects.bucket) {
    logger.warn('Ignored upload to another bucket', { bucket: record.s3.bucket.name, key });
    return 'ignored-bucket';
  }
  const jobId = jobIdFromBundleKey(key);
  if (!jobId) {
    logger.warn('Ignored object outside the bundle layout', { key });
    return 'ignored-key';
  }
  withJob(jobId);
  const job = await deps.store.get(jobId, now());
  if (!job) {
    logger.warn('Ignored upload for an unknown job', { key });
    return 'ignored-unknown-job';
  }
  const uploadTag = uploadTagOf(record);
  const claimed = await claimValidation(deps, job, uploadTag);
  if (typeof claimed === 'string') return claimed;
  return validateClaimed(deps, claimed, record.s3.object.size);
}

/** Moves the job to VALIDATING for this upload, or says why this event is not ours to act on. */
async function claimValidation(deps: UploadValidationDeps, initial: StoredJob, uploadTag: string): Promise<StoredJob | UploadOutcome> {
  const now = deps.now ?? Date.now;
  let job = initial;
  if (job.status === 'AWAITING_UPLOAD') {
    const moved = await deps.store.transition(job.jobId, 'VALIDATING', {
      from: ['AWAITING_UPLOAD'],
      set: {
        uploadedAt: new Date(now()).toISOString(),
        uploadEtag: uploadTag,
        validationAttempts: 1,
        deadlineAt: validationDeadline(now()),
      },
      now: now(),
    });
    if (moved.ok) return moved.job;
    if (!moved.job) return 'ignored-unknown-job';
    job = moved.job;
  }
  const sameUpload = job.uploadEtag === uploadTag;
  if (job.status === 'VALIDATING' && sameUpload) {
    const attempts = job.validationAttempts ?? 1;
    if (attempts >= MAX_VALIDATION_ATTEMPTS) {
      logger.error('Validation did not finish after repeated attempts; failing the job', { attempts });
      await finishJob(deps, job, 'FAILED', {
        now: now(),
        error: { code: 'INTERNAL_ERROR', message: 'The bundle could not be validated.', details: { stage: 'validation', attempts } },
        deleteObjects: ['bundle'],
      });
      countByCode(METRIC.jobsFailed, 'INTERNAL_ERROR');
      return 'failed';
    }
    const resumed = await deps.store.updateIf(
      job.jobId,
      'VALIDATING',
      { uploadEtag: uploadTag, validationAttempts: attempts },
      { validationAttempts: attempts + 1, deadlineAt: validationDeadline(now()) },
      now(),
    );
    if (!resumed) return 'ignored-duplicate';
    logger.warn('Resuming a validation that did not finish', { attempt: attempts + 1 });
    return resumed;
  }
  if (job.status === 'QUEUED' && sameUpload) {
    // The job was queued but the start may have been lost with a crashed invocation.
    const started = await deps.executions.start(job.jobId);
    logger.info('Duplicate upload event for a queued job; execution ensured', { started });
    return 'execution-ensured';
  }
  if (isTerminal(job.status)) {
    // Nothing is kept for a job that has ended (a late or second upload).
    await deps.objects.delete(job.jobId, ['bundle']);
    logger.warn('Ignored upload for a job that has ended; object deleted', { status: job.status });
    return 'ignored-job-ended';
  }
  logger.warn(sameUpload ? 'Ignored duplicate upload event' : 'Ignored a second upload to the same job', { status: job.status });
  return sameUpload ? 'ignored-duplicate' : 'ignored-other-upload';
}

async function validateClaimed(deps: UploadValidationDeps, job: StoredJob, eventSize: number | undefined): Promise<UploadOutcome> {
  const now = deps.now ?? Date.now;
  const maxBytes = deps.bundleLimits.maxUploadBytes;
  const started = now();
  let verdict: ValidationVerdict;
  if (typeof eventSize === 'number' && eventSize > maxBytes) {
    verdict = tooLarge(eventSize, maxBytes);
  } else {
    const read = await deps.objects.read(job.jobId, 'bundle', maxBytes);
    if (read.kind === 'missing') {
      // Deleted under us (DELETE /jobs raced the upload): whatever the job is now, there is nothing to validate.
      const current = await deps.store.get(job.jobId, now());
      if (current?.status !== 'VALIDATING') return 'ignored-job-ended';
      await finishJob(deps, job, 'FAILED', {
        now: now(),
        error: {
          code: 'INTERNAL_ERROR',
          message: 'The uploaded bundle disappeared before it could be validated.',
          details: { stage: 'validation' },
        },
      });
      countByCode(METRIC.jobsFailed, 'INTERNAL_ERROR');
      return 'failed';
    }
    verdict = read.kind === 'too-large' ? tooLarge(read.size, maxBytes) : await deps.validate(read.bytes, deps.bundleLimits);
  }
  durationMetric(METRIC.validationDuration, now() - started);

  if (!verdict.ok) {
    const moved = await finishJob(deps, job, 'REJECTED', {
      from: ['VALIDATING'],
      now: now(),
      error: {
        code: verdict.code,
        message: verdict.message,
        ...(verdict.entry !== undefined ? { details: { entry: verdict.entry } } : {}),
      },
      deleteObjects: ['bundle'],
    });
    if (!moved.ok) return 'ignored-job-ended';
    countByCode(METRIC.jobsRejected, verdict.code);
    logger.info('Bundle rejected', { code: verdict.code, entry: verdict.entry });
    return 'rejected';
  }

  const queued = await deps.store.transition(job.jobId, 'QUEUED', {
    from: ['VALIDATING'],
    set: {
      bundle: verdict.stats,
      queuedAt: new Date(now()).toISOString(),
      deadlineAt: runDeadline(now(), deps.limits),
      executionArn: deps.executions.arnOf(job.jobId),
    },
    now: now(),
  });
  if (!queued.ok) {
    logger.info('Job changed during validation; not queueing it', { status: queued.job?.status });
    return 'ignored-job-ended';
  }
  const start = await deps.executions.start(job.jobId);
  countMetric(METRIC.jobsQueued);
  logger.info('Bundle accepted; conversion started', { start, entries: verdict.stats.entries, nodes: verdict.stats.nodes });
  return 'queued';
}

function tooLarge(size: number, maxBytes: number): ValidationVerdict {
  return { ok: false, code: 'BUNDLE_TOO_LARGE', message: `The bundle is ${size} bytes; the upload limit is ${maxBytes} bytes.` };
}
