/**
 * When a job that has not moved on is considered stuck (the reaper then
 * finishes it), and how long the runner's URLs live. Pure arithmetic.
 */
import type { JobStatus } from '../../core/job-states';
import type { ServiceLimits } from '../../core/limits';

/** An upload that started just before its link expired may still be arriving; S3 events may lag. */
export const UPLOAD_GRACE_SECONDS = 15 * 60;
/**
 * After its upload window, a job with no bundle in the bucket has nothing to run: it is expired and its
 * slots freed this long after the window closed (S3 event delivery and an upload finishing at the edge).
 */
export const UPLOAD_SLOT_GRACE_SECONDS = 2 * 60;
/** Longer than a Lambda can run (15 min), so a live validation is never preempted. */
export const VALIDATION_DEADLINE_SECONDS = 20 * 60;
/** Added to the converter time limit for Fargate start-up, transfers and retries; the state machine's own timeouts are shorter. */
export const RUN_DEADLINE_MARGIN_SECONDS = 30 * 60;
/** Added to the converter time limit for the runner's presigned URLs (image pull, download, upload). */
export const RUNNER_URL_MARGIN_SECONDS = 15 * 60;
/** Attempts at validating one upload before the job fails (a bundle that crashes the validator is not retried forever). */
export const MAX_VALIDATION_ATTEMPTS = 3;
/** A capacity holder whose job record is missing is a leak only once admission must have finished. */
export const ADMISSION_GRACE_SECONDS = 5 * 60;
/** The longest stop timeout ECS allows a Fargate container (SIGTERM → SIGKILL), so a stopped task is gone by then. */
export const TASK_STOP_TIMEOUT_SECONDS = 120;
/** Added to the stop timeout before the reaper finishes a CANCELLING job itself (the task-stopped event may be lost). */
export const CANCEL_MARGIN_SECONDS = 3 * 60;
/** Times the reaper (re)starts a QUEUED job's missing execution before failing it. */
export const MAX_EXECUTION_RESTARTS = 1;

const iso = (ms: number) => new Date(ms).toISOString();

export function uploadDeadline(uploadExpiresAtMs: number): string {
  return iso(uploadExpiresAtMs + UPLOAD_GRACE_SECONDS * 1000);
}

/** When a job still waiting for its upload stops holding its slots unless its bundle is in the bucket. */
export function uploadAbandonedAt(uploadExpiresAt: string): number {
  return Date.parse(uploadExpiresAt) + UPLOAD_SLOT_GRACE_SECONDS * 1000;
}

/** The earliest creation time of a job that could be abandoned at `nowMs` (its id encodes when it was created). */
export function abandonedIfCreatedBefore(nowMs: number, limits: ServiceLimits): number {
  return nowMs - (limits.uploadUrlSeconds + UPLOAD_SLOT_GRACE_SECONDS) * 1000;
}

export function validationDeadline(nowMs: number): string {
  return iso(nowMs + VALIDATION_DEADLINE_SECONDS * 1000);
}

export function runDeadline(nowMs: number, limits: ServiceLimits): string {
  return iso(nowMs + (limits.converterTimeoutSeconds + RUN_DEADLINE_MARGIN_SECONDS) * 1000);
}

/** When a CANCELLING job's task must have stopped, whatever happened to the events that report it. */
export function cancelDeadline(nowMs: number): string {
  return iso(nowMs + (TASK_STOP_TIMEOUT_SECONDS + CANCEL_MARGIN_SECONDS) * 1000);
}

export function runnerUrlSeconds(limits: ServiceLimits): number {
  return limits.converterTimeoutSeconds + RUNNER_URL_MARGIN_SECONDS;
}

export function resultExpiry(nowMs: number, limits: ServiceLimits): string {
  return iso(nowMs + limits.resultRetentionDays * 86_400_000);
}

interface DeadlineFields {
  status: JobStatus;
  deadlineAt?: string;
  uploadExpiresAt: string;
  updatedAt: string;
}

/** The job's deadline; jobs written without one fall back to their last update plus the stage's allowance. */
export function deadlineOf(job: DeadlineFields, limits: ServiceLimits): number {
  if (job.deadlineAt) return Date.parse(job.deadlineAt);
  const updated = Date.parse(job.updatedAt);
  switch (job.status) {
    case 'AWAITING_UPLOAD':
      return Date.parse(job.uploadExpiresAt) + UPLOAD_GRACE_SECONDS * 1000;
    case 'VALIDATING':
      return updated + VALIDATION_DEADLINE_SECONDS * 1000;
    case 'QUEUED':
    case 'RUNNING':
      return updated + (limits.converterTimeoutSeconds + RUN_DEADLINE_MARGIN_SECONDS) * 1000;
    case 'CANCELLING':
      return updated + (TASK_STOP_TIMEOUT_SECONDS + CANCEL_MARGIN_SECONDS) * 1000;
    default:
      return Number.POSITIVE_INFINITY;
  }
}
