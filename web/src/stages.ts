/**
 * The progress line: Uploading → Validating → Queued → Converting → Done
 * (core/format.ts PROGRESS_STAGES), with where a job stopped when it did not
 * finish, and how long each stage took.
 */
import type { JobView } from '../../core/api-schemas';
import { PROGRESS_STAGES, STATUS_LABELS } from '../../core/format';
import type { JobStatus } from '../../core/job-states';

export type StageState = 'done' | 'current' | 'pending' | 'failed';

export interface StageView {
  label: string;
  state: StageState;
  /** How long the stage took (or has taken so far, for the current one, when known). */
  durationMs?: number;
}

/** "Converting (RUNNING)": the words for people, the state name for support and tests. */
export function statusLine(status: JobStatus): string {
  return `${STATUS_LABELS[status]} (${status})`;
}

const DURATION_OF: (keyof JobView['durationsMs'])[] = ['upload', 'validation', 'queue', 'conversion'];

/** Index of the stage the job reached last (for a finished job: where it stopped). */
function reachedIndex(job: Pick<JobView, 'status' | 'uploadedAt' | 'queuedAt' | 'startedAt' | 'expiredReason'>): number {
  const direct = PROGRESS_STAGES.findIndex((s) => s.status === job.status);
  if (direct >= 0) return direct;
  if (job.status === 'REJECTED') return 1;
  if (job.status === 'EXPIRED' && job.expiredReason === 'RESULT_RETENTION') return 4;
  if (job.startedAt) return 3;
  if (job.queuedAt) return 2;
  if (job.uploadedAt) return 1;
  return 0;
}

export function stagesOf(job: JobView): StageView[] {
  const reached = reachedIndex(job);
  const failed = ['REJECTED', 'FAILED', 'TIMED_OUT', 'EXPIRED'].includes(job.status) && !(job.status === 'EXPIRED' && reached === 4);
  return PROGRESS_STAGES.map((stage, index) => {
    let state: StageState;
    if (index < reached) state = 'done';
    else if (index > reached) state = 'pending';
    else if (job.status === 'SUCCEEDED' || (job.status === 'EXPIRED' && !failed)) state = 'done';
    else if (failed) state = 'failed';
    else if (job.status === 'DELETED' || job.status === 'CANCELLING' || job.status === 'CANCELLED') state = 'pending';
    else state = 'current';
    const key = DURATION_OF[index];
    const durationMs = key !== undefined ? job.durationsMs[key] : undefined;
    return { label: stage.label, state, ...(durationMs !== undefined ? { durationMs } : {}) };
  });
}

/** The stages before a job exists (preparing and uploading the bundle). */
export function uploadingStages(): StageView[] {
  return PROGRESS_STAGES.map((stage, index) => ({ label: stage.label, state: index === 0 ? 'current' : 'pending' }));
}

/**
 * Time since the job was created: the server's total once it is finished,
 * else measured against this machine's clock (never negative, whatever the skew).
 */
export function elapsedMs(job: Pick<JobView, 'createdAt' | 'finishedAt' | 'terminal' | 'durationsMs'>, nowMs: number): number {
  const created = Date.parse(job.createdAt);
  if (job.terminal) {
    if (job.durationsMs.total !== undefined) return job.durationsMs.total;
    if (job.finishedAt) return Math.max(0, Date.parse(job.finishedAt) - created);
  }
  return Math.max(0, nowMs - created);
}
