/**
 * Item layout of the one jobs table (partition key `pk` only):
 *   JOB#<jobId>            a job (JobRecord + bookkeeping); carries `owner` + `createdAt`, so it is in the byOwner GSI
 *   CAP#GLOBAL             global capacity ledger: inFlight (N) + holders (SS of job ids)
 *   CAP#OWNER#<apiKeyId>   per-key capacity ledger, same shape
 *   IDEM#<apiKeyId>#<hash> idempotency record: jobId, requestHash, expiresAt
 * Only job items have `owner` and `createdAt`, so nothing else reaches the GSI.
 */
import { createHash } from 'node:crypto';

export const JOB_PREFIX = 'JOB#';
export const CAPACITY_PREFIX = 'CAP#';
export const IDEMPOTENCY_PREFIX = 'IDEM#';

export const jobPk = (jobId: string) => `${JOB_PREFIX}${jobId}`;
export const globalCapacityPk = () => `${CAPACITY_PREFIX}GLOBAL`;
export const ownerCapacityPk = (owner: string) => `${CAPACITY_PREFIX}OWNER#${owner}`;
/** The client's key is hashed: it is arbitrary text and may be long. */
export const idempotencyPk = (owner: string, key: string) =>
  `${IDEMPOTENCY_PREFIX}${owner}#${createHash('sha256').update(key).digest('hex')}`;

export const epochSeconds = (ms: number) => Math.floor(ms / 1000);
