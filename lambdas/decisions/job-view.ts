/**
 * The job as a client sees it (GET /jobs/{id}, lists, POST and DELETE
 * answers): no owner, no bookkeeping, durations computed, error hints added.
 */
import type { JobView } from '../../core/api-schemas';
import { DEFAULT_WORKFLOW_NAME } from '../../core/api-schemas';
import { ERRORS, isErrorCode } from '../../core/errors';
import { isTerminal, type JobStatus } from '../../core/job-states';
import type { JobRecord } from '../../core/types';
import { PENDING_DELIVERY } from './webhooks';

/** What the view reads: the shared record plus why an EXPIRED job expired (a stored job is one). */
export type ViewedJob = JobRecord & Pick<JobView, 'expiredReason'>;

/** Seconds between status polls worth making, per non-terminal status. */
const POLL_AFTER_SECONDS: Partial<Record<JobStatus, number>> = {
  AWAITING_UPLOAD: 5,
  VALIDATING: 2,
  QUEUED: 5,
  RUNNING: 5,
  CANCELLING: 2,
};

export function pollAfterSeconds(status: JobStatus): number | undefined {
  return isTerminal(status) ? undefined : (POLL_AFTER_SECONDS[status] ?? 5);
}

function between(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export function toJobView(job: ViewedJob): JobView {
  const terminal = isTerminal(job.status);
  const view: JobView = {
    jobId: job.jobId,
    status: job.status,
    terminal,
    workflowName: job.workflowName ?? DEFAULT_WORKFLOW_NAME,
    filename: job.filename,
    options: job.options,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    uploadedAt: job.uploadedAt,
    queuedAt: job.queuedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    uploadExpiresAt: job.status === 'AWAITING_UPLOAD' ? job.uploadExpiresAt : undefined,
    durationsMs: {
      upload: between(job.createdAt, job.uploadedAt),
      validation: between(job.uploadedAt, job.queuedAt),
      queue: between(job.queuedAt, job.startedAt),
      conversion: between(job.startedAt, job.status === 'RUNNING' ? undefined : job.finishedAt),
      total: between(job.createdAt, job.finishedAt),
    },
    expiredReason: job.status === 'EXPIRED' ? job.expiredReason : undefined,
    retryAfterSeconds: pollAfterSeconds(job.status),
  };
  if (job.bundle) {
    const { entries, files, zipBytes, unpackedBytes, sha256, nodes, referencedSettings, nestedWorkflows } = job.bundle;
    view.bundle = { entries, files, zipBytes, unpackedBytes, sha256, nodes, referencedSettings, nestedWorkflows: nestedWorkflows ?? [] };
  }
  if (job.error) {
    view.error = {
      code: job.error.code,
      message: job.error.message,
      hint: isErrorCode(job.error.code) ? ERRORS[job.error.code].hint : undefined,
      details: job.error.details,
    };
  }
  if (job.result && job.status === 'SUCCEEDED') {
    view.result = {
      ...job.result,
      expiresAt: job.resultExpiresAt,
      downloadPath: `/jobs/${job.jobId}/result`,
    };
  }
  if (job.callback) view.webhook = { url: job.callback.url, ...(job.webhook ?? PENDING_DELIVERY) };
  if (job.converter) view.converter = { image: job.converter.image ?? null, version: job.converter.version ?? null };
  return stripUndefined(view);
}

function stripUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[key] = v && typeof v === 'object' && !Array.isArray(v) ? stripUndefined(v as object) : v;
  }
  return out as T;
}
