/**
 * What admins do with program keys and people's standing: list keys newest first (never a value, with each
 * principal's jobs in flight and conversions today from the capacity items), create a key (its value in that answer
 * only), disable, enable, rotate (one registry transaction: the old value is refused from the next uncached request),
 * delete; list people with a standing and set one. Every change writes an audit entry (admin-actions.ts); reading
 * does not. Values come from core/node/api-key.ts and only their hashes reach the registry; none is logged.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type {
  AdminCreateKeyRequest,
  AdminKeySecretResponse,
  AdminListKeysResponse,
  AdminListPeopleResponse,
  AdminPutPersonRequest,
  KeyView,
  PersonStandingView,
} from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import { generateApiKey, hashApiKey } from '../../core/node/api-key';
import { PERSON_ID_PREFIX, type Principal } from '../../core/principal';
import { utcDay } from '../decisions/daily-quota';
import { decodePageToken, encodePageToken, invalidPageToken } from '../decisions/page-token';
import type { Capacity } from '../storage/capacity';
import { PROGRAMS_USAGE_PLAN, type KeyRecord, type KeyRegistry, type PersonStanding } from '../storage/key-registry';
import { auditedAction, type AdminActionDeps } from './admin-actions';

export interface AdminKeyDeps extends AdminActionDeps {
  registry: KeyRegistry;
  capacity: Capacity;
}

const noSuchKey = () => new DomainError('NOT_FOUND', 'No such key.');

/** Key views of records, with their principals' usage read in one batch. */
async function toKeyViews(capacity: Capacity, records: readonly KeyRecord[], nowMs: number): Promise<KeyView[]> {
  const usage = await capacity.principalUsage(
    records.map((r) => r.principalId),
    utcDay(nowMs),
  );
  return records.map((record) => ({
    keyId: record.keyHash,
    principalId: record.principalId,
    name: record.name,
    kind: record.kind,
    role: record.role,
    enabled: record.enabled !== false,
    createdAt: record.createdAt,
    ...(record.lastUsedAt ? { lastUsedAt: record.lastUsedAt } : {}),
    ...(record.rotatedFrom ? { rotatedFrom: record.rotatedFrom } : {}),
    ...(usage.get(record.principalId) ?? { jobsInFlight: 0, conversionsToday: 0 }),
  }));
}

// ---------------------------------------------------------------- listing

/** Where the next page starts: after the key with this creation time and hash (the listing's order). */
const KeyCursorSchema = z.strictObject({ c: z.string(), h: z.string().check(z.regex(/^[0-9a-f]{64}$/)) });
type KeyCursor = z.infer<typeof KeyCursorSchema>;

/** Newest first; keys made at the same instant by hash, so the order is total and a cursor names one place. */
const newestFirst = (a: KeyCursor, b: KeyCursor) => (a.c === b.c ? (a.h < b.h ? -1 : a.h > b.h ? 1 : 0) : a.c > b.c ? -1 : 1);

/** A page of the ordered items after `after`, and the cursor of its last item when more follow. */
function pageAfter<T, C>(
  items: readonly T[],
  after: C | undefined,
  limit: number,
  cursorOf: (item: T) => C,
  compare: (a: C, b: C) => number,
) {
  const start = after === undefined ? 0 : items.findIndex((item) => compare(cursorOf(item), after) > 0);
  const rest = start < 0 ? [] : items.slice(start);
  const page = rest.slice(0, limit);
  return { page, next: rest.length > limit ? cursorOf(page[page.length - 1]!) : undefined };
}

function decodeCursor<T>(token: string | undefined, schema: z.ZodMiniType<T>): T | undefined {
  if (!token) return undefined;
  const parsed = schema.safeParse(decodePageToken(token));
  if (!parsed.success) throw invalidPageToken();
  return parsed.data;
}

export async function listKeys(
  deps: Pick<AdminKeyDeps, 'registry' | 'capacity'>,
  request: { limit: number; nextToken?: string; principalId?: string },
  nowMs: number = Date.now(),
): Promise<AdminListKeysResponse> {
  const after = decodeCursor(request.nextToken, KeyCursorSchema);
  const cursorOf = (record: KeyRecord): KeyCursor => ({ c: record.createdAt, h: record.keyHash });
  const records = (await deps.registry.listKeys(request.principalId)).sort((a, b) => newestFirst(cursorOf(a), cursorOf(b)));
  const { page, next } = pageAfter(records, after, request.limit, cursorOf, newestFirst);
  const nextToken = encodePageToken(next);
  return { keys: await toKeyViews(deps.capacity, page, nowMs), ...(nextToken ? { nextToken } : {}) };
}

const PersonCursorSchema = z.strictObject({ p: z.string() });

/** People with a standing, by principal id. */
export async function listPeople(registry: KeyRegistry, request: { limit: number; nextToken?: string }): Promise<AdminListPeopleResponse> {
  const after = decodeCursor(request.nextToken, PersonCursorSchema);
  const byId = (a: { p: string }, b: { p: string }) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0);
  const cursorOf = (standing: PersonStanding) => ({ p: standing.principalId });
  const standings = (await registry.listStandings()).sort((a, b) => byId(cursorOf(a), cursorOf(b)));
  const { page, next } = pageAfter(standings, after, request.limit, cursorOf, byId);
  const nextToken = encodePageToken(next);
  return { people: page.map(toPersonView), ...(nextToken ? { nextToken } : {}) };
}

function toPersonView(standing: PersonStanding): PersonStandingView {
  return {
    principalId: standing.principalId,
    enabled: standing.enabled,
    ...(standing.role ? { role: standing.role } : {}),
    updatedAt: standing.updatedAt,
  };
}

// ---------------------------------------------------------------- changes (audited)

/** A new program key: a new principal unless the request names an existing program principal. */
export async function createKey(deps: AdminKeyDeps, admin: Principal, request: AdminCreateKeyRequest): Promise<AdminKeySecretResponse> {
  const now = deps.now ?? Date.now;
  const value = generateApiKey();
  const principalId = request.principalId ?? randomUUID();
  const target = { type: 'key' as const, id: hashApiKey(value), owner: principalId, name: request.name };
  return auditedAction(deps, admin, 'key.create', target, async () => {
    if (principalId.startsWith(PERSON_ID_PREFIX)) {
      throw new DomainError('INVALID_REQUEST', 'People sign in; keys are made for programs.', { details: { field: 'principalId' } });
    }
    if (request.principalId !== undefined) {
      const existing = await deps.registry.listKeys(principalId);
      if (existing.some((record) => record.kind !== 'program')) {
        throw new DomainError('INVALID_REQUEST', 'That principal is not a program.', { details: { field: 'principalId' } });
      }
    }
    const record: Omit<KeyRecord, 'keyHash'> = {
      principalId,
      name: request.name,
      kind: 'program',
      role: request.role ?? 'user',
      enabled: true,
      createdAt: new Date(now()).toISOString(),
      usagePlan: PROGRAMS_USAGE_PLAN,
    };
    // 256 random bits: a collision with a registered value is not a case to handle, only to refuse.
    if (!(await deps.registry.register(value, record))) throw new Error('The new key value is registered already.');
    const [key] = await toKeyViews(deps.capacity, [{ ...record, keyHash: target.id }], now());
    return { key: key!, value };
  });
}

/**
 * One audited change of an existing key: `change` answers the key's record (after the change, or as it was for a
 * delete; undefined: no such key), which names the audit entry's principal and becomes the answer's key view.
 */
async function changeKey<R>(
  deps: AdminKeyDeps,
  admin: Principal,
  action: 'key.enable' | 'key.disable' | 'key.rotate' | 'key.delete',
  keyId: string,
  change: (nowIso: string) => Promise<KeyRecord | undefined>,
  answer: (key: KeyView) => R,
): Promise<R> {
  const now = deps.now ?? Date.now;
  const target: { type: 'key'; id: string; owner?: string; name?: string } = { type: 'key', id: keyId };
  return auditedAction(deps, admin, action, target, async () => {
    const record = await change(new Date(now()).toISOString());
    if (!record) throw noSuchKey();
    Object.assign(target, { owner: record.principalId, name: record.name });
    return answer((await toKeyViews(deps.capacity, [record], now()))[0]!);
  });
}

/** Disables or enables a key: refused (accepted again) within the authorizer's cache bound. */
export function setKeyEnabled(deps: AdminKeyDeps, admin: Principal, keyId: string, enabled: boolean): Promise<KeyView> {
  const action = enabled ? 'key.enable' : 'key.disable';
  return changeKey(
    deps,
    admin,
    action,
    keyId,
    () => deps.registry.updateEnabled(keyId, enabled),
    (key) => key,
  );
}

/** A new value for the key's principal; the old value is gone from the registry in the same transaction. */
export function rotateKey(deps: AdminKeyDeps, admin: Principal, keyId: string): Promise<AdminKeySecretResponse> {
  const value = generateApiKey();
  return changeKey(
    deps,
    admin,
    'key.rotate',
    keyId,
    (nowIso) => deps.registry.rotate(keyId, value, nowIso),
    (key) => ({ key, value }),
  );
}

/** Removes the key from the registry (its principal's jobs stay); answers the key as it was. */
export function deleteKey(deps: AdminKeyDeps, admin: Principal, keyId: string): Promise<KeyView> {
  return changeKey(
    deps,
    admin,
    'key.delete',
    keyId,
    () => deps.registry.delete(keyId),
    (key) => key,
  );
}

/** Sets a person's standing (disabled, or a role over their token's); an empty change is refused. */
export async function putPerson(
  deps: AdminActionDeps & { registry: KeyRegistry },
  admin: Principal,
  principalId: string,
  change: AdminPutPersonRequest,
): Promise<PersonStandingView> {
  const now = deps.now ?? Date.now;
  return auditedAction(deps, admin, 'person.update', { type: 'person', id: principalId }, async () => {
    if (change.enabled === undefined && change.role === undefined) {
      throw new DomainError('INVALID_REQUEST', 'Send `enabled`, `role` or both.', { details: { field: 'body' } });
    }
    return toPersonView(await deps.registry.setStanding(principalId, change, new Date(now()).toISOString()));
  });
}
