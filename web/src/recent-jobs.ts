/**
 * Recent jobs, kept in this browser's localStorage: the web key's usage plan
 * blocks GET /jobs (everyone shares that key), so the page remembers its own
 * jobs. Only ids, names, times and states are stored: never file contents.
 */
import { JOB_ID_PATTERN } from '../../core/api-schemas';
import { isJobStatus, type JobStatus } from '../../core/job-states';

export const RECENT_JOBS_KEY = 'k2p-web.recent-jobs.v1';
export const MAX_RECENT_JOBS = 12;

export interface RecentJob {
  jobId: string;
  workflowName: string;
  createdAt: string;
  status: JobStatus;
}

/** The part of the Web Storage API used here (tests pass a Map-backed one). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function isRecentJob(value: unknown): value is RecentJob {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.jobId === 'string' &&
    JOB_ID_PATTERN.test(v.jobId) &&
    typeof v.workflowName === 'string' &&
    typeof v.createdAt === 'string' &&
    isJobStatus(v.status)
  );
}

export class RecentJobs {
  constructor(private readonly store: KeyValueStore | undefined) {}

  /** Newest first; anything unreadable (another version, a hand edit) is dropped rather than trusted. */
  list(): RecentJob[] {
    let raw: string | null;
    try {
      raw = this.store?.getItem(RECENT_JOBS_KEY) ?? null;
    } catch {
      return []; // Storage disabled (privacy mode): the page works without the list.
    }
    if (raw === null) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter(isRecentJob).slice(0, MAX_RECENT_JOBS) : [];
    } catch {
      return [];
    }
  }

  /** Adds the job or updates it in place; keeps the newest MAX_RECENT_JOBS. */
  remember(job: RecentJob): RecentJob[] {
    const jobs = this.list();
    const index = jobs.findIndex((j) => j.jobId === job.jobId);
    const next = index >= 0 ? jobs.map((j, i) => (i === index ? { ...job } : j)) : [{ ...job }, ...jobs];
    return this.save(next.slice(0, MAX_RECENT_JOBS));
  }

  /** Updates the state of a job already listed (no-op otherwise). */
  updateStatus(jobId: string, status: JobStatus): RecentJob[] {
    const jobs = this.list();
    if (!jobs.some((j) => j.jobId === jobId && j.status !== status)) return jobs;
    return this.save(jobs.map((j) => (j.jobId === jobId ? { ...j, status } : j)));
  }

  forget(jobId: string): RecentJob[] {
    return this.save(this.list().filter((j) => j.jobId !== jobId));
  }

  clear(): void {
    try {
      this.store?.removeItem(RECENT_JOBS_KEY);
    } catch {
      // Nothing to clear when storage is unavailable.
    }
  }

  private save(jobs: RecentJob[]): RecentJob[] {
    try {
      this.store?.setItem(RECENT_JOBS_KEY, JSON.stringify(jobs));
    } catch {
      // Quota or privacy mode: the list is a convenience, the job itself is in the URL.
    }
    return jobs;
  }
}
