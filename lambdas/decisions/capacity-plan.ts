/**
 * Pure planning for the reaper's capacity repair: compare each ledger's
 * holders with the jobs actually in flight. A ledger is identified by its key,
 * defined here so the plan can name the ledgers it expects; storage places
 * these keys in the table (lambdas/storage/table-keys.ts).
 */

export type CapacityScope = 'global' | 'owner';

export interface CapacityLedger {
  pk: string;
  scope: CapacityScope;
  /** For per-principal ledgers: the principal id (the jobs' owner). */
  capacityOwner?: string;
  inFlight: number;
  holders: string[];
}

export const CAPACITY_PREFIX = 'CAP#';
export const globalCapacityPk = () => `${CAPACITY_PREFIX}GLOBAL`;
export const ownerCapacityPk = (owner: string) => `${CAPACITY_PREFIX}OWNER#${owner}`;

export interface InFlightJob {
  jobId: string;
  owner: string;
}

export interface HolderRef {
  pk: string;
  jobId: string;
}

export interface MissingHolder extends HolderRef {
  scope: CapacityScope;
  capacityOwner?: string;
}

export interface CapacityPlan {
  /** Holders with no in-flight job in the snapshot: leaked, or admitted after the scan (the reaper re-reads each). */
  unexplained: HolderRef[];
  /** In-flight jobs missing from a ledger (the reaper re-reads each before restoring). */
  missing: MissingHolder[];
  /** Ledgers whose count disagrees with their holder set. */
  miscounted: CapacityLedger[];
  /** Jobs in flight per ledger, as the snapshot saw them. */
  expected: Map<string, number>;
}

export function planCapacityRepair(ledgers: readonly CapacityLedger[], inFlight: readonly InFlightJob[]): CapacityPlan {
  const expected = new Map<string, Set<string>>();
  const scopes = new Map<string, { scope: CapacityScope; capacityOwner?: string }>();
  const expect = (pk: string, jobId: string, scope: CapacityScope, capacityOwner?: string) => {
    if (!expected.has(pk)) expected.set(pk, new Set());
    expected.get(pk)!.add(jobId);
    scopes.set(pk, { scope, capacityOwner });
  };
  expected.set(globalCapacityPk(), new Set());
  scopes.set(globalCapacityPk(), { scope: 'global' });
  for (const job of inFlight) {
    expect(globalCapacityPk(), job.jobId, 'global');
    expect(ownerCapacityPk(job.owner), job.jobId, 'owner', job.owner);
  }
  const byPk = new Map(ledgers.map((ledger) => [ledger.pk, ledger]));
  const unexplained: HolderRef[] = [];
  const missing: MissingHolder[] = [];
  for (const ledger of ledgers) {
    const want = expected.get(ledger.pk) ?? new Set<string>();
    for (const jobId of ledger.holders) if (!want.has(jobId)) unexplained.push({ pk: ledger.pk, jobId });
  }
  for (const [pk, want] of expected) {
    const held = new Set(byPk.get(pk)?.holders ?? []);
    for (const jobId of want) if (!held.has(jobId)) missing.push({ pk, jobId, ...scopes.get(pk)! });
  }
  return {
    unexplained,
    missing,
    miscounted: ledgers.filter((ledger) => ledger.inFlight !== ledger.holders.length),
    expected: new Map([...expected].map(([pk, ids]) => [pk, ids.size])),
  };
}
