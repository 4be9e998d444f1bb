/**
 * The per-principal daily count is kept per UTC day: a day's counter item is
 * named by the principal and the date, so the count "resets" at 00:00 UTC
 * without any write, and the item expires by TTL a day after its day ended.
 * Pure arithmetic on epoch milliseconds.
 */

const DAY_MS = 86_400_000;
/** Longest Retry-After for a spent daily count: a client checks back within the hour (an operator may raise the limit). */
export const DAILY_RETRY_AFTER_CAP_SECONDS = 3600;
/** How long a day's counter item outlives its day, for inspection (DynamoDB TTL). */
export const DAILY_ITEM_KEEP_SECONDS = 86_400;

/** The UTC date of `nowMs` as YYYY-MM-DD. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** The next 00:00 UTC strictly after `nowMs`, in epoch milliseconds. */
export function nextUtcMidnight(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
}

/** Seconds until the daily count resets, at least 1 and at most DAILY_RETRY_AFTER_CAP_SECONDS. */
export function dailyRetryAfterSeconds(nowMs: number): number {
  return Math.min(DAILY_RETRY_AFTER_CAP_SECONDS, Math.max(1, Math.ceil((nextUtcMidnight(nowMs) - nowMs) / 1000)));
}

/** DynamoDB TTL (epoch seconds) of the counter item for the day of `nowMs`. */
export function dailyItemExpiry(nowMs: number): number {
  return Math.floor(nextUtcMidnight(nowMs) / 1000) + DAILY_ITEM_KEEP_SECONDS;
}
