/**
 * Which index serves an admin job listing, from its filters: every listing is a Query of index partitions over the
 * createdAt range, never a Scan. The most selective key wins — error code (sparse), then owner, then state — and the
 * remaining filters narrow the Query; with none, the month partitions the range touches are read newest first.
 */
import type { JobStatus } from '../../core/job-states';
import { monthsNewestFirst, type TimeRange } from '../../core/time-range';

/** The job table indexes a listing can read (storage/job-store.ts JOB_INDEXES names them). */
export type JobIndex = 'status' | 'code' | 'owner' | 'month';
/** Attribute equalities applied after the key condition. */
export type IndexFilter = Partial<Record<'status' | 'errorCode' | 'owner', string>>;

export interface AdminJobFilters {
  state?: JobStatus;
  code?: string;
  owner?: string;
}

export interface ListingPlan {
  index: JobIndex;
  /** The partitions to read, in order (several only for the month index). */
  partitions: string[];
  filter: IndexFilter;
}

export function listingPlan(filters: AdminJobFilters, range: TimeRange): ListingPlan {
  const { state, code, owner } = filters;
  if (code !== undefined) return { index: 'code', partitions: [code], filter: { status: state, owner } };
  if (owner !== undefined) return { index: 'owner', partitions: [owner], filter: { status: state } };
  if (state !== undefined) return { index: 'status', partitions: [state], filter: {} };
  return { index: 'month', partitions: monthsNewestFirst(range), filter: {} };
}
