/**
 * A signed-in person's jobs, from `GET /jobs`: the principal's jobs from any browser, newest first, a page at a time
 * (nextToken). Jobs this page creates or follows are merged in at once, so the list never waits for a reload.
 * Only for people: the shared anonymous key cannot list (recent-jobs.ts keeps that list in this browser).
 */
import type { ApiClient } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { MAX_RECENT_JOBS, type RecentJob } from './recent-jobs';

export interface AccountJobsState {
  readonly jobs: readonly RecentJob[];
  /** More jobs are on the server. */
  readonly more: boolean;
  readonly loading: boolean;
  /** The last load failed: what to show (the list keeps what it had). */
  readonly error?: unknown;
  /** At least one page arrived. */
  readonly loaded: boolean;
}

type Lister = Pick<ApiClient, 'listJobs'>;

export class AccountJobs {
  private jobs: RecentJob[] = [];
  private nextToken?: string;
  private loading = false;
  private loaded = false;
  private error?: unknown;
  /** Bumped by reset(): a page that arrives for an earlier list (another person, a sign-out) is dropped. */
  private generation = 0;

  constructor(
    private readonly client: Lister,
    private readonly onChange: (state: AccountJobsState) => void,
    private readonly pageSize = MAX_RECENT_JOBS,
  ) {}

  get state(): AccountJobsState {
    return { jobs: this.jobs, more: this.nextToken !== undefined, loading: this.loading, loaded: this.loaded, error: this.error };
  }

  /** The first page again (on sign-in, or "Refresh"). */
  async load(): Promise<void> {
    this.nextToken = undefined;
    await this.fetchPage(true);
  }

  /** The next page, appended. */
  async loadMore(): Promise<void> {
    if (this.nextToken === undefined || this.loading) return;
    await this.fetchPage(false);
  }

  /** A job this page created or followed: updated in place, or put first when new. */
  upsert(job: Pick<JobView, 'jobId' | 'workflowName' | 'createdAt' | 'status'>): void {
    const entry: RecentJob = { jobId: job.jobId, workflowName: job.workflowName, createdAt: job.createdAt, status: job.status };
    const index = this.jobs.findIndex((j) => j.jobId === entry.jobId);
    if (index >= 0 && sameJob(this.jobs[index]!, entry)) return;
    this.jobs = index >= 0 ? this.jobs.map((j, i) => (i === index ? entry : j)) : [entry, ...this.jobs];
    this.onChange(this.state);
  }

  /** Forgets everything (sign-out): nothing of one person's list stays for the next. */
  reset(): void {
    this.generation++;
    this.jobs = [];
    this.nextToken = undefined;
    this.loading = false;
    this.loaded = false;
    this.error = undefined;
    this.onChange(this.state);
  }

  private async fetchPage(first: boolean): Promise<void> {
    const generation = this.generation;
    this.loading = true;
    this.error = undefined;
    this.onChange(this.state);
    try {
      const page = await this.client.listJobs({ limit: this.pageSize, ...(first ? {} : { nextToken: this.nextToken }) });
      if (generation !== this.generation) return;
      const fetched = page.jobs.map((j) => ({ jobId: j.jobId, workflowName: j.workflowName, createdAt: j.createdAt, status: j.status }));
      // Jobs created here while the page was on its way stay; the server's view of a job wins.
      const known = new Set(fetched.map((j) => j.jobId));
      const kept = first
        ? this.jobs.filter((j) => !known.has(j.jobId) && (fetched.length === 0 || j.createdAt > fetched[0]!.createdAt))
        : [];
      const rest = first ? [] : this.jobs.filter((j) => !known.has(j.jobId));
      this.jobs = [...kept, ...rest, ...fetched];
      this.nextToken = page.nextToken;
      this.loaded = true;
    } catch (error) {
      if (generation !== this.generation) return;
      this.error = error;
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.onChange(this.state);
      }
    }
  }
}

function sameJob(a: RecentJob, b: RecentJob): boolean {
  return a.status === b.status && a.workflowName === b.workflowName && a.createdAt === b.createdAt;
}
