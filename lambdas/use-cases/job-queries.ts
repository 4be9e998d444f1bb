/**
 * Reading jobs for their owner: one job, a page of jobs, the result link.
 * A job of another API key is indistinguishable from a missing one (404).
 */
import * as z from 'zod/mini';
import { JOB_ID_PATTERN, TimestampSchema } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import type { JobStore, StoredJob } from '../storage/job-store';
import { pollAfterSeconds } from '../decisions/job-view';
import { decodePageToken, encodePageToken, invalidPageToken } from '../decisions/page-token';
import { JOB_PREFIX } from '../storage/table-keys';

const JOB_PK_PATTERN = new RegExp(`^${JOB_PREFIX}${JOB_ID_PATTERN.source.slice(1)}`);

export async function requireOwnedJob(store: JobStore, jobId: string, owner: string, nowMs: number = Date.now()): Promise<StoredJob> {
  const job = await store.getOwned(jobId, owner, nowMs);
  if (!job) throw new DomainError('NOT_FOUND');
  return job;
}

/** Opaque pagination token: the GSI position, base64url JSON. It is only ever used with the caller's own owner key condition. */
export function encodeNextToken(lastKey: Record<string, unknown> | undefined): string | undefined {
  return encodePageToken(lastKey);
}

/**
 * A token decodes to exactly the key DynamoDB returned (job pk, ISO createdAt, the caller's owner) or is refused
 * with 400: a hand-made key with empty or odd fields would otherwise reach DynamoDB and fail there (500).
 */
const NextTokenKeySchema = z.strictObject({
  pk: z.string().check(z.regex(JOB_PK_PATTERN)),
  createdAt: TimestampSchema,
  owner: z.string().check(z.minLength(1)),
});

export function decodeNextToken(token: string | undefined, owner: string): Record<string, unknown> | undefined {
  if (!token) return undefined;
  const parsed = NextTokenKeySchema.safeParse(decodePageToken(token));
  if (!parsed.success || parsed.data.owner !== owner) throw invalidPageToken();
  return parsed.data;
}

export async function listOwnedJobs(
  store: JobStore,
  owner: string,
  limit: number,
  token: string | undefined,
  nowMs: number = Date.now(),
): Promise<{ jobs: StoredJob[]; nextToken?: string }> {
  const page = await store.listByOwner(owner, limit, decodeNextToken(token, owner), nowMs);
  return { jobs: page.jobs, nextToken: encodeNextToken(page.lastKey) };
}

export type ResultAvailability = { kind: 'ready' } | { kind: 'gone' } | { kind: 'not-ready'; message: string };

/** Whether the job's result can be downloaded now. */
export function resultAvailability(job: StoredJob, nowMs: number): ResultAvailability {
  if (job.status === 'SUCCEEDED') {
    const expires = job.resultExpiresAt ? Date.parse(job.resultExpiresAt) : Number.POSITIVE_INFINITY;
    return expires > nowMs ? { kind: 'ready' } : { kind: 'gone' };
  }
  if (job.status === 'EXPIRED' || job.status === 'DELETED') return { kind: 'gone' };
  if (job.status === 'REJECTED' || job.status === 'FAILED' || job.status === 'TIMED_OUT') {
    return { kind: 'not-ready', message: `The job ended ${job.status}; it has no result.` };
  }
  return { kind: 'not-ready', message: 'The result is not ready yet.' };
}

/** Throws RESULT_GONE (410) or RESULT_NOT_READY (409, with Retry-After while the job moves) unless the result can be downloaded. */
export function requireResult(job: StoredJob, nowMs: number): void {
  const availability = resultAvailability(job, nowMs);
  if (availability.kind === 'gone') throw new DomainError('RESULT_GONE');
  if (availability.kind === 'not-ready') {
    throw new DomainError('RESULT_NOT_READY', availability.message, {
      details: { status: job.status },
      retryAfterSeconds: pollAfterSeconds(job.status),
    });
  }
}
