/**
 * Item layout of the one jobs table (partition key `pk` only):
 *   JOB#<jobId>            a job (JobRecord + bookkeeping); carries `owner` + `createdAt`, so it is in the byOwner GSI
 *   CAP#GLOBAL             global capacity ledger: inFlight (N) + holders (SS of job ids)
 *   CAP#OWNER#<apiKeyId>   per-key capacity ledger, same shape
 *   IDEM#<apiKeyId>#<hash> idempotency record: jobId, requestHash, expiresAt
 *   WEBHOOK#<principal>    webhook settings: default URL, signing secret(s) (storage/webhook-settings.ts)
 * Only job items have `owner` and `createdAt`, so nothing else reaches the byOwner GSI; only job items
 * with a callback carry `webhookQueue`, and only once terminal `webhookAt`, so only they reach byWebhookDue.
 */
import { createHash } from 'node:crypto';

// The capacity ledgers' keys belong to the reaper's capacity plan, which must name the ledgers it expects.
export { CAPACITY_PREFIX, globalCapacityPk, ownerCapacityPk } from '../decisions/capacity-plan';

export const JOB_PREFIX = 'JOB#';
export const IDEMPOTENCY_PREFIX = 'IDEM#';

export const jobPk = (jobId: string) => `${JOB_PREFIX}${jobId}`;
/** The client's key is hashed: it is arbitrary text and may be long. */
export const idempotencyPk = (owner: string, key: string) =>
  `${IDEMPOTENCY_PREFIX}${owner}#${createHash('sha256').update(key).digest('hex')}`;

export const epochSeconds = (ms: number) => Math.floor(ms / 1000);
