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
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'SUCCEEDED',
  'REJECTED',
  'FAILED',
  'TIMED_OUT',
  'EXPIRED',
  'DELETED',
]);

/** Statuses that hold an admission slot (counted against the in-flight limits). */
export const IN_FLIGHT_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'RUNNING']);

const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  AWAITING_UPLOAD: ['VALIDATING', 'EXPIRED', 'DELETED', 'FAILED'],
  VALIDATING: ['QUEUED', 'REJECTED', 'FAILED', 'DELETED'],
  QUEUED: ['RUNNING', 'FAILED', 'TIMED_OUT', 'DELETED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'DELETED'],
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
