/**
 * How k2p-web shows things to people, the same words in the CLI and on the
 * web page: job-state labels and the progress stages, plurals, durations and
 * byte sizes. Browser-safe.
 */
import type { JobStatus } from './job-states';

/** Every job state in words (the state names stay visible next to them for support and tests). */
export const STATUS_LABELS: Readonly<Record<JobStatus, string>> = {
  AWAITING_UPLOAD: 'Uploading',
  VALIDATING: 'Validating',
  QUEUED: 'Queued',
  RUNNING: 'Converting',
  SUCCEEDED: 'Done',
  REJECTED: 'Rejected',
  FAILED: 'Failed',
  TIMED_OUT: 'Timed out',
  EXPIRED: 'Expired',
  DELETED: 'Deleted',
  CANCELLING: 'Cancelling',
  CANCELLED: 'Cancelled',
};

/** The stages the web page and CLI show, in order: a job's way to SUCCEEDED. */
export const PROGRESS_STAGES: readonly { status: JobStatus; label: string }[] = (
  ['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'RUNNING', 'SUCCEEDED'] as const
).map((status) => ({ status, label: STATUS_LABELS[status] }));

export function statusLabel(status: JobStatus): string {
  return STATUS_LABELS[status];
}

/** "1 file", "2 files", "1,200 nodes"; `pluralWord` for irregular words. */
export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? word : pluralWord}`;
}

/** "0.4 s", "12 s", "3 min 05 s", "1 h 03 min": short enough for a status line (negative clock skew shows as 0). */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 10_000) return `${(safe / 1000).toFixed(1)} s`;
  const seconds = Math.round(safe / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Byte sizes for messages (binary units, one decimal). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
