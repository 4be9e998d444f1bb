/**
 * Jobs in DynamoDB. Every status change is a conditional write whose
 * condition lists the legal predecessors (core/job-states.ts), so duplicated
 * or reordered events cannot move a job backwards or out of a terminal state.
 * Every write here keeps the admin indexes' attributes right (table-keys.ts):
 * `createdMonth` from createdAt at creation, `errorCode` equal to error.code
 * whenever `error` is set or removed, and one `history` entry per status entered.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IndexFilter, JobIndex } from '../decisions/admin-listing';
import { isConditionFailure } from './aws-errors';
import { scanItems } from './dynamodb-client';
import { allowedPredecessors, isTerminal, type JobStatus } from '../../core/job-states';
import { TABLE } from '../../core/service-env';
import { monthOf } from '../../core/time-range';
import type { ErrorInfo } from '../../core/errors';
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
  /** Partition of byCreatedMonth: `YYYY-MM` of createdAt (set at creation). */
  createdMonth?: string;
  /** Partition of the sparse byErrorCode index: error.code, present exactly while `error` is. */
  errorCode?: string;
  /** Every status the job entered, oldest first; bounded by the lifecycle, which never enters a status twice. */
  history?: JobHistoryEntry[];
}

export interface JobHistoryEntry {
  status: JobStatus;
  at: string;
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

/** The indexes an admin listing can be served by, each keyed by (partition attribute, createdAt). */
export const JOB_INDEXES = {
  status: { name: TABLE.statusIndex, partitionKey: TABLE.statusIndexPartitionKey },
  code: { name: TABLE.codeIndex, partitionKey: TABLE.codeIndexPartitionKey },
  owner: { name: TABLE.ownerIndex, partitionKey: TABLE.ownerIndexPartitionKey },
  month: { name: TABLE.monthIndex, partitionKey: TABLE.monthIndexPartitionKey },
} as const satisfies Record<JobIndex, { name: string; partitionKey: string }>;

/** One Query of an index partition over createdAt ∈ [since, until], newest first, narrowed by `filter`. */
export interface IndexQuery {
  index: JobIndex;
  partition: string;
  since: string;
  until: string;
  /** Attribute equalities applied after the key condition (a FilterExpression). */
  filter?: IndexFilter;
}

/** The key of `job` in `index` (what DynamoDB's LastEvaluatedKey holds for it). */
export function indexKeyOf(index: JobIndex, job: StoredJob): Record<string, unknown> {
  const attribute = JOB_INDEXES[index].partitionKey;
  return { pk: jobPk(job.jobId), [attribute]: (job as unknown as Record<string, unknown>)[attribute], createdAt: job.createdAt };
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

/** A new job's item: its key, and the index attributes derived from it (createdMonth, errorCode, the first history entry). */
export function newJobItem(job: StoredJob): Item {
  return {
    pk: jobPk(job.jobId),
    ...job,
    createdMonth: monthOf(job.createdAt),
    ...(job.error ? { errorCode: job.error.code } : {}),
    history: [{ status: job.status, at: job.createdAt }],
  };
}

interface UpdateParts {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** The index attribute that mirrors `error` (errorCode): set with it, removed with it. */
function withErrorCode(
  set: Partial<StoredJob>,
  remove: readonly (keyof StoredJob)[],
): { set: Partial<StoredJob>; remove: (keyof StoredJob)[] } {
  const error = set.error as ErrorInfo | undefined;
  return {
    set: error ? { ...set, errorCode: error.code } : set,
    remove: remove.includes('error') && !error ? [...remove, 'errorCode'] : [...remove],
  };
}

/**
 * SET (and, for `setIfAbsent`, SET … = if_not_exists(…); for `append`, SET … = list_append(…)) and REMOVE clauses
 * of one update.
 */
function buildUpdate(
  set: Record<string, unknown>,
  remove: readonly string[],
  setIfAbsent: Record<string, unknown> = {},
  append: Record<string, unknown[]> = {},
): UpdateParts {
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
  for (const [key, value] of Object.entries(append)) {
    names[`#s${i}`] = key;
    values[`:s${i}`] = value;
    values[`:empty${i}`] = [];
    sets.push(`#s${i} = list_append(if_not_exists(#s${i}, :empty${i}), :s${i})`);
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
        Item: newJobItem(job),
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
    const { set, remove } = withErrorCode({ ...options.set, status: to, updatedAt: nowIso }, options.remove ?? []);
    const update = buildUpdate(set, remove, outbox, { history: [{ status: to, at: nowIso }] });
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
    const indexed = withErrorCode({ ...set, updatedAt: new Date(nowMs).toISOString() }, []);
    const update = buildUpdate(indexed.set, indexed.remove);
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

  /** One page of an index partition, newest first; records past their TTL are dropped (also from `Limit`'s count). */
  async queryIndex(query: IndexQuery, limit: number, startKey?: Record<string, unknown>, nowMs: number = Date.now()): Promise<OwnerPage> {
    const out = await this.ddb.send(
      new QueryCommand({ ...this.indexQueryInput(query, nowMs), ScanIndexForward: false, Limit: limit, ExclusiveStartKey: startKey }),
    );
    const jobs = (out.Items ?? []).map((item) => stripKey(item)!).filter((job) => typeof job.jobId === 'string');
    return { jobs, lastKey: out.LastEvaluatedKey };
  }

  /** How many live jobs the query matches (Select COUNT, page after page: DynamoDB counts at most 1 MB per page). */
  async countIndex(query: IndexQuery, nowMs: number = Date.now()): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({ ...this.indexQueryInput(query, nowMs), Select: 'COUNT', ExclusiveStartKey: startKey }),
      );
      total += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return total;
  }

  private indexQueryInput(query: IndexQuery, nowMs: number) {
    const index = JOB_INDEXES[query.index];
    const names: Record<string, string> = { '#p': index.partitionKey, '#at': 'createdAt', '#ttl': TABLE.ttlAttribute };
    const values: Record<string, unknown> = {
      ':p': query.partition,
      ':since': query.since,
      ':until': query.until,
      ':now': epochSeconds(nowMs),
    };
    const filters = ['(attribute_not_exists(#ttl) OR #ttl >= :now)'];
    Object.entries(query.filter ?? {}).forEach(([attribute, value], i) => {
      if (value === undefined) return;
      names[`#f${i}`] = attribute;
      values[`:f${i}`] = value;
      filters.push(`#f${i} = :f${i}`);
    });
    return {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#p = :p AND #at BETWEEN :since AND :until',
      FilterExpression: filters.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
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
