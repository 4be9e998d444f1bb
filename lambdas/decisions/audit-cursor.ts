/**
 * The audit listing's opaque nextToken: the month partition being read and, unless the page starts at its newest
 * entry, the table key to start after. A token is accepted only when it names a month of the request's range and a
 * key of that month inside the range; anything else is 400, never a DynamoDB error.
 */
import * as z from 'zod/mini';
import { AUDIT_TABLE } from '../../core/service-env';
import type { TimeRange } from '../../core/time-range';
import { decodePageToken, encodePageToken, invalidPageToken } from './page-token';

export interface AuditCursor {
  p: string;
  k?: Record<string, unknown>;
}

const CursorSchema = z.strictObject({
  p: z.string(),
  k: z.optional(z.strictObject({ [AUDIT_TABLE.partitionKey]: z.string(), [AUDIT_TABLE.sortKey]: z.string() })),
});

export function encodeAuditCursor(cursor: AuditCursor | undefined): string | undefined {
  return encodePageToken(cursor);
}

export function decodeAuditCursor(token: string | undefined, months: readonly string[], range: TimeRange): AuditCursor | undefined {
  if (!token) return undefined;
  const parsed = CursorSchema.safeParse(decodePageToken(token));
  const key = parsed.success ? (parsed.data.k as Record<string, string> | undefined) : undefined;
  const valid =
    parsed.success &&
    months.includes(parsed.data.p) &&
    (!key ||
      (key[AUDIT_TABLE.partitionKey] === parsed.data.p &&
        key[AUDIT_TABLE.sortKey]! >= range.since &&
        key[AUDIT_TABLE.sortKey]! <= `${range.until}#~`));
  if (!valid) throw invalidPageToken();
  return parsed.data as AuditCursor;
}
