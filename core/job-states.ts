/**
 * Job lifecycle (docs/architecture.md "Job lifecycle"). Every transition is a
 * conditional write, so this table is the single source of truth for which
 * moves are legal; nothing may move a job backwards or out of a terminal state.
 */
export const JOB_STATUSES = [
  'AWAITING_UPLOAD',
  'VALIDATING',
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'REJECTED',
  'FAILED',
  'TIMED_OUT',
  'EXPIRED',
  'DELETED',
  // Cancel accepted while the task runs: still holds its slot until the task has really stopped.
  'CANCELLING',
  'CANCELLED',
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'SUCCEEDED',
  'REJECTED',
  'FAILED',
  'TIMED_OUT',
  'EXPIRED',
  'DELETED',
  'CANCELLED',
]);

/** Statuses that hold an admission slot (counted against the in-flight limits). */
export const IN_FLIGHT_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'AWAITING_UPLOAD',
  'VALIDATING',
  'QUEUED',
  'RUNNING',
  'CANCELLING',
]);

const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // No task runs before RUNNING, so a cancel there ends the job at once (QUEUED races PrepareRun's conditional write).
  AWAITING_UPLOAD: ['VALIDATING', 'EXPIRED', 'DELETED', 'FAILED', 'CANCELLED'],
  VALIDATING: ['QUEUED', 'REJECTED', 'FAILED', 'DELETED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'FAILED', 'TIMED_OUT', 'DELETED', 'CANCELLED'],
  // A running job is never DELETED directly: DELETE cancels first (CANCELLING with deleteRequested).
  RUNNING: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLING'],
  // Left only once the task has stopped (task-stopped event, RecordOutcome or the reaper).
  CANCELLING: ['CANCELLED', 'DELETED'],
  CANCELLED: ['DELETED'],
  // A result removed by retention turns SUCCEEDED into EXPIRED; users may still delete.
  SUCCEEDED: ['EXPIRED', 'DELETED'],
  REJECTED: ['DELETED'],
  FAILED: ['DELETED'],
  TIMED_OUT: ['DELETED'],
  EXPIRED: ['DELETED'],
  DELETED: [],
};

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export function isInFlight(status: JobStatus): boolean {
  return IN_FLIGHT_STATUSES.has(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a job may be in for a move to `to` to be legal (used to build DynamoDB conditions). */
export function allowedPredecessors(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}
