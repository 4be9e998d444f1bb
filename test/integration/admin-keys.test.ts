/**
 * Keys, people and usage through the admin API, against the local API Gateway built from the synthesized template,
 * the real authorizer and the real handlers (dynalite): a key the seeded admin creates works at once and is throttled
 * by the Programs usage plan; disabled it stops within the authorizer's cache bound, enabled it works again; rotated,
 * the old value is refused and the new one accepted; deleted, it is refused; every change leaves an audit entry. A
 * person's standing set with PUT changes what their token gives within the same bound. Usage counts the jobs of two
 * principals. No key value reaches any log line.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_ROUTES, type ApiHandlerName } from '../../core/api-routes';
import {
  AdminKeySecretResponseSchema,
  AdminListAuditResponseSchema,
  AdminListKeysResponseSchema,
  AdminListPeopleResponseSchema,
  AdminUsageResponseSchema,
  KeyViewSchema,
} from '../../core/api-schemas';
import { hashApiKey } from '../../core/node/api-key';
import { AUTHORIZER_CACHE_SECONDS } from '../../core/principal';
import { JobStore } from '../../lambdas/storage/job-store';
import { principalUsage } from '../../lambdas/use-cases/admin-usage';
import { SYNTH_TIMEOUT_MS } from '../local/helpers';
import { startGatewayHarness, type Credentials, type GatewayHarness } from '../support/gateway-harness';

/** GET /me and jobs for the callers; every key, people, usage and audit route for the admin. */
const HANDLERS: ApiHandlerName[] = [
  'getMe',
  'createJob',
  'cancelJob',
  ...API_ROUTES.filter((r) => /^\/admin\/(keys|people|usage|audit)/.test(r.path)).map((r) => r.handler),
];

const CACHE_MS = AUTHORIZER_CACHE_SECONDS * 1000;

let h: GatewayHarness;
let adminToken: string;
let userToken: string;
/** Every key value the API handed out: none may appear in a log line. */
const values: string[] = [];

const admin = (): Credentials => ({ token: adminToken });
const keyCall = (handler: ApiHandlerName, keyId: string) => h.call(handler, admin(), { params: { keyId } });
const me = (key: string) => h.call('getMe', { key });
/** The audit trail up to an hour ahead: entries written under a moved clock lie in the future. */
const auditTrail = async () =>
  AdminListAuditResponseSchema.parse(
    (await h.call('adminListAudit', admin(), { query: { limit: '100', until: new Date(Date.now() + 3_600_000).toISOString() } })).json,
  );

async function createKey(body: object) {
  const created = await h.call('adminCreateKey', admin(), { body });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const parsed = AdminKeySecretResponseSchema.parse(created.json);
  values.push(parsed.value);
  return parsed;
}

/** Runs `fn` with a clock it can move (Date only: the authorizer's cache and the handlers read it). */
async function withClock(fn: (advance: (ms: number) => void) => Promise<void>): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  let t = Date.now();
  try {
    await fn((ms) => vi.setSystemTime((t += ms)));
  } finally {
    vi.useRealTimers();
  }
}

beforeAll(async () => {
  h = await startGatewayHarness({
    site: 'http://127.0.0.1:18783',
    name: 'keys',
    handlers: HANDLERS,
    env: { AWS_MAX_ATTEMPTS: '1' },
    captureLogs: true,
  });
  adminToken = (await h.signIn('admin')).accessToken;
  userToken = (await h.signIn('user')).accessToken;
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  await h?.close();
});

describe('a key made through the admin API', () => {
  it('works at once, under the Programs usage plan; is listed without its value, with its usage', async () => {
    const { key, value } = await createKey({ name: 'ci-bot', role: 'user' });
    expect(value).toMatch(/^k2p_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ keyId: hashApiKey(value), name: 'ci-bot', kind: 'program', role: 'user', enabled: true });
    expect([key.jobsInFlight, key.conversionsToday]).toEqual([0, 0]);
    const who = await me(value);
    expect([who.status, who.json]).toEqual([200, { id: key.principalId, name: 'ci-bot', kind: 'program', role: 'user' }]);
    // No API Gateway key of its own: the authorizer named the Programs key, which API Gateway counted the request against.
    expect(h.events.at(-1)!.requestContext.identity.apiKeyId).toBe(h.programsKey.id);
    // The operator-made CLI key keeps its own plan.
    await me(h.cliKey.value);
    expect(h.events.at(-1)!.requestContext.identity.apiKeyId).toBe(h.cliKey.id);

    // A job of its own: the listing shows it in flight and counted for today.
    expect((await h.call('createJob', { key: value }, { body: { filename: 'bot.knwf' } })).status).toBe(201);
    const listed = AdminListKeysResponseSchema.parse(
      (await h.call('adminListKeys', admin(), { query: { principalId: key.principalId } })).json,
    );
    expect(listed.keys).toEqual([expect.objectContaining({ keyId: key.keyId, jobsInFlight: 1, conversionsToday: 1 })]);
    expect(listed.keys[0]!.lastUsedAt).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain(value);

    // Another key for the same program principal; a person cannot be given one.
    const second = await createKey({ name: 'ci-bot-2', principalId: key.principalId });
    expect((await me(second.value)).json.id).toBe(key.principalId);
    const person = await h.call('adminCreateKey', admin(), { body: { name: 'x', principalId: `oidc:${h.provider.issuer}#user` } });
    expect([person.status, person.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const unnamed = await h.call('adminCreateKey', admin(), { body: { role: 'user' } });
    expect([unnamed.status, unnamed.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('lists every key newest first, page by page, and refuses a token it did not make', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await createKey({ name });
    const all = AdminListKeysResponseSchema.parse((await h.call('adminListKeys', admin(), { query: { limit: '100' } })).json);
    expect(all.nextToken).toBeUndefined();
    expect(all.keys.map((k) => k.createdAt)).toEqual(
      all.keys
        .map((k) => k.createdAt)
        .sort()
        .reverse(),
    );
    expect(all.keys.map((k) => k.name)).toEqual(expect.arrayContaining(['ci', 'ci-bot', 'page-a', 'page-b', 'page-c']));
    const walked: string[] = [];
    let nextToken: string | undefined;
    do {
      const query: Record<string, string> = { limit: '2', ...(nextToken ? { nextToken } : {}) };
      const page = AdminListKeysResponseSchema.parse((await h.call('adminListKeys', admin(), { query })).json);
      expect(page.keys.length).toBeLessThanOrEqual(2);
      walked.push(...page.keys.map((k) => k.keyId));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(walked).toEqual(all.keys.map((k) => k.keyId));
    const bad = await h.call('adminListKeys', admin(), { query: { nextToken: 'bm9wZQ' } });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it(`disabled, stops within AUTHORIZER_CACHE_SECONDS (${AUTHORIZER_CACHE_SECONDS} s); enabled, works again; rotated: old refused, new accepted; deleted: refused`, async () => {
    const { key, value } = await createKey({ name: 'lifecycle', role: 'admin' });
    await withClock(async (advance) => {
      expect((await me(value)).status).toBe(200);
      const disabled = await keyCall('adminDisableKey', key.keyId);
      expect([disabled.status, KeyViewSchema.parse(disabled.json.key).enabled]).toEqual([200, false]);
      advance(CACHE_MS - 1000);
      expect((await me(value)).status).toBe(200);
      advance(1000);
      const refused = await me(value);
      expect([refused.status, refused.json.error.code]).toEqual([401, 'UNAUTHORIZED']);

      const enabled = await keyCall('adminEnableKey', key.keyId);
      expect([enabled.status, enabled.json.key.enabled]).toEqual([200, true]);
      advance(CACHE_MS);
      expect((await me(value)).status).toBe(200);

      const rotated = await keyCall('adminRotateKey', key.keyId);
      expect(rotated.status, JSON.stringify(rotated.json)).toBe(201);
      const next = AdminKeySecretResponseSchema.parse(rotated.json);
      values.push(next.value);
      expect(next.key).toMatchObject({
        principalId: key.principalId,
        name: 'lifecycle',
        role: 'admin',
        enabled: true,
        rotatedFrom: key.keyId,
      });
      expect(next.key.keyId).toBe(hashApiKey(next.value));
      // The new value works at once (never cached); the old one from its first uncached request.
      expect((await me(next.value)).json).toMatchObject({ id: key.principalId, role: 'admin' });
      advance(CACHE_MS);
      expect((await me(value)).status).toBe(401);
      expect((await me(next.value)).status).toBe(200);
      // The old key is gone: every key route answers 404 for it.
      for (const handler of ['adminDisableKey', 'adminRotateKey', 'adminDeleteKey'] as const) {
        advance(1); // entries of one instant sort by id: one ms apart keeps them in order
        const gone = await keyCall(handler, key.keyId);
        expect([gone.status, gone.json.error.code], handler).toEqual([404, 'NOT_FOUND']);
      }

      const deleted = await keyCall('adminDeleteKey', next.key.keyId);
      expect([deleted.status, deleted.json.key.keyId]).toEqual([200, next.key.keyId]);
      advance(CACHE_MS);
      expect((await me(next.value)).status).toBe(401);
      const listed = AdminListKeysResponseSchema.parse(
        (await h.call('adminListKeys', admin(), { query: { principalId: key.principalId } })).json,
      );
      expect(listed.keys).toEqual([]);
    });

    const audit = await auditTrail();
    const ofKey = audit.entries.filter((e) => e.target.owner === key.principalId).reverse();
    expect(ofKey.map((e) => [e.action, e.target.type, e.outcome, e.code ?? null])).toEqual([
      ['key.create', 'key', 'succeeded', null],
      ['key.disable', 'key', 'succeeded', null],
      ['key.enable', 'key', 'succeeded', null],
      ['key.rotate', 'key', 'succeeded', null],
      ['key.delete', 'key', 'succeeded', null],
    ]);
    expect(ofKey.map((e) => e.target.id)).toEqual([key.keyId, key.keyId, key.keyId, key.keyId, hashApiKey(values.at(-1)!)]);
    for (const entry of ofKey) {
      expect(entry.target.name).toBe('lifecycle');
      expect(entry.who).toMatchObject({ id: `oidc:${h.provider.issuer}#admin`, kind: 'person', role: 'admin' });
    }
    // Refused actions are audited too, naming the key they were about.
    const refused = audit.entries.filter((e) => e.target.id === key.keyId && e.outcome === 'refused');
    expect(refused.map((e) => [e.action, e.code])).toEqual([
      ['key.delete', 'NOT_FOUND'],
      ['key.rotate', 'NOT_FOUND'],
      ['key.disable', 'NOT_FOUND'],
    ]);
    const malformed = await keyCall('adminDisableKey', 'not-a-key-id');
    expect([malformed.status, malformed.json.error.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe("a person's standing set through the admin API", () => {
  it(`disables them or changes their role within AUTHORIZER_CACHE_SECONDS (${AUTHORIZER_CACHE_SECONDS} s), audited, and lists them`, async () => {
    const userId = `oidc:${h.provider.issuer}#user`;
    const put = (body: object) => h.call('adminPutPerson', admin(), { params: { principalId: userId }, body });
    await withClock(async (advance) => {
      expect((await h.call('getMe', { token: userToken })).json.role).toBe('user');
      const disabled = await put({ enabled: false });
      expect([disabled.status, disabled.json.person]).toEqual([
        200,
        { principalId: userId, enabled: false, updatedAt: expect.any(String) },
      ]);
      advance(CACHE_MS);
      expect((await h.call('getMe', { token: userToken })).status).toBe(401);
      const promoted = await put({ enabled: true, role: 'admin' });
      expect(promoted.json.person).toMatchObject({ enabled: true, role: 'admin' });
      advance(CACHE_MS);
      expect((await h.call('getMe', { token: userToken })).json).toMatchObject({ id: userId, role: 'admin' });
      const people = AdminListPeopleResponseSchema.parse((await h.call('adminListPeople', admin())).json);
      expect(people.people).toEqual([{ principalId: userId, enabled: true, role: 'admin', updatedAt: expect.any(String) }]);
      const reset = await put({ role: null });
      expect(reset.json.person).toEqual({ principalId: userId, enabled: true, updatedAt: expect.any(String) });
      advance(CACHE_MS);
      expect((await h.call('getMe', { token: userToken })).json.role).toBe('user');
      const empty = await put({});
      expect([empty.status, empty.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    });
    const audit = await auditTrail();
    const ofPerson = audit.entries.filter((e) => e.target.type === 'person').reverse();
    expect(ofPerson.map((e) => [e.action, e.target.id, e.outcome, e.code ?? null])).toEqual([
      ['person.update', userId, 'succeeded', null],
      ['person.update', userId, 'succeeded', null],
      ['person.update', userId, 'succeeded', null],
      ['person.update', userId, 'refused', 'INVALID_REQUEST'],
    ]);
  });
});

describe('usage per principal', () => {
  it('counts the jobs of a person and a program created in the range, by outcome and per day, named from the registry', async () => {
    const { value, key } = await createKey({ name: 'usage-bot' });
    const make = async (credentials: Credentials) => {
      const created = await h.call('createJob', credentials, { body: { filename: 'u.knwf' } });
      expect(created.status).toBe(201);
      return created.json.job.jobId as string;
    };
    const programJobs = [await make({ key: value }), await make({ key: value }), await make({ key: value })];
    const personJobs = [await make({ token: userToken }), await make({ token: userToken })];
    expect((await h.call('cancelJob', { key: value }, { params: { id: programJobs[0]! } })).status).toBe(200);
    expect((await h.call('cancelJob', { token: userToken }, { params: { id: personJobs[0]! } })).status).toBe(200);

    const usage = AdminUsageResponseSchema.parse((await h.call('adminUsage', admin(), { query: { since: '1h' } })).json);
    const today = new Date().toISOString().slice(0, 10);
    const byId = new Map(usage.principals.map((p) => [p.principalId, p]));
    expect(byId.get(key.principalId)).toEqual({
      principalId: key.principalId,
      name: 'usage-bot',
      kind: 'program',
      jobs: 3,
      succeeded: 0,
      failed: 0,
      rejected: 0,
      cancelled: 1,
      days: [{ date: today, jobs: 3 }],
    });
    const userId = `oidc:${h.provider.issuer}#user`;
    expect(byId.get(userId)).toMatchObject({ principalId: userId, kind: 'person', jobs: 2, cancelled: 1 });
    expect(byId.get(userId)!.name).toBeUndefined();
    expect(usage.principals.map((p) => p.jobs)).toEqual(
      usage.principals
        .map((p) => p.jobs)
        .sort((a, b) => a - b)
        .reverse(),
    );
    const bad = await h.call('adminUsage', admin(), { query: { since: 'last week' } });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);

    // Bounded: past the cap, the newest jobs are counted and `since` says from when.
    const store = new JobStore(h.aws.ddb, h.aws.tableName);
    const all = await principalUsage({ store, registry: h.registry }, { since: '1h' });
    const total = all.principals.reduce((sum, p) => sum + p.jobs, 0);
    const capped = await principalUsage({ store, registry: h.registry }, { since: '1h', until: all.until }, Date.now(), total - 2);
    const cappedTotal = capped.principals.reduce((sum, p) => sum + p.jobs, 0);
    expect(cappedTotal).toBeLessThanOrEqual(total - 2);
    expect(capped.since > all.since).toBe(true);
    // Exact for the range it names: counting [since, until] uncapped gives the same.
    const again = await principalUsage({ store, registry: h.registry }, { since: capped.since, until: capped.until });
    expect(again).toEqual(capped);
  });
});

describe('logs', () => {
  it('never carry a key value the admin API handed out', () => {
    const text = h.logLines.join('');
    expect(text).toContain('Admin action');
    expect(values.length).toBeGreaterThanOrEqual(8);
    for (const value of values) expect(text).not.toContain(value);
  });
});
