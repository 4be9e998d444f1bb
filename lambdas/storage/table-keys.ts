/**
 * Item layout of the one jobs table (partition key `pk` only):
 *   JOB#<jobId>            a job (JobRecord + bookkeeping); carries `owner` + `createdAt`, so it is in the byOwner GSI
 *   CAP#GLOBAL             global capacity ledger: inFlight (N) + holders (SS of job ids)
 *   CAP#OWNER#<principal>  per-principal capacity ledger, same shape
 *   DAY#<principal>#<date> per-principal daily count (UTC date): admitted (N) + jobs (SS) + expiresAt (TTL)
 *   IDEM#<apiKeyId>#<hash> idempotency record: jobId, requestHash, expiresAt
 *   WEBHOOK#<principal>    webhook settings: default URL, signing secret(s) (storage/webhook-settings.ts)
 * Only job items have `owner` and `createdAt`, so nothing else reaches the byOwner GSI; only job items
 * with a callback carry `webhookQueue`, and only once terminal `webhookAt`, so only they reach byWebhookDue.
 * The admin indexes (all keyed by createdAt, so again job items only):
 *   byStatus        every job, partition `status` (a status move moves it; the job store writes nothing extra);
 *   byErrorCode     only jobs with an `error`: `errorCode` mirrors error.code (job-store.ts sets and removes it with `error`);
 *   byCreatedMonth  every job created since the index exists: `createdMonth` (YYYY-MM of createdAt) is set at creation.
 * Idempotency records carry `createdAt` but no `status`, `owner`, `errorCode` or `createdMonth`, so they reach none.
 * Admin actions are audited in their own table (service-env.ts AUDIT_TABLE), not here.
 */
import { createHash } from 'node:crypto';

// The capacity ledgers' keys belong to the reaper's capacity plan, which must name the ledgers it expects.
export { CAPACITY_PREFIX, globalCapacityPk, ownerCapacityPk } from '../decisions/capacity-plan';

export const JOB_PREFIX = 'JOB#';
export const DAILY_PREFIX = 'DAY#';
export const IDEMPOTENCY_PREFIX = 'IDEM#';

export const jobPk = (jobId: string) => `${JOB_PREFIX}${jobId}`;
/** Not under CAP#: the reaper's ledger repair must not take a day's count for slots. */
export const dailyCountPk = (owner: string, day: string) => `${DAILY_PREFIX}${owner}#${day}`;
/** The client's key is hashed: it is arbitrary text and may be long. */
export const idempotencyPk = (owner: string, key: string) =>
  `${IDEMPOTENCY_PREFIX}${owner}#${createHash('sha256').update(key).digest('hex')}`;

export const epochSeconds = (ms: number) => Math.floor(ms / 1000);
