import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../core/errors';
import { createTokenVerifier, type BearerTokenConfig } from '../../lambdas/storage/bearer-tokens';
import { startOidcProvider, type OidcProviderHandle } from '../../local/stand-ins/oidc';
import { signIn as signInAt } from '../support/oidc-sign-in';

const CLIENT_ID = 'k2p-web-local';
const SITE = 'http://127.0.0.1:8780';
let dir: string;
let provider: OidcProviderHandle;
const logLines: string[] = [];
const tokensSeen: string[] = [];

const start = (port = 0) =>
  startOidcProvider({ port, clientId: CLIENT_ID, redirectUris: [SITE], stateFile: join(dir, 'oidc', 'state.json') });

function verifier(overrides: Partial<BearerTokenConfig> = {}) {
  return createTokenVerifier({
    issuer: provider.issuer,
    audience: CLIENT_ID,
    groupsClaim: provider.groupsClaim,
    adminGroup: provider.adminGroup,
    fetchTimeoutMs: 1000,
    // The stand-in is http on 127.0.0.1, which only this explicit switch admits.
    allowLoopbackHttp: true,
    log: (message, fields) => logLines.push(`${message} ${JSON.stringify(fields)}`),
    ...overrides,
  });
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** Signs with the provider's own ES256 (or RS256) key, so only the claim under test is wrong. */
async function mint(claims: Record<string, unknown>, options: { alg?: 'ES256' | 'RS256'; kid?: string; key?: JWK } = {}) {
  const alg = options.alg ?? 'ES256';
  const jwk = options.key ?? provider.signingKeys.find((key) => key.alg === alg)!;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: provider.issuer, aud: CLIENT_ID, sub: 'user', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg, kid: options.kid ?? jwk.kid! })
    .sign(await importJWK(jwk, alg));
  tokensSeen.push(token);
  return token;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Authorization code + PKCE with plain fetch (test/support/oidc-sign-in.ts); the tokens are remembered for the log check. */
async function signIn(login: string, password: string) {
  const scope = `openid profile email ${provider.groupsClaim}`;
  const result = await signInAt({ issuer: provider.issuer, clientId: CLIENT_ID, site: SITE, login, password, scope });
  if (!result.refused) tokensSeen.push(result.id_token, result.access_token);
  return result;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k2p-oidc-'));
  provider = await start();
});

afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
  // Refusals and outages were logged, but never a token's text.
  expect(logLines.length).toBeGreaterThan(5);
  for (const line of logLines)
    for (const token of tokensSeen) {
      for (const part of token.split('.').filter((p) => p.length > 8)) expect(line).not.toContain(part);
    }
});

describe('local OpenID provider + bearer-token verifier', () => {
  it('serves discovery with PKCE S256 and a JWKS of public keys only', async () => {
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(provider.issuer);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: JWK[] };
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
  });

  it('signs in the seeded user and admin by code + PKCE; ID and access tokens verify to the right principal and role', async () => {
    const [user, admin] = provider.accounts;
    const verify = verifier();
    const asUser = await signIn(user!.login, user!.password);
    if (asUser.refused) throw new Error('user refused');
    for (const token of [asUser.id_token, asUser.access_token]) {
      expect(await verify(token)).toEqual({ id: `oidc:${provider.issuer}#user`, name: 'Local User', kind: 'person', role: 'user' });
    }
    const asAdmin = await signIn(admin!.login, admin!.password);
    if (asAdmin.refused) throw new Error('admin refused');
    for (const token of [asAdmin.id_token, asAdmin.access_token]) {
      expect(await verify(token)).toMatchObject({ id: `oidc:${provider.issuer}#admin`, kind: 'person', role: 'admin' });
    }
    expect((await signIn(user!.login, 'wrong-password')).refused).toBe(true);
  });

  it('refuses a client without PKCE', async () => {
    const query = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: `${SITE}/`, response_type: 'code', scope: 'openid' });
    const response = await fetch(`${provider.issuer}/auth?${query}`, { redirect: 'manual' });
    expect(new URL(response.headers.get('location') ?? 'http://x/', provider.issuer).searchParams.get('error')).toBe('invalid_request');
  });

  it('accepts a well-formed minted token (so each refusal below is about its one flaw)', async () => {
    expect((await verifier()(await mint({ groups: ['admins'], name: 'X' }))).role).toBe('admin');
    expect((await verifier()(await mint({}, { alg: 'RS256' }))).role).toBe('user');
    // Cognito: access tokens carry client_id and no aud; ID tokens carry aud; both name their token_use.
    expect((await verifier()(await mint({ aud: undefined, client_id: CLIENT_ID, token_use: 'access', username: 'u1' }))).name).toBe('u1');
    expect((await verifier({ tokenUses: ['id'] })(await mint({ token_use: 'id', 'cognito:username': 'c1' }))).name).toBe('c1');
    expect((await refusal(verifier({ tokenUses: ['id'] })(await mint({ token_use: 'access' })))).code).toBe('UNAUTHORIZED');
  });

  const bad: [string, () => Promise<string>][] = [
    [
      'forged signature',
      async () => {
        const [h, p, s] = (await mint({})).split('.');
        const flipped = Buffer.from(s!, 'base64url');
        flipped[5]! ^= 0xff;
        return `${h}.${p}.${flipped.toString('base64url')}`;
      },
    ],
    [
      'a changed payload under a valid signature',
      async () => {
        const [h, , s] = (await mint({})).split('.');
        const now = Math.floor(Date.now() / 1000);
        return `${h}.${b64({ iss: provider.issuer, aud: CLIENT_ID, sub: 'admin', groups: ['admins'], iat: now, exp: now + 300 })}.${s}`;
      },
    ],
    [
      'signed by another key with a known kid',
      async () => {
        const { generateKeyPair, exportJWK } = await import('jose');
        const own = await generateKeyPair('ES256', { extractable: true });
        return mint(
          {},
          { key: { ...(await exportJWK(own.privateKey)), alg: 'ES256' }, kid: provider.signingKeys.find((k) => k.alg === 'ES256')!.kid },
        );
      },
    ],
    ['expired', () => mint({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['not yet valid', () => mint({ nbf: Math.floor(Date.now() / 1000) + 3600 })],
    ['issued in the future', () => mint({ iat: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 })],
    [
      'without exp',
      async () => {
        const jwk = provider.signingKeys.find((key) => key.alg === 'ES256')!;
        const token = await new SignJWT({ iss: provider.issuer, aud: CLIENT_ID, sub: 'user' })
          .setIssuedAt()
          .setProtectedHeader({ alg: 'ES256', kid: jwk.kid! })
          .sign(await importJWK(jwk, 'ES256'));
        tokensSeen.push(token);
        return token;
      },
    ],
    ['wrong issuer', () => mint({ iss: 'https://evil.example' })],
    ['wrong audience', () => mint({ aud: 'https://api.other.example' })],
    ['a token for another client', () => mint({ aud: 'another-client', client_id: 'another-client' })],
    ['aud lists us but azp names another client', () => mint({ aud: [CLIENT_ID, 'another-client'], azp: 'another-client' })],
    ['a Cognito access token for another client', () => mint({ aud: undefined, client_id: 'another-client', token_use: 'access' })],
    ['an unexpected token_use', () => mint({ token_use: 'refresh' })],
    [
      'alg none',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: provider.issuer, aud: CLIENT_ID, sub: 'admin', groups: ['admins'], iat: now, exp: now + 300 })}.`;
        tokensSeen.push(token);
        return token;
      },
    ],
    [
      'HS256 signed with the provider public key as the HMAC secret',
      async () => {
        const jwks = (await (await fetch(`${provider.issuer}/jwks`)).json()) as { keys: JWK[] };
        const publicKey = jwks.keys.find((key) => key.alg === 'RS256')!;
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({
          iss: provider.issuer,
          aud: CLIENT_ID,
          sub: 'admin',
          groups: ['admins'],
          iat: now,
          exp: now + 300,
        })
          .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid! })
          .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
        tokensSeen.push(token);
        return token;
      },
    ],
    ['not a JWT', async () => 'not-a-token'],
    ['an unknown kid', () => mint({}, { kid: 'unknown-kid' })],
  ];
  for (const [name, make] of bad) {
    it(`refuses ${name} with 401 UNAUTHORIZED and a message without the token`, async () => {
      const token = await make();
      const error = await refusal(verifier()(token));
      expect(error.code).toBe('UNAUTHORIZED');
      expect(error.httpStatus).toBe(401);
      expect(error.message).toBe('The bearer token is not valid.');
      expect(JSON.stringify(error.toInfo())).not.toContain(token.split('.')[0]);
    });
  }

  it('fails closed with 503 AUTH_UNAVAILABLE while the provider is unreachable, and recovers once it is back', async () => {
    const token = await mint({});
    const port = provider.port;
    const verify = verifier();
    const viaJwksUri = verifier({ jwksUri: `${provider.issuer}/jwks` });
    await provider.close();
    for (const check of [verify, viaJwksUri]) {
      const error = await refusal(check(token));
      expect(error.code).toBe('AUTH_UNAVAILABLE');
      expect(error.httpStatus).toBe(503);
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
    }
    // Junk is still refused as junk, without waiting on the network.
    expect((await refusal(verify('junk'))).code).toBe('UNAUTHORIZED');
    provider = await start(port);
    expect((await verify(token)).id).toBe(`oidc:${provider.issuer}#user`);
    expect((await viaJwksUri(token)).id).toBe(`oidc:${provider.issuer}#user`);
  });

  it('keeps keys and passwords across a restart on the same data directory', async () => {
    const before = { keys: provider.signingKeys, accounts: provider.accounts };
    const token = await mint({});
    const port = provider.port;
    await provider.close();
    provider = await start(port);
    expect(provider.signingKeys).toEqual(before.keys);
    expect(provider.accounts).toEqual(before.accounts);
    expect((await verifier()(token)).role).toBe('user');
  });
});

describe('https only, unless local mode allows its loopback issuer', () => {
  it('refuses an http issuer or JWKS URI without the switch, and a non-loopback http one even with it', () => {
    const base = { audience: CLIENT_ID, groupsClaim: 'cognito:groups', adminGroup: 'admins' };
    expect(() => createTokenVerifier({ ...base, issuer: provider.issuer })).toThrow(/must use https/);
    expect(() => createTokenVerifier({ ...base, issuer: 'http://idp.example.com', allowLoopbackHttp: true })).toThrow(/must use https/);
    expect(() =>
      createTokenVerifier({ ...base, issuer: 'https://idp.example.com', jwksUri: 'http://idp.example.com/jwks', allowLoopbackHttp: true }),
    ).toThrow(/JWKS URI must use https/);
    expect(() => createTokenVerifier({ ...base, issuer: 'https://idp.example.com' })).not.toThrow();
    expect(() => createTokenVerifier({ ...base, issuer: provider.issuer, allowLoopbackHttp: true })).not.toThrow();
  });
});

describe('cached verdicts', () => {
  it("reuses a verdict for at most maxAge and never past the token's expiry; an outage is never cached", async () => {
    // Only Date is faked: jose's expiry and JWKS age checks and the verdict cache all read it.
    vi.useFakeTimers({ toFake: ['Date'] });
    const port = provider.port;
    let down = false;
    try {
      const t0 = Date.now();
      // The JWKS goes stale after 1 s, so every verification that is not a cache hit needs the provider.
      const verify = verifier({ cacheMaxAgeMs: 1000, cache: { maxAgeMs: 60_000, maxEntries: 10 } });
      const shortLived = await mint({ exp: Math.floor(t0 / 1000) + 20 });
      const token = await mint({});
      expect((await verify(shortLived)).id).toBe(`oidc:${provider.issuer}#user`);
      expect((await verify(token)).id).toBe(`oidc:${provider.issuer}#user`);
      await provider.close();
      down = true;
      vi.setSystemTime(t0 + 10_000);
      // Provider down: the verdicts answer from the cache.
      expect((await verify(token)).role).toBe('user');
      expect((await verify(shortLived)).role).toBe('user');
      vi.setSystemTime(t0 + 25_000);
      // Past its exp the short-lived token is not served from the cache: it is checked again (and cannot be now).
      expect((await refusal(verify(shortLived))).code).toBe('AUTH_UNAVAILABLE');
      expect((await verify(token)).role).toBe('user');
      vi.setSystemTime(t0 + 61_000);
      // Past maxAge: checked again; the outage is not remembered either.
      expect((await refusal(verify(token))).code).toBe('AUTH_UNAVAILABLE');
      expect((await refusal(verify(token))).code).toBe('AUTH_UNAVAILABLE');
      provider = await start(port);
      down = false;
      expect((await verify(token)).id).toBe(`oidc:${provider.issuer}#user`);
    } finally {
      if (down) provider = await start(port);
      vi.useRealTimers();
    }
  });

  it('remembers a refusal for maxAge without checking the signature again', async () => {
    const verify = verifier({ cache: { maxAgeMs: 60_000, maxEntries: 10 } });
    const [h, p, sig] = (await mint({})).split('.');
    const forged = `${h}.${p}.${sig!.slice(0, -4)}AAAA`;
    tokensSeen.push(forged);
    expect((await refusal(verify(forged))).code).toBe('UNAUTHORIZED');
    const before = logLines.length;
    expect((await refusal(verify(forged))).code).toBe('UNAUTHORIZED');
    expect(logLines.slice(before)).toEqual(['bearer token refused {"reason":"cached refusal"}']);
  });
});

describe('bearer-token settings from the environment', () => {
  it('reads the OIDC_* variables; no issuer means bearer tokens are off', async () => {
    const { bearerTokenConfigFromEnv } = await import('../../lambdas/storage/bearer-tokens');
    expect(bearerTokenConfigFromEnv({})).toBeUndefined();
    expect(bearerTokenConfigFromEnv({ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'c1' })).toEqual({
      issuer: 'https://idp.example',
      audience: 'c1',
      groupsClaim: 'cognito:groups',
      adminGroup: 'admins',
    });
    expect(
      bearerTokenConfigFromEnv({
        OIDC_ISSUER: 'https://idp.example',
        OIDC_AUDIENCE: 'c1',
        OIDC_GROUPS_CLAIM: 'groups',
        OIDC_ADMIN_GROUP: 'ops',
        OIDC_JWKS_URI: 'https://idp.example/keys',
      }),
    ).toMatchObject({ groupsClaim: 'groups', adminGroup: 'ops', jwksUri: 'https://idp.example/keys' });
    expect(() => bearerTokenConfigFromEnv({ OIDC_ISSUER: 'https://idp.example' })).toThrow(/OIDC_AUDIENCE/);
    expect(
      bearerTokenConfigFromEnv({ OIDC_ISSUER: 'http://127.0.0.1:8786', OIDC_AUDIENCE: 'c1', OIDC_ALLOW_LOOPBACK_HTTP: 'true' }),
    ).toMatchObject({ allowLoopbackHttp: true });
    expect(
      bearerTokenConfigFromEnv({ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'c1', OIDC_ALLOW_LOOPBACK_HTTP: '1' }),
    ).not.toHaveProperty('allowLoopbackHttp');
  });
});
