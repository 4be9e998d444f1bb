/**
 * GET /admin/usage: jobs per principal created in a time range — how many, how they ended, and per UTC day — read
 * from the byCreatedMonth index (one Query, page after page, per month the range touches, newest first; never a
 * Scan), with principals' names from the key registry. Bounded: at most MAX_USAGE_JOBS jobs are counted; a range
 * holding more is answered for its newest part, and the answer's `since` says where the count starts.
 */
import type { AdminUsageResponse, PrincipalUsage } from '../../core/api-schemas';
import type { JobStatus } from '../../core/job-states';
import { PERSON_ID_PREFIX } from '../../core/principal';
import { monthsNewestFirst } from '../../core/time-range';
import type { JobStore, StoredJob } from '../storage/job-store';
import type { KeyRegistry } from '../storage/key-registry';
import { requestRange } from './admin-jobs';

/** Jobs one request counts at most (each Query page is ≤ 1 MB; this keeps the answer within the function's time). */
export const MAX_USAGE_JOBS = 20_000;
/** Items per Query page. */
const PAGE = 1000;
/** Registry lookups (one Query of byPrincipal per principal) in flight at once. */
const NAME_CONCURRENCY = 8;

const OUTCOME: Partial<Record<JobStatus, 'succeeded' | 'failed' | 'rejected' | 'cancelled'>> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  REJECTED: 'rejected',
  CANCELLED: 'cancelled',
};

/** The range's jobs, newest first, at most `max` + 1 of them (the extra one tells that the range holds more). */
async function jobsInRange(store: JobStore, range: { since: string; until: string }, max: number, nowMs: number): Promise<StoredJob[]> {
  const jobs: StoredJob[] = [];
  for (const month of monthsNewestFirst(range)) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const query = { index: 'month' as const, partition: month, since: range.since, until: range.until };
      const page = await store.queryIndex(query, Math.min(PAGE, max + 1 - jobs.length), startKey, nowMs);
      jobs.push(...page.jobs);
      startKey = page.lastKey;
    } while (startKey && jobs.length <= max);
    if (jobs.length > max) break;
  }
  return jobs;
}

export async function principalUsage(
  deps: { store: JobStore; registry: KeyRegistry },
  request: { since?: string; until?: string },
  nowMs: number = Date.now(),
  maxJobs: number = MAX_USAGE_JOBS,
): Promise<AdminUsageResponse> {
  const range = requestRange(request, nowMs);
  let jobs = await jobsInRange(deps.store, range, maxJobs, nowMs);
  let since = range.since;
  if (jobs.length > maxJobs) {
    // Counted exactly from just after the newest job left out: every job of [since, until] is in, none before.
    const boundary = jobs[maxJobs]!.createdAt;
    jobs = jobs.filter((job) => job.createdAt > boundary);
    since = new Date(Date.parse(boundary) + 1).toISOString();
  }
  const byPrincipal = new Map<string, PrincipalUsage & { perDay: Map<string, number> }>();
  for (const job of jobs) {
    let usage = byPrincipal.get(job.owner);
    if (!usage) {
      usage = { principalId: job.owner, jobs: 0, succeeded: 0, failed: 0, rejected: 0, cancelled: 0, days: [], perDay: new Map() };
      byPrincipal.set(job.owner, usage);
    }
    usage.jobs += 1;
    const outcome = OUTCOME[job.status];
    if (outcome) usage[outcome] += 1;
    const day = job.createdAt.slice(0, 10);
    usage.perDay.set(day, (usage.perDay.get(day) ?? 0) + 1);
  }
  const principals = [...byPrincipal.values()].sort((a, b) => b.jobs - a.jobs || (a.principalId < b.principalId ? -1 : 1));
  const names = await namesOf(
    deps.registry,
    principals.map((p) => p.principalId),
  );
  return {
    since,
    until: range.until,
    principals: principals.map(({ perDay, ...usage }) => ({
      ...usage,
      ...names.get(usage.principalId),
      days: [...perDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, count]) => ({ date, jobs: count })),
    })),
  };
}

/** Each principal's name and kind from its newest key; a person (who has no key) gets the kind only. */
async function namesOf(
  registry: KeyRegistry,
  principalIds: readonly string[],
): Promise<Map<string, Pick<PrincipalUsage, 'name' | 'kind'>>> {
  const names = new Map<string, Pick<PrincipalUsage, 'name' | 'kind'>>();
  for (let i = 0; i < principalIds.length; i += NAME_CONCURRENCY) {
    await Promise.all(
      principalIds.slice(i, i + NAME_CONCURRENCY).map(async (principalId) => {
        const [newest] = (await registry.listKeys(principalId)).sort((a, b) => (a.createdAt > b.createdAt ? -1 : 1));
        if (newest) names.set(principalId, { name: newest.name, kind: newest.kind });
        else if (principalId.startsWith(PERSON_ID_PREFIX)) names.set(principalId, { kind: 'person' });
      }),
    );
  }
  return names;
}
