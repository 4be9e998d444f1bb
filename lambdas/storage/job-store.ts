/**
 * Jobs in DynamoDB. Every status change is a conditional write whose
 * condition lists the legal predecessors (core/job-states.ts), so duplicated
 * or reordered events cannot move a job backwards or out of a terminal state.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';
import { scanItems } from './dynamodb-client';
import { allowedPredecessors, isTerminal, type JobStatus } from '../../core/job-states';
import { TABLE } from '../../core/service-env';
import type { JobRecord, WebhookDelivery } from '../../core/types';
import { epochSeconds, JOB_PREFIX, jobPk } from './table-keys';

/** A job as stored: the shared JobRecord plus bookkeeping the API never shows. */
export interface StoredJob extends JobRecord {
  /** ETag (or sequencer) of the upload being validated: a retry of the same event resumes, another upload is ignored. */
  uploadEtag?: string;
  /** Validation attempts for this upload (a crash mid-way is retried a bounded number of times). */
  validationAttempts?: number;
  /** Times the reaper started a missing execution for a QUEUED job. */
  executionRestarts?: number;
  deletedAt?: string;
  /** When the owner cancelled (or deleted) the job while its task ran. */
  cancelRequestedAt?: string;
  /** A DELETE arrived while the job was RUNNING or CANCELLING: once the task has stopped it ends DELETED, not CANCELLED. */
  deleteRequested?: boolean;
  expiredReason?: 'UPLOAD_NOT_RECEIVED' | 'RESULT_RETENTION';
  /** Partition of the sparse byWebhookDue index: present while the job's event still awaits delivery. */
  webhookQueue?: typeof WEBHOOK_DUE;
  /** Sort key of byWebhookDue (ISO): when the delivery is next due, or until when a sender holds it. */
  webhookAt?: string;
}

/** The one partition of byWebhookDue. */
export const WEBHOOK_DUE = 'due';

type Item = StoredJob & { pk: string };

export type TransitionResult = { ok: true; job: StoredJob } | { ok: false; job: StoredJob | undefined };

export interface TransitionOptions {
  /** Statuses the job may be in; defaults to every legal predecessor of `to`; must be a subset of them. */
  from?: readonly JobStatus[];
  set?: Partial<StoredJob>;
  remove?: readonly (keyof StoredJob)[];
  now?: number;
  /** Fields that must still hold these values (null: absent) for the move to happen. */
  expected?: Expected;
}

type Expected = Partial<Record<keyof StoredJob, string | number | boolean | null>>;

/** `expected` as condition clauses, adding their names and values. */
function expectedConditions(expected: Expected, names: Record<string, string>, values: Record<string, unknown>): string[] {
  return Object.entries(expected).map(([key, value], i) => {
    names[`#e${i}`] = key;
    if (value === null) return `attribute_not_exists(#e${i})`;
    values[`:e${i}`] = value;
    return `#e${i} = :e${i}`;
  });
}

export interface OwnerPage {
  jobs: StoredJob[];
  lastKey?: Record<string, unknown>;
}

function stripKey(item: Record<string, unknown> | undefined): StoredJob | undefined {
  if (!item) return undefined;
  const { pk: _pk, ...job } = item as unknown as Item;
  return job;
}

/** Expired records (TTL passed) are treated as gone: TTL deletion is lazy on AWS and absent locally. */
export function isExpiredRecord(job: Pick<StoredJob, 'expiresAt'>, nowMs: number): boolean {
  return typeof job.expiresAt === 'number' && job.expiresAt < epochSeconds(nowMs);
}

interface UpdateParts {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** SET (and, for `setIfAbsent`, SET … = if_not_exists(…)) and REMOVE clauses of one update. */
function buildUpdate(set: Record<string, unknown>, remove: readonly string[], setIfAbsent: Record<string, unknown> = {}): UpdateParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  let i = 0;
  for (const [key, value] of Object.entries(set)) {
    if (value === undefined) continue;
    names[`#s${i}`] = key;
    values[`:s${i}`] = value;
    sets.push(`#s${i} = :s${i}`);
    i++;
  }
  for (const [key, value] of Object.entries(setIfAbsent)) {
    names[`#s${i}`] = key;
    values[`:s${i}`] = value;
    sets.push(`#s${i} = if_not_exists(#s${i}, :s${i})`);
    i++;
  }
  const removes = remove
    .filter((key) => !(key in set))
    .map((key, j) => {
      names[`#r${j}`] = key;
      return `#r${j}`;
    });
  const expression = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
    .filter(Boolean)
    .join(' ');
  return { expression, names, values };
}

type WebhookChange = { SET: Partial<StoredJob>; REMOVE?: (keyof StoredJob)[] };

export class JobStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The job, read consistently; undefined when unknown or past its record TTL. */
  async get(jobId: string, nowMs: number = Date.now()): Promise<StoredJob | undefined> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: { pk: jobPk(jobId) }, ConsistentRead: true }));
    const job = stripKey(out.Item);
    return job && !isExpiredRecord(job, nowMs) ? job : undefined;
  }

  /** The job if `owner` created it; undefined otherwise (callers answer 404 either way). */
  async getOwned(jobId: string, owner: string, nowMs: number = Date.now()): Promise<StoredJob | undefined> {
    const job = await this.get(jobId, nowMs);
    return job && job.owner === owner ? job : undefined;
  }

  /** Writes a new job; fails if the id exists. */
  async create(job: StoredJob): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: jobPk(job.jobId), ...job },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Moves a job to `to` if it is in one of the allowed statuses. On a lost
   * race (or an illegal move) returns ok:false with the job as it is now.
   */
  async transition(jobId: string, to: JobStatus, options: TransitionOptions = {}): Promise<TransitionResult> {
    const legal = allowedPredecessors(to);
    const from = options.from ?? legal;
    const illegal = from.filter((status) => !legal.includes(status));
    if (illegal.length) throw new Error(`Illegal transition ${illegal.join('|')} → ${to}`);
    if (!from.length) return { ok: false, job: await this.get(jobId) };
    const nowIso = new Date(options.now ?? Date.now()).toISOString();
    // The outbox: the first terminal move snapshots the event and makes a job with a callback due (byWebhookDue).
    const outbox: Partial<StoredJob> = isTerminal(to)
      ? { webhookEvent: { id: randomUUID(), status: to, at: nowIso }, webhookAt: nowIso }
      : {};
    const update = buildUpdate({ ...options.set, status: to, updatedAt: nowIso }, options.remove ?? [], outbox);
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    const names: Record<string, string> = { ...update.names, '#status': 'status' };
    const values: Record<string, unknown> = { ...update.values, ...fromValues };
    const conditions = [
      'attribute_exists(pk)',
      `#status IN (${Object.keys(fromValues).join(', ')})`,
      ...expectedConditions(options.expected ?? {}, names, values),
    ];
    try {
      const job = await this.updateJob(jobId, { expression: update.expression, condition: conditions.join(' AND '), names, values });
      return { ok: true, job: job! };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { ok: false, job: await this.get(jobId) };
    }
  }

  /**
   * Changes bookkeeping fields without a status change, only while the job is
   * still in `status` and `expected` fields still hold the given values
   * (null: the field is absent) — optimistic concurrency. Returns the new job, or undefined if the
   * condition failed.
   */
  async updateIf(
    jobId: string,
    status: JobStatus,
    expected: Expected,
    set: Partial<StoredJob>,
    nowMs: number = Date.now(),
  ): Promise<StoredJob | undefined> {
    const update = buildUpdate({ ...set, updatedAt: new Date(nowMs).toISOString() }, []);
    const names: Record<string, string> = { ...update.names, '#status': 'status' };
    const values: Record<string, unknown> = { ...update.values, ':status': status };
    const conditions = ['attribute_exists(pk)', '#status = :status', ...expectedConditions(expected, names, values)];
    try {
      return await this.updateJob(jobId, { expression: update.expression, condition: conditions.join(' AND '), names, values });
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** One conditional update of the job's item; the job as it is afterwards. */
  private async updateJob(jobId: string, update: UpdateParts & { condition: string }): Promise<StoredJob | undefined> {
    const out = await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: jobPk(jobId) },
        UpdateExpression: update.expression,
        ConditionExpression: update.condition,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stripKey(out.Attributes);
  }

  /** Jobs whose webhook delivery is due at `nowIso` (GSI byWebhookDue: eventually consistent; claim before sending). */
  async listWebhookDue(nowIso: string, limit: number): Promise<StoredJob[]> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: TABLE.webhookIndex,
        KeyConditionExpression: '#queue = :due AND #at <= :now',
        ExpressionAttributeNames: { '#queue': TABLE.webhookIndexPartitionKey, '#at': TABLE.webhookIndexSortKey },
        ExpressionAttributeValues: { ':due': WEBHOOK_DUE, ':now': nowIso },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => stripKey(item)!);
  }

  /**
   * Takes a due delivery for one attempt: moves `webhookAt` from the value the
   * caller saw to `leaseUntil`, so no other sender sees it due before then. Of
   * two senders that saw the same value, exactly one gets the job back.
   */
  async claimWebhook(jobId: string, seenAt: string, leaseUntil: string): Promise<StoredJob | undefined> {
    return this.updateWebhook(jobId, seenAt, { SET: { webhookAt: leaseUntil } });
  }

  /** Records an attempt made under the lease `leaseUntil`: due again at `nextAt`, or out of the index when done. */
  async recordWebhookAttempt(jobId: string, leaseUntil: string, webhook: WebhookDelivery, nextAt: string | undefined): Promise<boolean> {
    const change: WebhookChange = nextAt ? { SET: { webhook, webhookAt: nextAt } } : { SET: { webhook }, REMOVE: ['webhookQueue'] };
    return (await this.updateWebhook(jobId, leaseUntil, change)) !== undefined;
  }

  private async updateWebhook(jobId: string, expectedAt: string, change: WebhookChange): Promise<StoredJob | undefined> {
    const update = buildUpdate(change.SET, change.REMOVE ?? []);
    try {
      return await this.updateJob(jobId, {
        expression: update.expression,
        condition: '#queue = :due AND #at = :expected',
        names: { ...update.names, '#queue': TABLE.webhookIndexPartitionKey, '#at': TABLE.webhookIndexSortKey },
        values: { ...update.values, ':due': WEBHOOK_DUE, ':expected': expectedAt },
      });
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** One page of the owner's jobs, newest first (GSI byOwner). Expired records are dropped. */
  async listByOwner(owner: string, limit: number, startKey?: Record<string, unknown>, nowMs: number = Date.now()): Promise<OwnerPage> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: TABLE.ownerIndex,
        KeyConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': TABLE.ownerIndexPartitionKey },
        ExpressionAttributeValues: { ':owner': owner },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    const jobs = (out.Items ?? [])
      .map((item) => stripKey(item)!)
      .filter((job) => typeof job.jobId === 'string' && !isExpiredRecord(job, nowMs));
    return { jobs, lastKey: out.LastEvaluatedKey };
  }

  /**
   * Every job in one of `statuses` (a consistent, paginated Scan: the table has
   * no status index, and the reaper runs rarely over a table bounded by TTL).
   */
  async *scanByStatus(statuses: readonly JobStatus[]): AsyncGenerator<StoredJob> {
    const values = Object.fromEntries(statuses.map((status, i) => [`:st${i}`, status]));
    const items = scanItems(this.ddb, {
      TableName: this.tableName,
      FilterExpression: `begins_with(pk, :prefix) AND #status IN (${Object.keys(values).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':prefix': JOB_PREFIX, ...values },
    });
    for await (const item of items) yield stripKey(item)!;
  }
}
