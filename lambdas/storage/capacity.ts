/**
 * Admission control without transactions. Each scope (global, per principal)
 * is one ledger item holding `inFlight` and the set of job ids holding a slot
 * (`holders`). Acquiring is one conditional update (`inFlight < limit AND job
 * not yet a holder`, then ADD 1 and the id); releasing is one conditional
 * update (`job is a holder`, then ADD -1 and DELETE the id). So:
 *   - concurrent admissions never exceed a limit (DynamoDB serialises writes to an item);
 *   - releasing is idempotent per job: retries, duplicate events and the
 *     reaper may all call release, the slot is freed exactly once;
 *   - a slot leaked by a crash is identifiable (its job id is in `holders`),
 *     so the reaper repairs drift exactly instead of guessing at a count.
 * The principal's daily count is the same conditional write on an item per
 * principal and UTC day (`admitted`, `jobs`), kept for the day by TTL; it is
 * never given back once a job is admitted, only when that admission fails.
 * Order: the principal's in-flight ledger, its daily count, then the global
 * ledger, so a principal over its own limits never touches the global one; a
 * refusal or failure at any step gives back the steps before it.
 */
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';
import { scanItems } from './dynamodb-client';
import { DomainError } from '../../core/errors';
import type { ServiceLimits } from '../../core/limits';
import { TABLE } from '../../core/service-env';
import type { CapacityLedger, CapacityScope } from '../decisions/capacity-plan';
import { dailyItemExpiry, dailyRetryAfterSeconds, nextUtcMidnight, utcDay } from '../decisions/daily-quota';
import { CAPACITY_PREFIX, dailyCountPk, globalCapacityPk, ownerCapacityPk } from './table-keys';

/** A principal's share of capacity as operators see it. */
export interface PrincipalUsage {
  jobsInFlight: number;
  conversionsToday: number;
}

/** What refused an admission: a capacity ledger, or the principal's count for the day. */
export type AdmissionScope = CapacityScope | 'day';

export type Admission = { ok: true } | { ok: false; scope: AdmissionScope; pk: string };

/** The count and member-set attributes of one kind of conditional counter item. */
interface Counter {
  count: string;
  members: string;
}
const LEDGER: Counter = { count: 'inFlight', members: 'holders' };
const DAILY: Counter = { count: 'admitted', members: 'jobs' };

/** Seconds a client should wait before retrying an admission refused by an in-flight ledger. */
export function retryAfterSeconds(scope: CapacityScope, limits: ServiceLimits): number {
  // A slot frees when some job ends; a typical conversion takes well under the time limit.
  const typical = Math.ceil(limits.converterTimeoutSeconds / 10);
  return Math.min(120, Math.max(scope === 'global' ? 15 : 10, typical));
}

export function admissionError(scope: AdmissionScope, limits: ServiceLimits, nowMs: number = Date.now()): DomainError {
  switch (scope) {
    case 'global':
      return new DomainError('SERVER_BUSY', undefined, {
        retryAfterSeconds: retryAfterSeconds(scope, limits),
        details: { limit: limits.globalInFlight },
      });
    case 'owner': {
      const limit = limits.perPrincipalInFlight;
      return new DomainError('RATE_LIMITED', `You already have ${limit} jobs in flight, the most allowed per user or program.`, {
        retryAfterSeconds: retryAfterSeconds(scope, limits),
        details: { limit },
      });
    }
    case 'day': {
      const limit = limits.perPrincipalPerDay;
      return new DomainError(
        'RATE_LIMITED',
        `You have started ${limit} conversions today, the most allowed per user or program per day; the count starts again at 00:00 UTC.`,
        {
          retryAfterSeconds: dailyRetryAfterSeconds(nowMs),
          details: { limit, period: 'day', resetsAt: new Date(nextUtcMidnight(nowMs)).toISOString() },
        },
      );
    }
  }
}

export class Capacity {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Takes a slot in both ledgers and one of the day's count, or throws RATE_LIMITED / SERVER_BUSY (leaving nothing taken). */
  async acquire(jobId: string, owner: string, limits: ServiceLimits, nowMs: number = Date.now()): Promise<void> {
    const admission = await this.tryAcquire(jobId, owner, limits, nowMs);
    if (!admission.ok) throw admissionError(admission.scope, limits, nowMs);
  }

  /** As acquire, but a refusal is returned with the item that refused (nothing is left taken either way). */
  async tryAcquire(jobId: string, owner: string, limits: ServiceLimits, nowMs: number): Promise<Admission> {
    const ownPk = ownerCapacityPk(owner);
    if (!(await this.take(ownPk, jobId, limits.perPrincipalInFlight, { scope: 'owner', capacityOwner: owner }))) {
      return { ok: false, scope: 'owner', pk: ownPk };
    }
    const dayPk = dailyCountPk(owner, utcDay(nowMs));
    // Each give-back is conditional on the job being a member, so it is safe also for a write that threw after it applied.
    const giveBack = async () => {
      await this.give(globalCapacityPk(), jobId);
      await this.remove(DAILY, dayPk, jobId);
      await this.give(ownPk, jobId);
    };
    try {
      const day = { scope: 'day', capacityOwner: owner, day: utcDay(nowMs), [TABLE.ttlAttribute]: dailyItemExpiry(nowMs) };
      if (!(await this.add(DAILY, dayPk, jobId, limits.perPrincipalPerDay, day))) {
        await this.give(ownPk, jobId);
        return { ok: false, scope: 'day', pk: dayPk };
      }
      if (!(await this.take(globalCapacityPk(), jobId, limits.globalInFlight, { scope: 'global' }))) {
        await this.remove(DAILY, dayPk, jobId);
        await this.give(ownPk, jobId);
        return { ok: false, scope: 'global', pk: globalCapacityPk() };
      }
    } catch (error) {
      await giveBack();
      throw error;
    }
    return { ok: true };
  }

  /** Gives back a job's count for the day it was admitted on (only when that admission failed). */
  async uncount(jobId: string, owner: string, admittedMs: number): Promise<boolean> {
    return this.remove(DAILY, dailyCountPk(owner, utcDay(admittedMs)), jobId);
  }

  /** The job ids holding a slot in one ledger (strongly consistent). */
  async holders(pk: string): Promise<string[]> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }));
    const holders = out.Item?.holders;
    return holders instanceof Set ? [...(holders as Set<string>)] : [];
  }

  /** Frees the job's slots; safe to call any number of times. Returns whether anything was freed. */
  async release(jobId: string, owner: string): Promise<boolean> {
    const [own, global] = await Promise.all([this.give(ownerCapacityPk(owner), jobId), this.give(globalCapacityPk(), jobId)]);
    return own || global;
  }

  /** Conditional increment: false when the ledger is full (or the job already holds a slot). */
  take(pk: string, jobId: string, limit: number, attributes: Partial<CapacityLedger>): Promise<boolean> {
    return this.add(LEDGER, pk, jobId, limit, attributes);
  }

  /** Conditional decrement: false when the job held no slot in this ledger. */
  give(pk: string, jobId: string): Promise<boolean> {
    return this.remove(LEDGER, pk, jobId);
  }

  private async add(counter: Counter, pk: string, jobId: string, limit: number, attributes: Record<string, unknown>): Promise<boolean> {
    const extra = Object.entries(attributes);
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: `ADD #count :one, #members :job${extra.length ? ` SET ${extra.map((_, i) => `#a${i} = :a${i}`).join(', ')}` : ''}`,
          ConditionExpression: '(attribute_not_exists(#count) OR #count < :limit) AND NOT contains(#members, :id)',
          ExpressionAttributeNames: {
            '#count': counter.count,
            '#members': counter.members,
            ...Object.fromEntries(extra.map(([key], i) => [`#a${i}`, key])),
          },
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

  private async remove(counter: Counter, pk: string, jobId: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'ADD #count :minus DELETE #members :job',
          ConditionExpression: 'contains(#members, :id)',
          ExpressionAttributeNames: { '#count': counter.count, '#members': counter.members },
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

  /**
   * Per principal: jobs holding a slot now (its ledger's `inFlight`) and jobs admitted on `day` (its daily count's
   * `admitted`), read with BatchGetItem (eventually consistent: a view for operators, not an admission).
   */
  async principalUsage(principalIds: readonly string[], day: string): Promise<Map<string, PrincipalUsage>> {
    const unique = [...new Set(principalIds)];
    const wanted = new Map<string, { principalId: string; field: keyof PrincipalUsage }>();
    for (const principalId of unique) {
      wanted.set(ownerCapacityPk(principalId), { principalId, field: 'jobsInFlight' });
      wanted.set(dailyCountPk(principalId, day), { principalId, field: 'conversionsToday' });
    }
    const usage = new Map(unique.map((id) => [id, { jobsInFlight: 0, conversionsToday: 0 }]));
    let keys = [...wanted.keys()].map((pk) => ({ pk }));
    // BatchGetItem takes at most 100 keys and may leave some unprocessed under load: those go round again, after a
    // back-off that grows only while rounds keep leaving keys behind.
    for (let retries = 0; keys.length > 0;) {
      if (retries > 10) throw new Error('BatchGetItem left keys unprocessed round after round');
      if (retries > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** retries)));
      const batch = keys.slice(0, 100);
      const out = await this.ddb.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: batch, ProjectionExpression: 'pk, inFlight, admitted' } } }),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) {
        const target = wanted.get(String(item.pk));
        if (!target) continue;
        const count = Number(target.field === 'jobsInFlight' ? item.inFlight : item.admitted);
        usage.get(target.principalId)![target.field] = Number.isFinite(count) && count > 0 ? count : 0;
      }
      const unprocessed = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as { pk: string }[];
      retries = unprocessed.length > 0 ? retries + 1 : 0;
      keys = [...keys.slice(100), ...unprocessed];
    }
    return usage;
  }

  /** Every ledger item (a handful: one global plus one per principal with jobs). */
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
