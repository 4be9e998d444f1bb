import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_LIMITS } from '../../../../core/limits';
import { admissionError, retryAfterSeconds } from '../../../../lambdas/storage/capacity';
import { planCapacityRepair } from '../../../../lambdas/decisions/capacity-plan';
import { globalCapacityPk, ownerCapacityPk } from '../../../../lambdas/storage/table-keys';

const G = globalCapacityPk();
const A = ownerCapacityPk('a');
const B = ownerCapacityPk('b');

describe('planCapacityRepair', () => {
  it('finds nothing to do when the ledgers hold exactly the jobs in flight', () => {
    const plan = planCapacityRepair(
      [
        { pk: G, scope: 'global', inFlight: 2, holders: ['j1', 'j2'] },
        { pk: A, scope: 'owner', capacityOwner: 'a', inFlight: 1, holders: ['j1'] },
        { pk: B, scope: 'owner', capacityOwner: 'b', inFlight: 1, holders: ['j2'] },
      ],
      [
        { jobId: 'j1', owner: 'a' },
        { jobId: 'j2', owner: 'b' },
      ],
    );
    expect(plan).toMatchObject({ unexplained: [], missing: [], miscounted: [] });
    expect(plan.expected.get(G)).toBe(2);
  });

  it('lists holders without an in-flight job, in-flight jobs without a holder, and miscounts', () => {
    const plan = planCapacityRepair(
      [
        { pk: G, scope: 'global', inFlight: 3, holders: ['j1', 'leak'] },
        { pk: A, scope: 'owner', capacityOwner: 'a', inFlight: 1, holders: ['j1'] },
      ],
      [
        { jobId: 'j1', owner: 'a' },
        { jobId: 'j2', owner: 'b' },
      ],
    );
    expect(plan.unexplained).toEqual([{ pk: G, jobId: 'leak' }]);
    expect(plan.missing).toEqual([
      { pk: G, jobId: 'j2', scope: 'global', capacityOwner: undefined },
      { pk: B, jobId: 'j2', scope: 'owner', capacityOwner: 'b' },
    ]);
    expect(plan.miscounted.map((l) => l.pk)).toEqual([G]);
  });

  it('treats every holder as unexplained when nothing is in flight', () => {
    const plan = planCapacityRepair([{ pk: A, scope: 'owner', capacityOwner: 'a', inFlight: 1, holders: ['x'] }], []);
    expect(plan.unexplained).toEqual([{ pk: A, jobId: 'x' }]);
    expect(plan.missing).toEqual([]);
  });
});

describe('admission errors', () => {
  it('answers SERVER_BUSY (503) for the global limit and RATE_LIMITED (429) per key, with Retry-After', () => {
    const busy = admissionError('global', DEFAULT_SERVICE_LIMITS);
    const limited = admissionError('owner', DEFAULT_SERVICE_LIMITS);
    expect([busy.code, busy.httpStatus, busy.details]).toEqual(['SERVER_BUSY', 503, { limit: 20 }]);
    expect([limited.code, limited.httpStatus, limited.details]).toEqual(['RATE_LIMITED', 429, { limit: 5 }]);
    expect(busy.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('keeps Retry-After between 10 s and 2 min whatever the converter limit', () => {
    for (const converterTimeoutSeconds of [1, 60, 300, 3600, 86_400]) {
      for (const scope of ['global', 'owner'] as const) {
        const seconds = retryAfterSeconds(scope, { ...DEFAULT_SERVICE_LIMITS, converterTimeoutSeconds });
        expect(seconds).toBeGreaterThanOrEqual(10);
        expect(seconds).toBeLessThanOrEqual(120);
      }
    }
  });
});
