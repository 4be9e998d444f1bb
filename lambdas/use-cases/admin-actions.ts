/**
 * What admins do to jobs of any owner — cancel, delete — through the owner's own paths (job-cancellation.ts,
 * job-deletion.ts, called with the job's real owner), and the audit trail every such action leaves: one entry
 * {who, action, target, at, outcome} per request, written after the action, whatever its outcome. The audit write
 * must succeed for the request to: an action whose entry could not be written answers 500, and since cancel and
 * delete are idempotent the retry that follows writes it.
 */
import { randomUUID } from 'node:crypto';
import type { AdminListAuditResponse, AuditAction, AuditEntry } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import type { Principal } from '../../core/principal';
import { monthsNewestFirst } from '../../core/time-range';
import type { AuditLog } from '../storage/audit-log';
import type { StoredJob } from '../storage/job-store';
import { logger } from '../runtime/observability';
import { cancelJob, type CancelJobDeps, type CancelResult } from './job-cancellation';
import { deleteJob, type DeleteJobDeps, type DeleteResult } from './job-deletion';
import { requestRange } from './admin-jobs';
import { decodeAuditCursor, encodeAuditCursor, type AuditCursor } from '../decisions/audit-cursor';

export interface AdminActionDeps {
  audit: AuditLog;
  now?: () => number;
}

type AuditTarget = AuditEntry['target'];

/**
 * Writes the audit entry of one admin action: `act` runs, then one entry records its outcome — succeeded (with the
 * fields `succeeded` derives from the result), refused (a DomainError under 500, with its code) or failed — and
 * only then does the request answer, so an entry that cannot be written fails the request.
 */
export async function auditedAction<R>(
  deps: AdminActionDeps,
  admin: Principal,
  action: AuditAction,
  target: AuditTarget,
  act: () => Promise<R>,
  succeeded: (result: R) => Partial<AuditEntry> = () => ({}),
): Promise<R> {
  const now = deps.now ?? Date.now;
  const base = { id: randomUUID(), who: { id: admin.id, name: admin.name, kind: admin.kind, role: admin.role }, action, target };
  const record = async (fields: Partial<AuditEntry>) => {
    const entry: AuditEntry = { ...base, at: new Date(now()).toISOString(), outcome: 'succeeded', ...fields };
    await deps.audit.append(entry);
    // A key is named by its principal in logs, never by its hash.
    const about = entry.target.type === 'key' ? { owner: entry.target.owner } : { targetId: entry.target.id };
    logger.info('Admin action', { action, target: entry.target.type, ...about, outcome: entry.outcome, code: entry.code });
  };
  let result: R;
  try {
    result = await act();
  } catch (error) {
    const refused = error instanceof DomainError && error.httpStatus < 500;
    await record({ outcome: refused ? 'refused' : 'failed', code: error instanceof DomainError ? error.code : 'INTERNAL_ERROR' });
    throw error;
  }
  await record({ outcome: 'succeeded', ...succeeded(result) });
  return result;
}

/** Runs `act` on the job, whoever owns it, and records the outcome in the audit trail. */
async function audited<R extends { job: StoredJob }>(
  deps: AdminActionDeps & { store: CancelJobDeps['store'] },
  admin: Principal,
  action: AuditAction,
  jobId: string,
  act: (owner: string) => Promise<R>,
): Promise<R> {
  const now = deps.now ?? Date.now;
  const target: AuditTarget = { type: 'job', id: jobId };
  return auditedAction(
    deps,
    admin,
    action,
    target,
    async () => {
      const job = await deps.store.get(jobId, now());
      if (!job) throw new DomainError('NOT_FOUND');
      target.owner = job.owner;
      return act(job.owner);
    },
    (result) => ({ status: result.job.status }),
  );
}

export function adminCancelJob(deps: CancelJobDeps & AdminActionDeps, admin: Principal, jobId: string): Promise<CancelResult> {
  return audited(deps, admin, 'job.cancel', jobId, (owner) => cancelJob(deps, owner, jobId));
}

export function adminDeleteJob(deps: DeleteJobDeps & AdminActionDeps, admin: Principal, jobId: string): Promise<DeleteResult> {
  return audited(deps, admin, 'job.delete', jobId, (owner) => deleteJob(deps, owner, jobId));
}

/** One page of the audit trail in the range, newest first, walking the range's months from the newest. */
export async function listAudit(
  audit: AuditLog,
  request: { since?: string; until?: string; limit: number; nextToken?: string },
  nowMs: number = Date.now(),
): Promise<AdminListAuditResponse> {
  const range = requestRange(request, nowMs);
  const months = monthsNewestFirst(range);
  let cursor: AuditCursor | undefined = decodeAuditCursor(request.nextToken, months, range) ?? { p: months[0]! };
  const entries: AuditEntry[] = [];
  while (cursor && entries.length < request.limit) {
    const page = await audit.listMonth(cursor.p, range.since, range.until, request.limit - entries.length, cursor.k);
    entries.push(...page.entries);
    const next: string | undefined = months[months.indexOf(cursor.p) + 1];
    cursor = page.lastKey ? { p: cursor.p, k: page.lastKey } : next ? { p: next } : undefined;
  }
  const nextToken = encodeAuditCursor(cursor);
  return { entries, since: range.since, until: range.until, ...(nextToken ? { nextToken } : {}) };
}
