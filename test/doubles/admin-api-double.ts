/**
 * TEST DOUBLE of the admin routes (docs/api.md "Admin API") inside the jobs API double (jobs-api-double.ts): only
 * its admin keys reach them (anyone else: 403 FORBIDDEN); queries and bodies are checked with core/'s strict schemas
 * (a parameter the API does not take is 400 INVALID_REQUEST, as the service answers). Listings page like the service:
 * a window of `limit` jobs of the range, then the filters, so a page may hold fewer and still have a nextToken. Keys
 * live in memory and authenticate at once (no authorizer cache); every admin action appends an audit entry. It is not
 * the service: job history is made from the job's timestamps, and jobs stay where the owner routes left them.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AdminCreateKeyRequestSchema,
  AdminListAuditQuerySchema,
  AdminListJobsQuerySchema,
  AdminListKeysQuerySchema,
  AdminPutPersonRequestSchema,
  AdminTimeRangeQuerySchema,
  type AdminJobDetail,
  type AdminJobView,
  type AuditAction,
  type AuditEntry,
  type JobView,
  type KeyView,
  type PersonStandingView,
  type PrincipalUsage,
} from '../../core/api-schemas';
import type { ErrorCode } from '../../core/errors';
import { JOB_STATUSES, type JobStatus } from '../../core/job-states';
import { generateApiKey, hashApiKey } from '../../core/node/api-key';
import type { PrincipalRole } from '../../core/principal';
import { resolveTimeRange, TimeRangeError, type TimeRange } from '../../core/time-range';

export interface DoubleKey {
  view: Omit<KeyView, 'jobsInFlight' | 'conversionsToday'>;
  value: string;
}

export interface AdminDoubleState {
  /** Keys made through POST /admin/keys, by key id. */
  keys: Map<string, DoubleKey>;
  /** Every value a key made here ever had → its principal (jobs keep their owner after a rotation or delete). */
  principals: Map<string, string>;
  people: Map<string, PersonStandingView>;
  /** Newest last. */
  audit: AuditEntry[];
}

/** What the jobs API double lends the admin routes. */
export interface AdminDoubleContext {
  jobs: Map<string, { view: JobView; owner: string }>;
  /** The key values the double accepts with role user and with role admin (keys made here are added to them). */
  userKeys: string[];
  adminKeys: string[];
  admin: AdminDoubleState;
  now(): number;
  /** The principal a key value stands for. */
  principalOf(key: string): string;
  api(res: ServerResponse, method: string, template: string, status: number, body: unknown, headers?: Record<string, string>): void;
  /** A 200 text/plain answer (the logs). */
  plainText(res: ServerResponse, method: string, template: string, text: string): void;
  apiError(
    res: ServerResponse,
    method: string,
    template: string,
    code: ErrorCode,
    message?: string,
    details?: Record<string, unknown>,
  ): void;
  readText(req: IncomingMessage): Promise<string>;
}

export function createAdminState(): AdminDoubleState {
  return { keys: new Map(), principals: new Map(), people: new Map(), audit: [] };
}

const RAN: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT'];
const STAGES: readonly [keyof JobView, JobStatus][] = [
  ['uploadedAt', 'VALIDATING'],
  ['queuedAt', 'QUEUED'],
  ['startedAt', 'RUNNING'],
];

/** Answers one /admin request of `caller` (a key value the double accepted). */
export async function handleAdmin(
  ctx: AdminDoubleContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  caller: string,
): Promise<void> {
  const path = url.pathname;
  const template = templateOf(path);
  if (!ctx.adminKeys.includes(caller)) return ctx.apiError(res, method, template, 'FORBIDDEN', 'This route is for administrators only.');
  const query = Object.fromEntries(url.searchParams);
  const refuse = (message: string, details?: Record<string, unknown>) =>
    ctx.apiError(res, method, template, 'INVALID_REQUEST', message, details);
  const who = whoOf(ctx, caller);

  if (method === 'GET' && path === '/admin/jobs') {
    const parsed = AdminListJobsQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('The query is not valid.', { issues: parsed.error.issues.map((i) => i.message) });
    const range = rangeOf(query, ctx.now());
    if (typeof range === 'string') return refuse(range);
    const { limit = 20, nextToken, state, code, owner } = parsed.data;
    const offset = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    const inRange = adminViews(ctx).filter((job) => job.createdAt >= range.since && job.createdAt <= range.until);
    const window = inRange.slice(offset, offset + limit);
    const jobs = window.filter(
      (job) => (!state || job.status === state) && (!code || job.error?.code === code) && (!owner || job.owner === owner),
    );
    const more = offset + limit < inRange.length;
    return ctx.api(res, method, template, 200, {
      jobs,
      ...(more ? { nextToken: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
      ...range,
    });
  }
  if (method === 'GET' && path === '/admin/jobs/counts') {
    const range = rangeQuery(query, ctx.now());
    if (typeof range === 'string') return refuse(range);
    const jobs = adminViews(ctx).filter((job) => job.createdAt >= range.since && job.createdAt <= range.until);
    const byState = Object.fromEntries(JOB_STATUSES.map((status) => [status, jobs.filter((j) => j.status === status).length]));
    const byCode: Record<string, number> = {};
    for (const job of jobs) if (job.error) byCode[job.error.code] = (byCode[job.error.code] ?? 0) + 1;
    return ctx.api(res, method, template, 200, { ...range, total: jobs.length, byState, byCode });
  }
  if (method === 'GET' && path === '/admin/audit') {
    const parsed = AdminListAuditQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('The query is not valid.', { issues: parsed.error.issues.map((i) => i.message) });
    const range = rangeOf(query, ctx.now());
    if (typeof range === 'string') return refuse(range);
    const { limit = 20, nextToken } = parsed.data;
    const offset = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    const entries = [...ctx.admin.audit].reverse().filter((e) => e.at >= range.since && e.at <= range.until);
    const more = offset + limit < entries.length;
    return ctx.api(res, method, template, 200, {
      entries: entries.slice(offset, offset + limit),
      ...(more ? { nextToken: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
      ...range,
    });
  }
  const jobMatch = /^\/admin\/jobs\/([^/]+)(\/logs|\/cancel)?$/.exec(path);
  if (jobMatch) {
    const job = ctx.jobs.get(decodeURIComponent(jobMatch[1]!));
    const action: AuditAction | undefined = method === 'DELETE' ? 'job.delete' : jobMatch[2] === '/cancel' ? 'job.cancel' : undefined;
    if (!job) {
      if (action) audit(ctx, who, action, { type: 'job', id: decodeURIComponent(jobMatch[1]!) }, 'refused', 'NOT_FOUND');
      return ctx.apiError(res, method, template, 'NOT_FOUND', 'No such job.');
    }
    const owner = ctx.principalOf(job.owner);
    if (method === 'GET' && !jobMatch[2]) return ctx.api(res, method, template, 200, detailOf(job.view, owner));
    if (method === 'GET' && jobMatch[2] === '/logs') {
      if (!RAN.includes(job.view.status))
        return ctx.apiError(res, method, template, 'LOG_NOT_AVAILABLE', undefined, { status: job.view.status });
      const text = `k2p-web conversion log: job ${job.view.jobId}, workflow ${job.view.workflowName}\n== knime2py exited ==\n`;
      return ctx.plainText(res, method, template, text);
    }
    if (method === 'POST' && jobMatch[2] === '/cancel') {
      if (job.view.terminal) {
        audit(ctx, who, 'job.cancel', { type: 'job', id: job.view.jobId, owner }, 'refused', 'JOB_ALREADY_ENDED', job.view.status);
        return ctx.apiError(res, method, template, 'JOB_ALREADY_ENDED', `The job has already ended (${job.view.status}).`, {
          status: job.view.status,
        });
      }
      const running = job.view.status === 'RUNNING';
      const at = iso(ctx.now());
      job.view = strip({
        ...job.view,
        status: running ? 'CANCELLING' : 'CANCELLED',
        terminal: !running,
        updatedAt: at,
        ...(running ? {} : { finishedAt: at }),
        retryAfterSeconds: undefined,
      });
      audit(ctx, who, 'job.cancel', { type: 'job', id: job.view.jobId, owner }, 'succeeded', undefined, job.view.status);
      return ctx.api(res, method, template, running ? 202 : 200, { ...job.view, owner });
    }
    if (method === 'DELETE' && !jobMatch[2]) {
      const at = iso(ctx.now());
      job.view = strip({
        ...job.view,
        status: 'DELETED',
        terminal: true,
        updatedAt: at,
        finishedAt: job.view.finishedAt ?? at,
        result: undefined,
        retryAfterSeconds: undefined,
        uploadExpiresAt: undefined,
      });
      audit(ctx, who, 'job.delete', { type: 'job', id: job.view.jobId, owner }, 'succeeded', undefined, 'DELETED');
      return ctx.api(res, method, template, 200, { ...job.view, owner });
    }
  }
  if (method === 'GET' && path === '/admin/keys') {
    const parsed = AdminListKeysQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('The query is not valid.', { issues: parsed.error.issues.map((i) => i.message) });
    const { limit = 20, nextToken, principalId } = parsed.data;
    const offset = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    const keys = [...ctx.admin.keys.values()]
      .filter((key) => !principalId || key.view.principalId === principalId)
      .reverse()
      .map((key) => keyView(ctx, key));
    const more = offset + limit < keys.length;
    return ctx.api(res, method, template, 200, {
      keys: keys.slice(offset, offset + limit),
      ...(more ? { nextToken: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
    });
  }
  if (method === 'POST' && path === '/admin/keys') {
    const parsed = AdminCreateKeyRequestSchema.safeParse(await jsonBody(ctx, req));
    if (!parsed.success) return refuse('The request body is not valid.', { issues: parsed.error.issues.map((i) => i.message) });
    const key = addKey(ctx, {
      principalId: parsed.data.principalId ?? randomUUID(),
      name: parsed.data.name,
      role: parsed.data.role ?? 'user',
    });
    audit(ctx, who, 'key.create', keyTarget(key), 'succeeded');
    return ctx.api(res, method, template, 201, { key: keyView(ctx, key), value: key.value });
  }
  const keyMatch = /^\/admin\/keys\/([^/]+)(\/disable|\/enable|\/rotate)?$/.exec(path);
  if (keyMatch) {
    const keyId = decodeURIComponent(keyMatch[1]!);
    const key = ctx.admin.keys.get(keyId);
    const verb = keyMatch[2]?.slice(1) ?? (method === 'DELETE' ? 'delete' : undefined);
    if (!verb || (verb === 'delete') !== (method === 'DELETE')) return ctx.apiError(res, method, template, 'NOT_FOUND');
    const action = `key.${verb}` as AuditAction;
    if (!key) {
      audit(ctx, who, action, { type: 'key', id: keyId }, 'refused', 'NOT_FOUND');
      return ctx.apiError(res, method, template, 'NOT_FOUND', 'No such key.');
    }
    if (verb === 'disable' || verb === 'enable') {
      key.view.enabled = verb === 'enable';
      forget(ctx, key.value);
      if (key.view.enabled) (key.view.role === 'admin' ? ctx.adminKeys : ctx.userKeys).push(key.value);
      audit(ctx, who, action, keyTarget(key), 'succeeded');
      return ctx.api(res, method, template, 200, { key: keyView(ctx, key) });
    }
    ctx.admin.keys.delete(keyId);
    forget(ctx, key.value);
    if (verb === 'rotate') {
      // As the registry does: the new value keeps the key's standing (a disabled key's rotation is disabled too).
      const rotated = addKey(ctx, { principalId: key.view.principalId, name: key.view.name, role: key.view.role }, keyId, key.view.enabled);
      audit(ctx, who, action, keyTarget(key), 'succeeded');
      return ctx.api(res, method, template, 201, { key: keyView(ctx, rotated), value: rotated.value });
    }
    audit(ctx, who, action, keyTarget(key), 'succeeded');
    return ctx.api(res, method, template, 200, { key: keyView(ctx, key) });
  }
  if (method === 'GET' && path === '/admin/people') {
    return ctx.api(res, method, template, 200, { people: [...ctx.admin.people.values()] });
  }
  const personMatch = /^\/admin\/people\/([^/]+)$/.exec(path);
  if (method === 'PUT' && personMatch) {
    const parsed = AdminPutPersonRequestSchema.safeParse(await jsonBody(ctx, req));
    if (!parsed.success) return refuse('The request body is not valid.', { issues: parsed.error.issues.map((i) => i.message) });
    const principalId = decodeURIComponent(personMatch[1]!);
    const before = ctx.admin.people.get(principalId);
    const role = parsed.data.role === undefined ? before?.role : (parsed.data.role ?? undefined);
    const person: PersonStandingView = {
      principalId,
      enabled: parsed.data.enabled ?? before?.enabled ?? true,
      ...(role ? { role } : {}),
      updatedAt: iso(ctx.now()),
    };
    ctx.admin.people.set(principalId, person);
    audit(ctx, who, 'person.update', { type: 'person', id: principalId }, 'succeeded');
    return ctx.api(res, method, template, 200, { person });
  }
  if (method === 'GET' && path === '/admin/usage') {
    const range = rangeQuery(query, ctx.now());
    if (typeof range === 'string') return refuse(range);
    return ctx.api(res, method, template, 200, { ...range, principals: usageOf(ctx, range) });
  }
  return ctx.apiError(res, method, template, 'NOT_FOUND', 'No such route: check the method and the path.');
}

/** The route's template, as docs/openapi.yaml names it. */
function templateOf(path: string): string {
  const rules: [RegExp, string][] = [
    [/^\/admin\/jobs\/counts$/, '/admin/jobs/counts'],
    [/^\/admin\/jobs\/[^/]+\/logs$/, '/admin/jobs/{id}/logs'],
    [/^\/admin\/jobs\/[^/]+\/cancel$/, '/admin/jobs/{id}/cancel'],
    [/^\/admin\/jobs\/[^/]+$/, '/admin/jobs/{id}'],
    [/^\/admin\/keys\/[^/]+\/(disable|enable|rotate)$/, '/admin/keys/{keyId}/$1'],
    [/^\/admin\/keys\/[^/]+$/, '/admin/keys/{keyId}'],
    [/^\/admin\/people\/[^/]+$/, '/admin/people/{principalId}'],
  ];
  for (const [pattern, template] of rules) {
    const match = pattern.exec(path);
    if (match) return template.replace('$1', match[1] ?? '');
  }
  return path;
}

/** The range of a listing query (its other parameters are checked by the caller's schema). */
function rangeOf(query: Record<string, string>, nowMs: number): TimeRange | string {
  try {
    return resolveTimeRange(query, nowMs);
  } catch (error) {
    if (error instanceof TimeRangeError) return error.message;
    throw error;
  }
}

/** A query that is only a range (counts, usage): anything else in it is refused. */
function rangeQuery(query: Record<string, string>, nowMs: number): TimeRange | string {
  const parsed = AdminTimeRangeQuerySchema.safeParse(query);
  if (!parsed.success) return `The query is not valid: ${parsed.error.issues.map((i) => i.message).join('; ')}`;
  return rangeOf(query, nowMs);
}

function adminViews(ctx: AdminDoubleContext): AdminJobView[] {
  return [...ctx.jobs.values()]
    .map((job) => ({ ...job.view, owner: ctx.principalOf(job.owner) }))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

function detailOf(view: JobView, owner: string): AdminJobDetail {
  const history: AdminJobDetail['history'] = [{ status: 'AWAITING_UPLOAD', at: view.createdAt }];
  for (const [field, status] of STAGES) {
    const at = view[field];
    if (typeof at === 'string') history.push({ status, at });
  }
  if (view.terminal && view.finishedAt) history.push({ status: view.status, at: view.finishedAt });
  const rejected = view.status === 'REJECTED';
  const accepted = !rejected && history.some((entry) => entry.status === 'QUEUED');
  return {
    job: { ...view, owner },
    history,
    validation: {
      verdict: rejected ? 'rejected' : accepted ? 'accepted' : 'pending',
      ...(view.bundle ? { bundle: view.bundle } : {}),
      ...(rejected && view.error ? { error: view.error } : {}),
    },
    converter: view.converter ?? null,
    report: view.result ?? null,
    log: RAN.includes(view.status) ? { available: true, bytes: 120 } : { available: false },
  };
}

function addKey(
  ctx: AdminDoubleContext,
  who: { principalId: string; name: string; role: PrincipalRole },
  rotatedFrom?: string,
  enabled = true,
): DoubleKey {
  const value = generateApiKey();
  const key: DoubleKey = {
    value,
    view: {
      keyId: hashApiKey(value),
      ...who,
      kind: 'program',
      enabled,
      createdAt: iso(ctx.now()),
      ...(rotatedFrom ? { rotatedFrom } : {}),
    },
  };
  ctx.admin.keys.set(key.view.keyId, key);
  ctx.admin.principals.set(value, who.principalId);
  if (enabled) (who.role === 'admin' ? ctx.adminKeys : ctx.userKeys).push(value);
  return key;
}

/** The value is no longer accepted (the double has no authorizer cache to wait for). */
function forget(ctx: AdminDoubleContext, value: string): void {
  for (const list of [ctx.userKeys, ctx.adminKeys]) {
    const index = list.indexOf(value);
    if (index >= 0) list.splice(index, 1);
  }
}

function keyView(ctx: AdminDoubleContext, key: DoubleKey): KeyView {
  const theirs = [...ctx.jobs.values()].filter((job) => ctx.principalOf(job.owner) === key.view.principalId);
  const today = iso(ctx.now()).slice(0, 10);
  return {
    ...key.view,
    jobsInFlight: theirs.filter((job) => !job.view.terminal && job.view.status !== 'AWAITING_UPLOAD').length,
    conversionsToday: theirs.filter((job) => job.view.createdAt.startsWith(today)).length,
  };
}

function keyTarget(key: DoubleKey): AuditEntry['target'] {
  return { type: 'key', id: key.view.keyId, owner: key.view.principalId, name: key.view.name };
}

function usageOf(ctx: AdminDoubleContext, range: TimeRange): PrincipalUsage[] {
  const byPrincipal = new Map<string, PrincipalUsage>();
  for (const job of adminViews(ctx).reverse()) {
    if (job.createdAt < range.since || job.createdAt > range.until) continue;
    const usage = byPrincipal.get(job.owner) ?? {
      principalId: job.owner,
      ...nameOf(ctx, job.owner),
      jobs: 0,
      succeeded: 0,
      failed: 0,
      rejected: 0,
      cancelled: 0,
      days: [],
    };
    usage.jobs += 1;
    if (job.status === 'SUCCEEDED') usage.succeeded += 1;
    if (job.status === 'FAILED' || job.status === 'TIMED_OUT') usage.failed += 1;
    if (job.status === 'REJECTED') usage.rejected += 1;
    if (job.status === 'CANCELLED') usage.cancelled += 1;
    const date = job.createdAt.slice(0, 10);
    const day = usage.days.find((d) => d.date === date);
    if (day) day.jobs += 1;
    else usage.days.push({ date, jobs: 1 });
    byPrincipal.set(job.owner, usage);
  }
  return [...byPrincipal.values()].sort((a, b) => b.jobs - a.jobs || a.principalId.localeCompare(b.principalId));
}

function nameOf(ctx: AdminDoubleContext, principalId: string): { name?: string; kind?: 'program' } {
  const key = [...ctx.admin.keys.values()].find((k) => k.view.principalId === principalId);
  return key ? { name: key.view.name, kind: 'program' } : {};
}

function whoOf(ctx: AdminDoubleContext, caller: string): AuditEntry['who'] {
  const id = ctx.principalOf(caller);
  const key = [...ctx.admin.keys.values()].find((k) => k.value === caller);
  return { id, name: key?.view.name ?? 'double-admin', kind: 'program', role: 'admin' };
}

function audit(
  ctx: AdminDoubleContext,
  who: AuditEntry['who'],
  action: AuditAction,
  target: AuditEntry['target'],
  outcome: AuditEntry['outcome'],
  code?: ErrorCode,
  status?: JobStatus,
): void {
  ctx.admin.audit.push({
    id: randomUUID(),
    at: iso(ctx.now()),
    who,
    action,
    target,
    outcome,
    ...(code ? { code } : {}),
    ...(status ? { status } : {}),
  });
}

async function jsonBody(ctx: AdminDoubleContext, req: IncomingMessage): Promise<unknown> {
  const text = await ctx.readText(req);
  try {
    return text.trim() ? JSON.parse(text) : {};
  } catch {
    return undefined;
  }
}

function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
