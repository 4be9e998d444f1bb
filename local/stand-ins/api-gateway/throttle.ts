/**
 * API Gateway's throttling arithmetic: a token bucket per (key, method) that
 * holds `burstLimit` tokens and refills at `rateLimit` per second, and a
 * request quota per key per calendar period (UTC, like usage plans).
 */

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rateLimit: number,
    readonly burstLimit: number,
    now: number,
  ) {
    this.tokens = burstLimit;
    this.last = now;
  }

  /** Takes one token; false when the request must be throttled. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.burstLimit, this.tokens + elapsed * this.rateLimit);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

/** Start of the quota period holding `now` (UTC; weeks start on Monday). */
export function periodStart(period: QuotaPeriod, now: number): number {
  const d = new Date(now);
  if (period === 'MONTH') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'DAY') return day;
  return day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
}

export class Quota {
  private used = 0;
  private period = -1;

  constructor(
    readonly limit: number,
    readonly periodName: QuotaPeriod,
  ) {}

  /** Counts one request; false when the period's quota is used up. */
  take(now: number): boolean {
    const start = periodStart(this.periodName, now);
    if (start !== this.period) {
      this.period = start;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}
