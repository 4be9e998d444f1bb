/**
 * The time range of the admin listings and counts: `since` and `until` are each an ISO 8601 date-time with an
 * offset, or a span back from now (`90m`, `24h`, `7d`); `until` defaults to now, `since` to DEFAULT_RANGE_DAYS
 * before `until`; a range is at most MAX_RANGE_DAYS long and never ends before it starts. Bounds are inclusive.
 *
 * Browser-safe: no node: imports (the CLI and the admin page resolve `--since 24h` the same way).
 */

export const DEFAULT_RANGE_DAYS = 30;
/** Bounds the month partitions one listing walks (at most 13). */
export const MAX_RANGE_DAYS = 366;

const RELATIVE = /^(\d{1,6})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** ISO 8601 date-time with an explicit offset (Z or ±hh:mm), as the API's timestamps are. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export interface TimeRange {
  /** ISO, UTC, inclusive. */
  since: string;
  /** ISO, UTC, inclusive. */
  until: string;
}

export class TimeRangeError extends Error {
  constructor(
    readonly field: 'since' | 'until',
    message: string,
  ) {
    super(message);
  }
}

/** One bound as epoch ms; undefined when the text is neither form. */
export function parseTimeBound(text: string, nowMs: number): number | undefined {
  const relative = RELATIVE.exec(text);
  if (relative) return nowMs - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  if (!ISO_DATE_TIME.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The range a request names; throws TimeRangeError naming the field that is wrong. */
export function resolveTimeRange(query: { since?: string; until?: string }, nowMs: number): TimeRange {
  const bound = (field: 'since' | 'until', text: string) => {
    const ms = parseTimeBound(text, nowMs);
    if (ms === undefined) throw new TimeRangeError(field, `${field} must be an ISO date-time with offset or a span like 24h, 7d, 90m.`);
    return ms;
  };
  const until = query.until === undefined ? nowMs : bound('until', query.until);
  const since = query.since === undefined ? until - DEFAULT_RANGE_DAYS * UNIT_MS.d : bound('since', query.since);
  if (since > until) throw new TimeRangeError('since', 'since is later than until.');
  if (until - since > MAX_RANGE_DAYS * UNIT_MS.d) throw new TimeRangeError('since', `The range is longer than ${MAX_RANGE_DAYS} days.`);
  return { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
}

/** `YYYY-MM` (UTC) of an ISO time: the month partition it falls in. */
export function monthOf(iso: string): string {
  return iso.slice(0, 7);
}

/** The months the range touches, newest first. */
export function monthsNewestFirst(range: TimeRange): string[] {
  const months: string[] = [];
  const first = monthOf(range.since);
  let year = Number(range.until.slice(0, 4));
  let month = Number(range.until.slice(5, 7));
  for (;;) {
    const current = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    months.push(current);
    if (current <= first) return months;
    month -= 1;
    if (month === 0) {
      month = 12;
      year -= 1;
    }
  }
}
