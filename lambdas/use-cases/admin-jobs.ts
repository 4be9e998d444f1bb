/**
 * What admins read about jobs across all owners: a filtered page, counts by state and by code, one job in full.
 * Every read is a Query of an index over the createdAt range (decisions/admin-listing.ts), never a Scan; reading is
 * not audited.
 */
import * as z from 'zod/mini';
import type { AdminJobCountsResponse, AdminJobDetail, AdminJobView } from '../../core/api-schemas';
import { JOB_ID_PATTERN } from '../../core/api-schemas';
import { DomainError, ERROR_CODES, errorFamily } from '../../core/errors';
import { JOB_STATUSES, type JobStatus } from '../../core/job-states';
import { resolveTimeRange, TimeRangeError, type TimeRange } from '../../core/time-range';
import { listingPlan, type AdminJobFilters, type ListingPlan } from '../decisions/admin-listing';
import { toJobView } from '../decisions/job-view';
import { decodePageToken, encodePageToken, invalidPageToken } from '../decisions/page-token';
import type { JobObjects } from '../storage/job-objects';
import { indexKeyOf, JOB_INDEXES, type JobHistoryEntry, type JobStore, type StoredJob } from '../storage/job-store';
import { JOB_PREFIX } from '../storage/table-keys';

/** Queries one request may make to fill a filtered page: a sparse filter answers a short page with a nextToken instead. */
const MAX_QUERIES_PER_PAGE = 8;
/** Items read per Query when a filter may drop some (a page is cut at `limit`, its token taken from the last job kept). */
const FILTERED_READ = 100;
/** Counting Queries in flight at once. */
const COUNT_CONCURRENCY = 6;

/** Codes a job record can carry (bundle and conversion families; API codes are answers, never a job's error). */
export const JOB_ERROR_CODES = ERROR_CODES.filter((code) => errorFamily(code) !== 'api');

/** The range a request names; a bad bound is 400 INVALID_REQUEST naming the field. */
export function requestRange(query: { since?: string; until?: string }, nowMs: number): TimeRange {
  try {
    return resolveTimeRange(query, nowMs);
  } catch (error) {
    if (!(error instanceof TimeRangeError)) throw error;
    throw new DomainError('INVALID_REQUEST', error.message, { details: { field: error.field } });
  }
}

export function toAdminJobView(job: StoredJob): AdminJobView {
  return { ...toJobView(job), owner: job.owner };
}

// ---------------------------------------------------------------- paging token

const JOB_PK_PATTERN = new RegExp(`^${JOB_PREFIX}${JOB_ID_PATTERN.source.slice(1)}`);

/** Where the next page starts: the partition being read and, unless it starts there, the index key to start after. */
interface Cursor {
  p: string;
  k?: Record<string, unknown>;
}

export function encodeCursor(cursor: Cursor | undefined): string | undefined {
  return encodePageToken(cursor);
}

/**
 * A token is accepted only for the listing that made it: its partition is one this plan reads, and its key is exactly
 * an index key of that partition inside the range (anything else would reach DynamoDB and fail there, a 500).
 */
export function decodeCursor(token: string | undefined, plan: ListingPlan, range: TimeRange): Cursor | undefined {
  if (!token) return undefined;
  const raw = decodePageToken(token);
  const attribute = JOB_INDEXES[plan.index].partitionKey;
  const schema = z.strictObject({
    p: z.string(),
    k: z.optional(z.strictObject({ pk: z.string().check(z.regex(JOB_PK_PATTERN)), createdAt: z.string(), [attribute]: z.string() })),
  });
  const parsed = schema.safeParse(raw);
  if (!parsed.success || !plan.partitions.includes(parsed.data.p)) throw invalidPageToken();
  const key = parsed.data.k as Record<string, string> | undefined;
  const createdAt = key?.createdAt ?? '';
  if (key && (key[attribute] !== parsed.data.p || createdAt < range.since || createdAt > range.until)) throw invalidPageToken();
  return parsed.data as Cursor;
}

// ---------------------------------------------------------------- listing

export interface AdminJobPage {
  jobs: StoredJob[];
  nextToken?: string;
  range: TimeRange;
}

export async function listAdminJobs(
  store: JobStore,
  request: AdminJobFilters & { since?: string; until?: string; limit: number; nextToken?: string },
  nowMs: number = Date.now(),
): Promise<AdminJobPage> {
  const range = requestRange(request, nowMs);
  const plan = listingPlan(request, range);
  const filtered = Object.values(plan.filter).some((value) => value !== undefined);
  let cursor: Cursor | undefined = decodeCursor(request.nextToken, plan, range) ?? { p: plan.partitions[0]! };
  const jobs: StoredJob[] = [];
  for (let queries = 0; cursor && jobs.length < request.limit && queries < MAX_QUERIES_PER_PAGE; queries++) {
    const wanted = request.limit - jobs.length;
    const query = { index: plan.index, partition: cursor.p, since: range.since, until: range.until, filter: plan.filter };
    const page = await store.queryIndex(query, filtered ? Math.max(wanted, FILTERED_READ) : wanted, cursor.k, nowMs);
    if (page.jobs.length > wanted) {
      const kept = page.jobs.slice(0, wanted);
      jobs.push(...kept);
      cursor = { p: cursor.p, k: indexKeyOf(plan.index, kept[kept.length - 1]!) };
      break;
    }
    jobs.push(...page.jobs);
    cursor = page.lastKey ? { p: cursor.p, k: page.lastKey } : nextPartition(plan, cursor.p);
  }
  return { jobs, nextToken: encodeCursor(cursor), range };
}

function nextPartition(plan: ListingPlan, partition: string): Cursor | undefined {
  const next = plan.partitions[plan.partitions.indexOf(partition) + 1];
  return next === undefined ? undefined : { p: next };
}

// ---------------------------------------------------------------- counts

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return results;
}

/**
 * Counts of the jobs created in the range, by state and by error code: one COUNT Query per state partition of
 * byStatus and per code partition of byErrorCode. Exact at the time of asking, with no counters to keep right on
 * every write; it reads the range's index entries, which an occasional admin question can afford.
 */
export async function countAdminJobs(
  store: JobStore,
  request: { since?: string; until?: string },
  nowMs: number = Date.now(),
): Promise<AdminJobCountsResponse> {
  const range = requestRange(request, nowMs);
  const count = (index: 'status' | 'code', partition: string) =>
    store.countIndex({ index, partition, since: range.since, until: range.until }, nowMs);
  const states = await inBatches(JOB_STATUSES, COUNT_CONCURRENCY, (status) => count('status', status));
  const codes = await inBatches(JOB_ERROR_CODES, COUNT_CONCURRENCY, (code) => count('code', code));
  const byState = Object.fromEntries(JOB_STATUSES.map((status, i) => [status, states[i]!])) as Record<JobStatus, number>;
  const byCode = Object.fromEntries(JOB_ERROR_CODES.map((code, i) => [code, codes[i]!]).filter(([, n]) => (n as number) > 0));
  return { since: range.since, until: range.until, total: states.reduce((a, b) => a + b, 0), byState, byCode };
}

// ---------------------------------------------------------------- one job

/** The timeline of a job stored before history was kept, from its timestamps. */
function historyFromTimestamps(job: StoredJob): JobHistoryEntry[] {
  const entries: [JobStatus, string | undefined][] = [
    ['AWAITING_UPLOAD', job.createdAt],
    ['VALIDATING', job.uploadedAt],
    ['QUEUED', job.queuedAt],
    ['RUNNING', job.startedAt],
    ['CANCELLING', job.cancelRequestedAt],
  ];
  const timeline = entries.filter((entry): entry is [JobStatus, string] => entry[1] !== undefined).map(([status, at]) => ({ status, at }));
  if (!timeline.some((entry) => entry.status === job.status)) timeline.push({ status: job.status, at: job.finishedAt ?? job.updatedAt });
  return timeline;
}

function verdictOf(job: StoredJob): AdminJobDetail['validation']['verdict'] {
  if (job.status === 'REJECTED') return 'rejected';
  if (job.queuedAt || job.bundle) return 'accepted';
  return 'pending';
}

export async function adminJobDetail(
  store: JobStore,
  objects: JobObjects,
  jobId: string,
  nowMs: number = Date.now(),
): Promise<AdminJobDetail> {
  const job = await store.get(jobId, nowMs);
  if (!job) throw new DomainError('NOT_FOUND');
  const view = toAdminJobView(job);
  const logBytes = await objects.size(jobId, 'log');
  const verdict = verdictOf(job);
  return {
    job: view,
    history: job.history?.length ? job.history : historyFromTimestamps(job),
    validation: { verdict, bundle: view.bundle, error: verdict === 'rejected' ? view.error : undefined },
    converter: view.converter ?? null,
    report: view.result ?? null,
    log: { available: logBytes !== undefined, ...(logBytes !== undefined ? { bytes: logBytes } : {}) },
    cancelRequestedAt: job.cancelRequestedAt,
    deletedAt: job.deletedAt,
    deadlineAt: job.deadlineAt,
  };
}
