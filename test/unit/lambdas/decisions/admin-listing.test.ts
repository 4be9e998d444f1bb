import { describe, expect, it } from 'vitest';
import { listingPlan } from '../../../../lambdas/decisions/admin-listing';

const RANGE = { since: '2026-10-15T00:00:00.000Z', until: '2026-12-06T00:00:00.000Z' };

describe('which index serves an admin listing', () => {
  it('takes the error code first, then the owner, then the state, else the creation months', () => {
    expect(listingPlan({ code: 'ZIP_CORRUPT', owner: 'o', state: 'REJECTED' }, RANGE)).toEqual({
      index: 'code',
      partitions: ['ZIP_CORRUPT'],
      filter: { status: 'REJECTED', owner: 'o' },
    });
    expect(listingPlan({ owner: 'o', state: 'FAILED' }, RANGE)).toEqual({
      index: 'owner',
      partitions: ['o'],
      filter: { status: 'FAILED' },
    });
    expect(listingPlan({ state: 'FAILED' }, RANGE)).toEqual({ index: 'status', partitions: ['FAILED'], filter: {} });
    expect(listingPlan({}, RANGE)).toEqual({ index: 'month', partitions: ['2026-12', '2026-11', '2026-10'], filter: {} });
  });
});
