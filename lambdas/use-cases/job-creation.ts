/**
 * POST /jobs: idempotency claim → admission (the principal's in-flight ledger
 * and daily count, the global ledger) → job record → presigned upload. Every
 * step that fails undoes the ones before it, so a refused request leaves no
 * slot, count or claim behind; a crash between steps leaves at worst a leaked
 * slot, which the reaper identifies and frees. A ledger that refuses is first
 * rid of its abandoned uploads (jobs past their upload window with nothing
 * uploaded), then asked once more.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { workflowNameFromFilename, type CreateJobRequest, type UploadTicket } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import type { BundleLimits, ServiceLimits } from '../../core/limits';
import { DEFAULT_CONVERSION_OPTIONS, type ConversionOptions } from '../../core/types';
import { admissionError, type Capacity } from '../storage/capacity';
import type { JobObjects } from '../storage/job-objects';
import { freeAbandonedSlots } from './abandoned-uploads';
import { uploadDeadline } from '../decisions/deadlines';
import type { IdempotencyStore } from '../storage/idempotency';
import { requestHash } from '../storage/idempotency';
import { newJobId } from '../decisions/ids';
import type { JobStore, StoredJob } from '../storage/job-store';
import { METRIC } from '../../core/metrics';
import { countByCode, countMetric, logger, withJob } from '../runtime/observability';
import { createUploadTicket } from '../storage/presign-upload';
import { PENDING_DELIVERY } from '../decisions/webhooks';
import { WEBHOOK_DUE } from '../storage/job-store';
import { resolveJobCallback, type WebhookSettingsDeps } from './webhooks';
import { epochSeconds } from '../storage/table-keys';

export interface CreateJobDeps {
  store: JobStore;
  capacity: Capacity;
  /** To tell an abandoned upload (nothing in the bucket) from a late S3 event. */
  objects: JobObjects;
  idempotency: IdempotencyStore;
  s3: S3Client;
  bucket: string;
  limits: ServiceLimits;
  bundleLimits: BundleLimits;
  /** The principal's webhook settings and the callback URL policy. */
  webhooks: Omit<WebhookSettingsDeps, 'now'>;
  now?: () => number;
  /** Pause between looks at a job another request with the same key is creating. */
  sleep?: (ms: number) => Promise<void>;
}

export interface CreateJobInput {
  owner: string;
  request: CreateJobRequest;
  idempotencyKey?: string;
}

export interface CreateJobResult {
  /** false when an earlier request with the same Idempotency-Key created the job. */
  created: boolean;
  job: StoredJob;
  upload?: UploadTicket;
}

const REPLAY_WAIT_MS = 3000;
const REPLAY_POLL_MS = 100;
/** A claim whose job has not appeared after this long belongs to a request that died mid-way. */
const STALE_CLAIM_MS = 30_000;
/** A replay gets a new upload link only if the original window has at least this much left. */
const MIN_REPLAY_UPLOAD_MS = 10_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function resolveOptions(request: CreateJobRequest): ConversionOptions {
  return { ...DEFAULT_CONVERSION_OPTIONS, ...Object.fromEntries(Object.entries(request.options ?? {}).filter(([, v]) => v !== undefined)) };
}

export async function createJob(deps: CreateJobDeps, input: CreateJobInput): Promise<CreateJobResult> {
  const now = deps.now ?? Date.now;
  const { owner, request, idempotencyKey } = input;
  const maxBytes = deps.bundleLimits.maxUploadBytes;
  if (request.sizeBytes !== undefined && request.sizeBytes > maxBytes) {
    throw new DomainError('BUNDLE_TOO_LARGE', `The bundle is ${request.sizeBytes} bytes; the upload limit is ${maxBytes} bytes.`, {
      details: { sizeBytes: request.sizeBytes, maxBytes },
    });
  }
  const options = resolveOptions(request);
  // Checked before anything is claimed, so a refused callback leaves nothing behind.
  const callback = await resolveJobCallback(deps.webhooks, owner, request.callbackUrl);
  const hash = requestHash({ filename: request.filename, sizeBytes: request.sizeBytes, options, callbackUrl: request.callbackUrl });
  const jobId = newJobId(now());

  if (idempotencyKey) {
    const ttl = deps.limits.idempotencySeconds;
    const claim = await deps.idempotency.claim(owner, idempotencyKey, jobId, hash, now(), ttl);
    if (!claim.claimed) {
      if (claim.record.requestHash !== hash) {
        throw new DomainError('INVALID_REQUEST', 'This Idempotency-Key was already used for a different request.', {
          details: { header: 'Idempotency-Key' },
        });
      }
      const replay = await replayJob(deps, owner, claim.record.jobId);
      if (replay) return replay;
      const claimAge = now() - Date.parse(claim.record.createdAt);
      if (
        claimAge < STALE_CLAIM_MS ||
        !(await deps.idempotency.takeOver(owner, idempotencyKey, claim.record.jobId, jobId, hash, now(), ttl))
      ) {
        throw new DomainError('SERVER_BUSY', 'A request with this Idempotency-Key is still being processed.', { retryAfterSeconds: 2 });
      }
      logger.warn('Took over a stale idempotency claim', { staleJobId: claim.record.jobId });
    }
  }

  withJob(jobId);
  const createdMs = now();
  const uploadExpiresMs = createdMs + deps.limits.uploadUrlSeconds * 1000;
  const createdAt = new Date(createdMs).toISOString();
  const job: StoredJob = {
    jobId,
    owner,
    status: 'AWAITING_UPLOAD',
    filename: request.filename,
    workflowName: workflowNameFromFilename(request.filename),
    options,
    sizeBytes: request.sizeBytes,
    createdAt,
    updatedAt: createdAt,
    uploadExpiresAt: new Date(uploadExpiresMs).toISOString(),
    deadlineAt: uploadDeadline(uploadExpiresMs),
    idempotencyKey,
    expiresAt: epochSeconds(createdMs) + deps.limits.jobRecordDays * 86_400,
    // The outbox's partition key: the job enters byWebhookDue once its first terminal move sets webhookAt.
    ...(callback ? { callback, webhook: PENDING_DELIVERY, webhookQueue: WEBHOOK_DUE } : {}),
  };

  try {
    await admit(deps, jobId, owner, createdMs);
    try {
      await deps.store.create(job);
    } catch (error) {
      await deps.capacity.release(jobId, owner);
      await deps.capacity.uncount(jobId, owner, createdMs);
      throw error;
    }
  } catch (error) {
    if (idempotencyKey) await deps.idempotency.forget(owner, idempotencyKey, jobId);
    if (error instanceof DomainError) countByCode(METRIC.admissionRejected, error.code);
    throw error;
  }

  countMetric(METRIC.jobsCreated);
  logger.info('Job created', { workflowName: job.workflowName, options });
  const upload = await createUploadTicket(deps.s3, deps.bucket, jobId, maxBytes, deps.limits.uploadUrlSeconds, createdMs);
  return { created: true, job, upload };
}

/**
 * Takes the job's slots and daily count. A full ledger is first rid of holders
 * with nothing to run, then asked once more, also when a concurrent request
 * freed them: the retry is one conditional write per ledger.
 */
async function admit(deps: CreateJobDeps, jobId: string, owner: string, nowMs: number): Promise<void> {
  let admission = await deps.capacity.tryAcquire(jobId, owner, deps.limits, nowMs);
  if (!admission.ok && admission.scope !== 'day') {
    const freed = await freeAbandonedSlots(deps, admission.pk, nowMs);
    if (freed) logger.info('Freed slots held by abandoned uploads', { ledger: admission.pk, freed });
    admission = await deps.capacity.tryAcquire(jobId, owner, deps.limits, nowMs);
  }
  if (!admission.ok) throw admissionError(admission.scope, deps.limits, nowMs);
}

/** The job an earlier request with the same key created (waiting briefly if it is still being created). */
async function replayJob(deps: CreateJobDeps, owner: string, jobId: string): Promise<CreateJobResult | undefined> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const until = now() + REPLAY_WAIT_MS;
  for (;;) {
    const job = await deps.store.getOwned(jobId, owner, now());
    if (job) {
      withJob(jobId);
      logger.info('Idempotent replay', { status: job.status });
      const left = Date.parse(job.uploadExpiresAt) - now();
      const upload =
        job.status === 'AWAITING_UPLOAD' && left >= MIN_REPLAY_UPLOAD_MS
          ? await createUploadTicket(deps.s3, deps.bucket, jobId, deps.bundleLimits.maxUploadBytes, left / 1000, now())
          : undefined;
      return { created: false, job, upload };
    }
    if (now() >= until) return undefined;
    await sleep(REPLAY_POLL_MS);
  }
}
