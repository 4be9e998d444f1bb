/**
 * The authorizer's decisions without AWS: which credential wins, the usage-plan key of each kind of caller, the
 * key cache's bound (a disabled key stops within it), lastUsedAt at most once per bound, a person's standing (disabled,
 * another role) within the same bound, and the bounded cache.
 */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../core/errors';
import { hashApiKey } from '../../../core/node/api-key';
import type { Principal } from '../../../core/principal';
import { BoundedCache } from '../../../lambdas/decisions/bounded-cache';
import type { KeyRecord, KeyRegistry, PersonStanding } from '../../../lambdas/storage/key-registry';
import { createAuthenticator, credentialsOf } from '../../../lambdas/use-cases/authentication';

const PEOPLE_KEY = 'k2p-web-people-usage-Test';
const PROGRAMS_KEY = 'k2p-web-programs-usage-Test';
const PERSON: Principal = { id: 'oidc:https://idp.example#u1', name: 'Ada', kind: 'person', role: 'user' };

/** The registry's two reads and writes the authorizer uses, in memory, counting calls. */
class MemoryRegistry {
  readonly records = new Map<string, KeyRecord>();
  lookups = 0;
  touches: string[] = [];
  failLookups = false;

  add(value: string, enabled = true): void {
    const keyHash = hashApiKey(value);
    this.records.set(keyHash, {
      keyHash,
      principalId: `p-${value.slice(-4)}`,
      name: 'bot',
      kind: 'program',
      role: 'user',
      enabled,
      createdAt: '',
    });
  }

  async lookup(value: string): Promise<KeyRecord | undefined> {
    this.lookups++;
    if (this.failLookups) throw new Error('DynamoDB unreachable');
    const record = this.records.get(hashApiKey(value));
    return record ? { ...record } : undefined;
  }

  readonly standings = new Map<string, PersonStanding>();
  standingReads = 0;

  async standingOf(principalId: string): Promise<PersonStanding | undefined> {
    this.standingReads++;
    const standing = this.standings.get(principalId);
    return standing ? { ...standing } : undefined;
  }

  async touch(keyHash: string, nowIso: string): Promise<void> {
    this.touches.push(nowIso);
    const record = this.records.get(keyHash);
    if (record) record.lastUsedAt = nowIso;
  }
}

function setup(
  options: {
    verifyBearer?: (token: string) => Promise<Principal>;
    peopleUsageKey?: string;
    programsUsageKey?: string;
    cacheEntries?: number;
  } = {},
) {
  const registry = new MemoryRegistry();
  let now = Date.parse('2026-01-01T00:00:00Z');
  const authenticate = createAuthenticator({
    registry: registry as unknown as KeyRegistry,
    now: () => new Date(now),
    cacheMs: 60_000,
    peopleUsageKey: PEOPLE_KEY,
    ...options,
  });
  return { registry, authenticate, advance: (ms: number) => (now += ms) };
}

describe('credentialsOf', () => {
  it('reads x-api-key and a Bearer Authorization header, names case-insensitively', () => {
    expect(credentialsOf({ 'X-Api-Key': 'k', AUTHORIZATION: 'bearer t.o.k' })).toEqual({ apiKey: 'k', bearerToken: 't.o.k' });
    expect(credentialsOf({ Authorization: 'Basic abc' })).toEqual({});
    expect(credentialsOf(null)).toEqual({});
  });
});

describe('createAuthenticator', () => {
  it('names a program by its key, whose own value is its usage-plan key without a Programs key', async () => {
    const { registry, authenticate } = setup();
    registry.add('k2p_program-key-0001');
    expect(await authenticate({ apiKey: 'k2p_program-key-0001' })).toEqual({
      principal: { id: 'p-0001', name: 'bot', kind: 'program', role: 'user' },
      usageIdentifierKey: 'k2p_program-key-0001',
    });
    expect(await authenticate({ apiKey: 'k2p_unknown' })).toBeUndefined();
    expect(await authenticate({})).toBeUndefined();
  });

  it('throttles a key by the Programs key unless its record names an API Gateway key of its own', async () => {
    const { registry, authenticate } = setup({ programsUsageKey: PROGRAMS_KEY });
    registry.add('k2p_admin-made-0002');
    registry.add('k2p_gateway-key-0003');
    registry.records.get(hashApiKey('k2p_gateway-key-0003'))!.apiGatewayKeyId = 'abc123';
    expect((await authenticate({ apiKey: 'k2p_admin-made-0002' }))?.usageIdentifierKey).toBe(PROGRAMS_KEY);
    expect((await authenticate({ apiKey: 'k2p_gateway-key-0003' }))?.usageIdentifierKey).toBe('k2p_gateway-key-0003');
  });

  it('names a person by the bearer token, throttled by the People key; the token wins over a key sent with it', async () => {
    const seen: string[] = [];
    const { registry, authenticate } = setup({
      verifyBearer: async (token) => {
        seen.push(token);
        if (token !== 'good') throw new DomainError('UNAUTHORIZED');
        return PERSON;
      },
    });
    registry.add('k2p_program-key-0002');
    expect(await authenticate({ bearerToken: 'good' })).toEqual({ principal: PERSON, usageIdentifierKey: PEOPLE_KEY });
    expect(await authenticate({ bearerToken: 'good', apiKey: 'k2p_program-key-0002' })).toEqual({
      principal: PERSON,
      usageIdentifierKey: PEOPLE_KEY,
    });
    // A bad token is refused, not rescued by the key sent with it.
    expect(await authenticate({ bearerToken: 'forged', apiKey: 'k2p_program-key-0002' })).toBeUndefined();
    expect(registry.lookups).toBe(0);
    expect(seen).toEqual(['good', 'good', 'forged']);
  });

  it('refuses bearer tokens without a verifier or without the People key', async () => {
    expect(await setup().authenticate({ bearerToken: 'good' })).toBeUndefined();
    const noPeopleKey = setup({ verifyBearer: async () => PERSON, peopleUsageKey: '' });
    expect(await noPeopleKey.authenticate({ bearerToken: 'good' })).toBeUndefined();
  });

  it('rejects (cannot decide) when the identity provider or the registry is unreachable', async () => {
    const { registry, authenticate } = setup({
      verifyBearer: async () => {
        throw new DomainError('AUTH_UNAVAILABLE');
      },
    });
    await expect(authenticate({ bearerToken: 'good' })).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    registry.failLookups = true;
    await expect(authenticate({ apiKey: 'k2p_any' })).rejects.toThrow(/unreachable/);
  });

  it("applies an operator's standing for a person within the cache bound: disabled is refused, a role overrides the token's", async () => {
    const { registry, authenticate, advance } = setup({ verifyBearer: async () => ({ ...PERSON, role: 'admin' }) });
    expect((await authenticate({ bearerToken: 'a.b.c' }))?.principal.role).toBe('admin');
    registry.standings.set(PERSON.id, { principalId: PERSON.id, enabled: true, role: 'user', updatedAt: '' });
    advance(59_999);
    expect((await authenticate({ bearerToken: 'a.b.c' }))?.principal.role).toBe('admin');
    advance(1);
    expect((await authenticate({ bearerToken: 'a.b.c' }))?.principal).toEqual({ ...PERSON, role: 'user' });
    registry.standings.set(PERSON.id, { principalId: PERSON.id, enabled: false, updatedAt: '' });
    advance(60_000);
    expect(await authenticate({ bearerToken: 'a.b.c' })).toBeUndefined();
    // One read per bound, not per request.
    const reads = registry.standingReads;
    await authenticate({ bearerToken: 'a.b.c' });
    expect(registry.standingReads).toBe(reads);
  });

  it('reuses a key lookup for at most the cache bound: a disabled key stops within it', async () => {
    const { registry, authenticate, advance } = setup();
    registry.add('k2p_soon-disabled-0003');
    expect(await authenticate({ apiKey: 'k2p_soon-disabled-0003' })).toBeDefined();
    registry.records.get(hashApiKey('k2p_soon-disabled-0003'))!.enabled = false;
    advance(59_000);
    expect(await authenticate({ apiKey: 'k2p_soon-disabled-0003' })).toBeDefined();
    expect(registry.lookups).toBe(1);
    advance(1_000);
    expect(await authenticate({ apiKey: 'k2p_soon-disabled-0003' })).toBeUndefined();
    expect(registry.lookups).toBe(2);
    // Unknown keys are remembered too (a flood of junk costs one read per key and bound), then asked again.
    expect(await authenticate({ apiKey: 'k2p_junk' })).toBeUndefined();
    expect(await authenticate({ apiKey: 'k2p_junk' })).toBeUndefined();
    expect(registry.lookups).toBe(3);
  });

  it('writes lastUsedAt at most once per cache bound per key, and never for a disabled one', async () => {
    const { registry, authenticate, advance } = setup();
    registry.add('k2p_busy-key-0004');
    registry.add('k2p_off-key-0005', false);
    for (let i = 0; i < 30; i++) {
      await authenticate({ apiKey: 'k2p_busy-key-0004' });
      await authenticate({ apiKey: 'k2p_off-key-0005' });
      advance(5_000);
    }
    // 150 s of requests every 5 s: a read (and a touch) at 0, 60 and 120 s.
    expect(registry.touches).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
  });

  it('keeps a bounded number of key lookups', async () => {
    const { registry, authenticate } = setup({ cacheEntries: 2 });
    for (const value of ['k2p_a', 'k2p_b', 'k2p_c', 'k2p_a']) await authenticate({ apiKey: value });
    // k2p_a was evicted by k2p_c, so it is read again.
    expect(registry.lookups).toBe(4);
  });
});

describe('BoundedCache', () => {
  it('forgets entries at their expiry and the oldest beyond its size', () => {
    const cache = new BoundedCache<number>(2);
    cache.set('a', 1, 100, 0);
    cache.set('b', 2, 200, 0);
    expect([cache.get('a', 99), cache.get('a', 100)]).toEqual([1, undefined]);
    cache.set('c', 3, 300, 0);
    cache.set('d', 4, 300, 0);
    expect([cache.get('b', 0), cache.get('c', 0), cache.get('d', 0), cache.size]).toEqual([undefined, 3, 4, 2]);
    cache.set('e', 5, 10, 10);
    expect(cache.get('e', 0)).toBeUndefined();
    expect(() => new BoundedCache(0)).toThrow();
  });
});
