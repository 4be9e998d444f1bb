/**
 * Idempotency-Key for POST /jobs: the same key from the same API key within
 * the window returns the same job. The record is claimed with a conditional
 * put *before* admission, so two concurrent requests with one key cannot both
 * create a job; a request whose admission fails forgets its claim so the
 * client can retry with the same key.
 */
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';
import { epochSeconds, idempotencyPk } from './table-keys';

export interface IdempotencyRecord {
  jobId: string;
  requestHash: string;
  createdAt: string;
  expiresAt: number;
}

export type ClaimResult = { claimed: true } | { claimed: false; record: IdempotencyRecord };

/** Stable hash of a request (keys sorted), to tell a replay from a different request reusing a key. */
export function requestHash(request: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => [k, canonical(v)]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(request)))
    .digest('hex');
}

export class IdempotencyStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Claims `key` for `jobId` unless a live record exists (then returns it). */
  async claim(owner: string, key: string, jobId: string, hash: string, nowMs: number, ttlSeconds: number): Promise<ClaimResult> {
    const record: IdempotencyRecord = {
      jobId,
      requestHash: hash,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: epochSeconds(nowMs) + ttlSeconds,
    };
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: idempotencyPk(owner, key), ...record },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': epochSeconds(nowMs) },
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(owner, key, nowMs);
    // Expired between the put and the read: try once more.
    if (!existing) return this.claim(owner, key, jobId, hash, nowMs, ttlSeconds);
    return { claimed: false, record: existing };
  }

  async get(owner: string, key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: idempotencyPk(owner, key) }, ConsistentRead: true }),
    );
    const item = out.Item as (IdempotencyRecord & { pk: string }) | undefined;
    if (!item || item.expiresAt < epochSeconds(nowMs)) return undefined;
    return { jobId: item.jobId, requestHash: item.requestHash, createdAt: item.createdAt, expiresAt: item.expiresAt };
  }

  /** Replaces a stale claim (its job never appeared) with ours; false if someone else changed it first. */
  async takeOver(
    owner: string,
    key: string,
    staleJobId: string,
    jobId: string,
    hash: string,
    nowMs: number,
    ttlSeconds: number,
  ): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: idempotencyPk(owner, key),
            jobId,
            requestHash: hash,
            createdAt: new Date(nowMs).toISOString(),
            expiresAt: epochSeconds(nowMs) + ttlSeconds,
          },
          ConditionExpression: 'jobId = :stale',
          ExpressionAttributeValues: { ':stale': staleJobId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Drops our claim (admission failed), only if it is still ours. */
  async forget(owner: string, key: string, jobId: string): Promise<void> {
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: idempotencyPk(owner, key) },
          ConditionExpression: 'jobId = :job',
          ExpressionAttributeValues: { ':job': jobId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
