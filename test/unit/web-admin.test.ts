/** The admin page's pure parts: what its forms ask the API for, the pager's tokens, and the usage chart's geometry. */
import { describe, expect, it } from 'vitest';
import type { PrincipalUsage } from '../../core/api-schemas';
import { describeFilters, jobsQuery, PageTokens, rangeQuery, type JobFilters } from '../../web/src/admin/queries';
import { layoutUsage, principalLabel, segmentCounts } from '../../web/src/admin/usage-chart';

const none: JobFilters = { state: '', code: '', owner: '', since: '', until: '' };

describe('admin queries', () => {
  it('leaves empty fields out, trims text, and passes only known states and codes', () => {
    expect(jobsQuery(none)).toEqual({ limit: 25 });
    expect(jobsQuery({ state: 'FAILED', code: 'CONVERTER_PARSE_ERROR', owner: ' oidc:x#1 ', since: ' 7d', until: '' }, 'tok', 10)).toEqual({
      state: 'FAILED',
      code: 'CONVERTER_PARSE_ERROR',
      owner: 'oidc:x#1',
      since: '7d',
      limit: 10,
      nextToken: 'tok',
    });
    expect(jobsQuery({ ...none, state: 'NOPE', code: 'NOT_A_CODE' })).toEqual({ limit: 25 });
    expect(rangeQuery('', ' 2026-12-01T00:00:00Z ')).toEqual({ until: '2026-12-01T00:00:00Z' });
  });

  it('describes the filters in words, the default range included', () => {
    expect(describeFilters(none)).toBe('since 30d');
    expect(describeFilters({ state: 'REJECTED', code: 'ZIP_DISALLOWED_FILE', owner: 'p1', since: '24h', until: '1h' })).toBe(
      'state REJECTED, code ZIP_DISALLOWED_FILE, owner p1, since 24h, until 1h',
    );
  });

  it('remembers the token of every page seen, so "Previous page" goes back one', () => {
    const pages = new PageTokens();
    expect([pages.page, pages.current, pages.hasPrevious]).toEqual([1, undefined, false]);
    pages.next('a');
    pages.next('b');
    expect([pages.page, pages.current, pages.hasPrevious]).toEqual([3, 'b', true]);
    pages.previous();
    expect([pages.page, pages.current]).toEqual([2, 'a']);
    pages.reset();
    pages.previous();
    expect([pages.page, pages.current]).toEqual([1, undefined]);
  });
});

function usage(principalId: string, counts: Partial<PrincipalUsage> & { jobs: number }, name?: string): PrincipalUsage {
  return { principalId, succeeded: 0, failed: 0, rejected: 0, cancelled: 0, days: [], ...(name ? { name } : {}), ...counts };
}

describe('usage chart layout', () => {
  it('scales every bar to the busiest principal and splits it by outcome, the rest as "other"', () => {
    const layout = layoutUsage(
      [usage('a', { jobs: 10, succeeded: 6, failed: 2, rejected: 1 }, 'ci-bot'), usage('oidc:issuer#b', { jobs: 5, succeeded: 5 })],
      { width: 448, labelWidth: 200, barHeight: 20, gap: 10 },
    );
    const plot = 448 - 200 - 48;
    expect(layout.height).toBe(10 + 2 * 30);
    const [first, second] = layout.bars;
    expect(first!.label).toBe('ci-bot');
    expect(first!.segments.map((s) => [s.kind, s.count])).toEqual([
      ['succeeded', 6],
      ['failed', 2],
      ['rejected', 1],
      ['other', 1],
    ]);
    const end = first!.segments.at(-1)!;
    expect(end.x + end.width).toBeCloseTo(200 + plot);
    expect(first!.segments[1]!.x).toBeCloseTo(200 + 0.6 * plot);
    expect(second!.label).toBe('b');
    expect(second!.y).toBe(40);
    expect(second!.segments).toEqual([{ kind: 'succeeded', x: 200, width: plot / 2, count: 5 }]);
  });

  it('names a person by their subject, cuts long labels, and never counts "other" below zero', () => {
    expect(principalLabel({ principalId: 'x'.repeat(40) }, 10)).toBe(`${'x'.repeat(9)}…`);
    expect(principalLabel({ principalId: 'oidc:https://idp.example#alice', name: 'Alice' })).toBe('Alice');
    expect(segmentCounts(usage('a', { jobs: 1, succeeded: 1, failed: 1 })).other).toBe(0);
    expect(layoutUsage([]).bars).toEqual([]);
  });
});
