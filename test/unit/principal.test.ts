import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../core/node/api-key';
import { API_KEY_PREFIX, authorizerRequestContext, principalContext, principalFromContext, type Principal } from '../../core/principal';
import { credentialsOf } from '../../lambdas/use-cases/authentication';

const BOT: Principal = { id: 'p-1', name: 'ci-bot', kind: 'program', role: 'admin' };

describe('API key values', () => {
  it('are the prefix and 32 random bytes in base64url, each one new', () => {
    const keys = new Set(Array.from({ length: 100 }, generateApiKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{43}$`));
  });

  it('are stored as their SHA-256 in hex: stable, and different for different values', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateApiKey();
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toBe(hashApiKey(`${key}x`));
    expect(hashApiKey(key)).not.toContain(key);
  });
});

describe('authorizer context', () => {
  it('carries name, kind and role as strings; API Gateway adds principalId', () => {
    expect(principalContext(BOT)).toEqual({ principalName: 'ci-bot', principalKind: 'program', role: 'admin' });
    expect(principalFromContext(authorizerRequestContext(BOT))).toEqual(BOT);
  });

  it('yields no principal from a missing, partial or invalid context', () => {
    expect(principalFromContext(null)).toBeUndefined();
    expect(principalFromContext({})).toBeUndefined();
    expect(principalFromContext({ ...authorizerRequestContext(BOT), principalId: '' })).toBeUndefined();
    expect(principalFromContext({ ...authorizerRequestContext(BOT), role: 'root' })).toBeUndefined();
    expect(principalFromContext({ ...authorizerRequestContext(BOT), principalKind: 'robot' })).toBeUndefined();
    const { principalName: _name, ...nameless } = authorizerRequestContext(BOT);
    expect(principalFromContext(nameless)).toBeUndefined();
  });
});

describe('credentials of a request', () => {
  it('reads x-api-key and Authorization: Bearer whatever their case', () => {
    expect(credentialsOf({ 'X-API-KEY': 'k' })).toEqual({ apiKey: 'k' });
    expect(credentialsOf({ authorization: 'bearer abc.def.ghi' })).toEqual({ bearerToken: 'abc.def.ghi' });
    expect(credentialsOf({ Authorization: 'Basic dXNlcjpwdw==' })).toEqual({});
    expect(credentialsOf(null)).toEqual({});
  });
});
