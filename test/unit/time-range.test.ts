import { describe, expect, it } from 'vitest';
import { DEFAULT_RANGE_DAYS, monthsNewestFirst, parseTimeBound, resolveTimeRange, TimeRangeError } from '../../core/time-range';

const NOW = Date.parse('2026-12-06T10:00:00.000Z');

describe('admin time ranges', () => {
  it('reads spans back from now and ISO date-times with an offset', () => {
    expect(parseTimeBound('90m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseTimeBound('24h', NOW)).toBe(NOW - 86_400_000);
    expect(parseTimeBound('7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTimeBound('2026-12-01T00:00:00+01:00', NOW)).toBe(Date.parse('2026-11-30T23:00:00Z'));
    for (const bad of ['yesterday', '24', '1w', '-1h', '2026-12-01', '2026-12-01T00:00:00', '2026-13-01T00:00:00Z']) {
      expect(parseTimeBound(bad, NOW), bad).toBeUndefined();
    }
  });

  it('defaults to the last 30 days, and refuses reversed or too long ranges naming the field', () => {
    expect(resolveTimeRange({}, NOW)).toEqual({
      since: new Date(NOW - DEFAULT_RANGE_DAYS * 86_400_000).toISOString(),
      until: new Date(NOW).toISOString(),
    });
    expect(resolveTimeRange({ since: '2h', until: '1h' }, NOW)).toEqual({
      since: '2026-12-06T08:00:00.000Z',
      until: '2026-12-06T09:00:00.000Z',
    });
    const error = (query: { since?: string; until?: string }) => {
      try {
        resolveTimeRange(query, NOW);
      } catch (e) {
        return e instanceof TimeRangeError ? e.field : 'other';
      }
      return 'none';
    };
    expect(error({ since: '1h', until: '2h' })).toBe('since');
    expect(error({ since: '400d' })).toBe('since');
    expect(error({ until: 'soon' })).toBe('until');
    expect(error({ since: '366d' })).toBe('none');
  });

  it('walks the months a range touches, newest first, across a year', () => {
    expect(monthsNewestFirst({ since: '2025-11-30T00:00:00.000Z', until: '2026-02-01T00:00:00.000Z' })).toEqual([
      '2026-02',
      '2026-01',
      '2025-12',
      '2025-11',
    ]);
    expect(monthsNewestFirst({ since: '2026-12-01T00:00:00.000Z', until: '2026-12-06T00:00:00.000Z' })).toEqual(['2026-12']);
  });
});
