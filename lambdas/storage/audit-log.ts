/**
 * The audit trail in DynamoDB (core/service-env.ts AUDIT_TABLE): one item per admin action, never updated, in the
 * partition of its month (`YYYY-MM`, UTC) under the sort key `<at>#<id>`, so a month reads newest first with one
 * Query and no Scan ever serves a listing. Items expire AUDIT_RETENTION_DAYS after the action.
 */
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../../core/api-schemas';
import { AUDIT_TABLE } from '../../core/service-env';
import { monthOf } from '../../core/time-range';
import { epochSeconds } from './table-keys';

/** How long entries are kept (a year and a bit, so a yearly review still sees the year before). */
export const AUDIT_RETENTION_DAYS = 400;

export interface AuditPage {
  entries: AuditEntry[];
  lastKey?: Record<string, unknown>;
}

export const auditSortKey = (entry: Pick<AuditEntry, 'at' | 'id'>) => `${entry.at}#${entry.id}`;

function toEntry(item: Record<string, unknown>): AuditEntry {
  const { [AUDIT_TABLE.partitionKey]: _month, [AUDIT_TABLE.sortKey]: _entry, [AUDIT_TABLE.ttlAttribute]: _ttl, ...entry } = item;
  return entry as unknown as AuditEntry;
}

export class AuditLog {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Writes one entry; an entry with the same id and time is never overwritten. */
  async append(entry: AuditEntry): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...entry,
          [AUDIT_TABLE.partitionKey]: monthOf(entry.at),
          [AUDIT_TABLE.sortKey]: auditSortKey(entry),
          [AUDIT_TABLE.ttlAttribute]: epochSeconds(Date.parse(entry.at)) + AUDIT_RETENTION_DAYS * 86_400,
        },
        ConditionExpression: 'attribute_not_exists(#entry)',
        ExpressionAttributeNames: { '#entry': AUDIT_TABLE.sortKey },
      }),
    );
  }

  /** One page of a month's entries with `at` in [since, until], newest first. */
  async listMonth(month: string, since: string, until: string, limit: number, startKey?: Record<string, unknown>): Promise<AuditPage> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#month = :month AND #entry BETWEEN :since AND :until',
        ExpressionAttributeNames: { '#month': AUDIT_TABLE.partitionKey, '#entry': AUDIT_TABLE.sortKey },
        // `<until>#~` sorts after every id at that very instant ('~' follows the id characters).
        ExpressionAttributeValues: { ':month': month, ':since': since, ':until': `${until}#~` },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { entries: (out.Items ?? []).map(toEntry), lastKey: out.LastEvaluatedKey };
  }
}
