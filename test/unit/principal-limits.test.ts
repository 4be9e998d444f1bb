/**
 * Per-principal limits as configuration and as refusals: the earlier
 * per-key name keeps working (env and cdk.json), the daily count resets at
 * 00:00 UTC, and a spent day answers 429 with a Retry-After to midnight, capped.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_LIMITS, limitsToEnv, DEFAULT_BUNDLE_LIMITS, serviceLimitsFromEnv } from '../../core/limits';
import { resolveConfig } from '../../lib/config';
import {
  DAILY_RETRY_AFTER_CAP_SECONDS,
  dailyItemExpiry,
  dailyRetryAfterSeconds,
  nextUtcMidnight,
  utcDay,
} from '../../lambdas/decisions/daily-quota';
import { admissionError } from '../../lambdas/storage/capacity';

describe('per-principal limits as configuration', () => {
  it('reads LIMIT_PER_PRINCIPAL_IN_FLIGHT, and LIMIT_PER_KEY_IN_FLIGHT as its earlier name', () => {
    expect(serviceLimitsFromEnv({ LIMIT_PER_PRINCIPAL_IN_FLIGHT: '7' }).perPrincipalInFlight).toBe(7);
    expect(serviceLimitsFromEnv({ LIMIT_PER_KEY_IN_FLIGHT: '3' }).perPrincipalInFlight).toBe(3);
    expect(serviceLimitsFromEnv({ LIMIT_PER_KEY_IN_FLIGHT: '3', LIMIT_PER_PRINCIPAL_IN_FLIGHT: '3' }).perPrincipalInFlight).toBe(3);
    expect(() => serviceLimitsFromEnv({ LIMIT_PER_KEY_IN_FLIGHT: '3', LIMIT_PER_PRINCIPAL_IN_FLIGHT: '4' })).toThrow(/given twice/);
    expect(serviceLimitsFromEnv({ LIMIT_PER_PRINCIPAL_PER_DAY: '12' }).perPrincipalPerDay).toBe(12);
    expect(() => serviceLimitsFromEnv({ LIMIT_PER_PRINCIPAL_PER_DAY: '0' })).toThrow(/positive integer/);
  });

  it('sets the current names for the functions, so a deployment round-trips', () => {
    const env = limitsToEnv(DEFAULT_BUNDLE_LIMITS, { ...DEFAULT_SERVICE_LIMITS, perPrincipalInFlight: 9, perPrincipalPerDay: 33 });
    expect(env).toMatchObject({ LIMIT_PER_PRINCIPAL_IN_FLIGHT: '9', LIMIT_PER_PRINCIPAL_PER_DAY: '33' });
    expect(env.LIMIT_PER_KEY_IN_FLIGHT).toBeUndefined();
    expect(serviceLimitsFromEnv(env)).toMatchObject({ perPrincipalInFlight: 9, perPrincipalPerDay: 33 });
  });

  it("accepts cdk.json's earlier serviceLimits.perKeyInFlight, and refuses it contradicting the new name", () => {
    expect(resolveConfig({ serviceLimits: { perKeyInFlight: 4 } }).serviceLimits.perPrincipalInFlight).toBe(4);
    expect(resolveConfig({ serviceLimits: { perPrincipalInFlight: 6, perPrincipalPerDay: 50 } }).serviceLimits).toMatchObject({
      perPrincipalInFlight: 6,
      perPrincipalPerDay: 50,
    });
    expect(() => resolveConfig({ serviceLimits: { perKeyInFlight: 4, perPrincipalInFlight: 6 } })).toThrow(/given twice/);
    expect(() => resolveConfig({ serviceLimits: { perPrincipalsInFlight: 6 } })).toThrow(/unknown field/);
  });
});

describe('the daily count', () => {
  const noon = Date.parse('2026-12-06T12:00:00.000Z');
  const lastSecond = Date.parse('2026-12-06T23:59:59.500Z');
  const midnight = Date.parse('2026-12-07T00:00:00.000Z');

  it('is kept per UTC date and resets at 00:00 UTC', () => {
    expect(utcDay(noon)).toBe('2026-12-06');
    expect(utcDay(lastSecond)).toBe('2026-12-06');
    expect(utcDay(midnight)).toBe('2026-12-07');
    expect(nextUtcMidnight(noon)).toBe(midnight);
    expect(nextUtcMidnight(midnight)).toBe(midnight + 86_400_000);
    // The counter item outlives its day by a day, then DynamoDB's TTL removes it.
    expect(dailyItemExpiry(noon)).toBe(midnight / 1000 + 86_400);
  });

  it('asks for a Retry-After until midnight, at least 1 s and at most an hour', () => {
    expect(dailyRetryAfterSeconds(noon)).toBe(DAILY_RETRY_AFTER_CAP_SECONDS);
    expect(dailyRetryAfterSeconds(midnight - 90_000)).toBe(90);
    expect(dailyRetryAfterSeconds(lastSecond)).toBe(1);
  });

  it('refuses with 429 RATE_LIMITED naming the per-principal limit, not an API key', () => {
    const error = admissionError('day', { ...DEFAULT_SERVICE_LIMITS, perPrincipalPerDay: 25 }, midnight - 600_000);
    expect([error.code, error.httpStatus, error.retryAfterSeconds]).toEqual(['RATE_LIMITED', 429, 600]);
    expect(error.details).toEqual({ limit: 25, period: 'day', resetsAt: '2026-12-07T00:00:00.000Z' });
    expect(error.message).toMatch(/25 conversions today/);
    const inFlight = admissionError('owner', DEFAULT_SERVICE_LIMITS);
    for (const message of [error.message, inFlight.message]) expect(message).not.toMatch(/API key/i);
  });
});
