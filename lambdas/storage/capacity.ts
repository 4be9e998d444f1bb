/**
 * Admission control without transactions. Each scope (global, per API key) is
 * one ledger item holding `inFlight` and the set of job ids holding a slot
 * (`holders`). Acquiring is one conditional update (`inFlight < limit AND job
 * not yet a holder`, then ADD 1 and the id); releasing is one conditional
 * update (`job is a holder`, then ADD -1 and DELETE the id). So:
 *   - concurrent admissions never exceed a limit (DynamoDB serialises writes to an item);
 *   - releasing is idempotent per job: retries, duplicate events and the
 *     reaper may all call release, the slot is freed exactly once;
 *   - a slot leaked by a crash is identifiable (its job id is in `holders`),
 *     so the reaper repairs drift exactly instead of guessing at a count.
 * The per-key ledger is taken first so that a key over its own limit never
 * touches the global one; a failure on the second ledger compensates the first.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';
import { scanItems } from './dynamodb-client';
import { DomainError } from '../../core/errors';
import type { ServiceLimits } from '../../core/limits';
import type { CapacityLedger, CapacityScope } from '../decisions/capacity-plan';
import { CAPACITY_PREFIX, globalCapacityPk, ownerCapacityPk } from './table-keys';

/** Seconds a client should wait before retrying an admission refused by `scope`. */
export function retryAfterSeconds(scope: CapacityScope, limits: ServiceLimits): number {
  // A slot frees when some job ends; a typical conversion takes well under the time limit.
  const typical = Math.ceil(limits.converterTimeoutSeconds / 10);
  return Math.min(120, Math.max(scope === 'global' ? 15 : 10, typical));
}

export function admissionError(scope: CapacityScope, limits: ServiceLimits): DomainError {
  const limit = scope === 'global' ? limits.globalInFlight : limits.perKeyInFlight;
  return scope === 'global'
    ? new DomainError('SERVER_BUSY', undefined, { retryAfterSeconds: retryAfterSeconds(scope, limits), details: { limit } })
    : new DomainError('RATE_LIMITED', `This API key already has ${limit} jobs in flight, the most allowed.`, {
        retryAfterSeconds: retryAfterSeconds(scope, limits),
        details: { limit },
      });
}

export class Capacity {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Takes a slot in both ledgers or throws RATE_LIMITED / SERVER_BUSY (leaving nothing taken). */
  async acquire(jobId: string, owner: string, limits: ServiceLimits): Promise<void> {
    if (!(await this.take(ownerCapacityPk(owner), jobId, limits.perKeyInFlight, { scope: 'owner', capacityOwner: owner }))) {
      throw admissionError('owner', limits);
    }
    let global: boolean;
    try {
      global = await this.take(globalCapacityPk(), jobId, limits.globalInFlight, { scope: 'global' });
    } catch (error) {
      await this.give(ownerCapacityPk(owner), jobId);
      throw error;
    }
    if (!global) {
      await this.give(ownerCapacityPk(owner), jobId);
      throw admissionError('global', limits);
    }
  }

  /** Frees the job's slots; safe to call any number of times. Returns whether anything was freed. */
  async release(jobId: string, owner: string): Promise<boolean> {
    const [own, global] = await Promise.all([this.give(ownerCapacityPk(owner), jobId), this.give(globalCapacityPk(), jobId)]);
    return own || global;
  }

  /** Conditional increment: false when the ledger is full (or the job already holds a slot). */
  async take(pk: string, jobId: string, limit: number, attributes: Partial<CapacityLedger>): Promise<boolean> {
    const extra = Object.entries(attributes);
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: `ADD inFlight :one, holders :job${extra.length ? ` SET ${extra.map((_, i) => `#a${i} = :a${i}`).join(', ')}` : ''}`,
          ConditionExpression: '(attribute_not_exists(inFlight) OR inFlight < :limit) AND NOT contains(holders, :id)',
          ExpressionAttributeNames: extra.length ? Object.fromEntries(extra.map(([key], i) => [`#a${i}`, key])) : undefined,
          ExpressionAttributeValues: {
            ':one': 1,
            ':job': new Set([jobId]),
            ':id': jobId,
            ':limit': limit,
            ...Object.fromEntries(extra.map(([, value], i) => [`:a${i}`, value])),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Conditional decrement: false when the job held no slot in this ledger. */
  async give(pk: string, jobId: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'ADD inFlight :minus DELETE holders :job',
          ConditionExpression: 'contains(holders, :id)',
          ExpressionAttributeValues: { ':minus': -1, ':job': new Set([jobId]), ':id': jobId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Adds a holder regardless of the limit (reaper repair of a job that is in flight but holds no slot). */
  async restore(pk: string, jobId: string, attributes: Partial<CapacityLedger>): Promise<boolean> {
    return this.take(pk, jobId, Number.MAX_SAFE_INTEGER, attributes);
  }

  /** Every ledger item (a handful: one global plus one per key with jobs). */
  async readAll(): Promise<CapacityLedger[]> {
    const ledgers: CapacityLedger[] = [];
    const items = scanItems(this.ddb, {
      TableName: this.tableName,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': CAPACITY_PREFIX },
    });
    for await (const item of items) {
      const holders = item.holders instanceof Set ? [...(item.holders as Set<string>)] : [];
      ledgers.push({
        pk: String(item.pk),
        scope: item.scope === 'owner' ? 'owner' : 'global',
        capacityOwner: typeof item.capacityOwner === 'string' ? item.capacityOwner : undefined,
        inFlight: Number(item.inFlight ?? 0),
        holders,
      });
    }
    return ledgers;
  }

  /**
   * Sets `inFlight` to the size of `holders` when they disagree (they cannot
   * through this module, but a hand edit could). Guarded by both values seen.
   */
  async fixCount(ledger: CapacityLedger): Promise<boolean> {
    if (ledger.inFlight === ledger.holders.length) return false;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: ledger.pk },
          UpdateExpression: 'SET inFlight = :n',
          ConditionExpression: ledger.holders.length
            ? 'inFlight = :old AND size(holders) = :n'
            : 'inFlight = :old AND attribute_not_exists(holders)',
          ExpressionAttributeValues: { ':n': ledger.holders.length, ':old': ledger.inFlight },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
