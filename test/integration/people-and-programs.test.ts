/**
 * People and programs through the local API Gateway built from the synthesized template (apiKeySource AUTHORIZER,
 * its gateway responses) and the real authorizer: a person signed in at the local OpenID stand-in (code + PKCE over
 * HTTP) creates and reads a job they own; the other seeded person cannot see it; bad tokens are 401 in the
 * envelope; an unreachable identity provider is 503 AUTH_UNAVAILABLE and the next request works once it is back;
 * a disabled key, and a person an operator disabled or gave another role, change within the authorizer's cache
 * bound; no key value or token text in any log line.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiHandlerName } from '../../core/api-routes';
import { hashApiKey } from '../../core/node/api-key';
import { AUTHORIZER_CACHE_SECONDS } from '../../core/principal';
import { TABLE } from '../../core/service-env';
import { jobPk } from '../../lambdas/storage/table-keys';
import { SYNTH_TIMEOUT_MS } from '../local/helpers';
import { startGatewayHarness, type Credentials, type GatewayHarness } from '../support/gateway-harness';

const HANDLERS = ['createJob', 'getJob', 'listJobs', 'getMe'] as const satisfies readonly ApiHandlerName[];

let h: GatewayHarness;
let userToken: string;
let adminToken: string;
/** Every secret the test sent: none may appear in a log line. */
const secrets: string[] = [];

const call = (handler: ApiHandlerName, credentials: Credentials, options: { id?: string; body?: object } = {}) =>
  h.call(handler, credentials, { ...(options.body ? { body: options.body } : {}), params: { id: options.id ?? 'zzzzzzzzzzzz' } });

async function tokenOf(login: string): Promise<string> {
  const signedIn = await h.signIn(login);
  secrets.push(...signedIn.secrets);
  return signedIn.accessToken;
}

/** A token signed with the stand-in's own key, `claims` over valid ones. */
async function mint(claims: Record<string, unknown>): Promise<string> {
  const jwk = h.provider.signingKeys.find((key) => key.alg === 'ES256')!;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: h.provider.issuer, aud: h.provider.clientId, sub: 'user', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid! })
    .sign(await importJWK(jwk, 'ES256'));
  secrets.push(token);
  return token;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  // Logs on, so the test can read them; stdout is captured for the whole file.
  h = await startGatewayHarness({
    site: 'http://127.0.0.1:18781',
    name: 'people',
    handlers: HANDLERS,
    captureLogs: true,
  });
  secrets.push(h.cliKey.value);
  userToken = await tokenOf('user');
  adminToken = await tokenOf('admin');
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  await h?.close();
});

describe('a person signed in at the OpenID provider', () => {
  it('creates and reads a job owned by oidc:<issuer>#<sub>, throttled under the People key; the other person gets 404', async () => {
    const created = await call('createJob', { token: userToken }, { body: { filename: 'KNIME_single_csv.knwf' } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const jobId = created.json.job.jobId as string;
    const stored = await h.aws.ddb.send(new GetCommand({ TableName: h.aws.tableName, Key: { [TABLE.partitionKey]: jobPk(jobId) } }));
    const owner = stored.Item?.owner as string;
    expect(owner).toBe(`oidc:${h.provider.issuer}#user`);
    // apiKeySource AUTHORIZER: the authorizer named the People key, which API Gateway counted the request against.
    expect(h.events.at(-1)!.requestContext.identity.apiKeyId).toBe(h.peopleKey.id);
    expect(h.events.at(-1)!.requestContext.authorizer).toMatchObject({ principalId: owner, principalKind: 'person', role: 'user' });

    const read = await call('getJob', { token: userToken }, { id: jobId });
    expect([read.status, read.json.jobId]).toEqual([200, jobId]);
    const listed = await call('listJobs', { token: userToken });
    expect(listed.json.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);

    const other = await call('getJob', { token: adminToken }, { id: jobId });
    expect([other.status, other.json.error.code]).toEqual([404, 'NOT_FOUND']);
    expect((await call('listJobs', { token: adminToken })).json.jobs.map((j: { jobId: string }) => j.jobId)).not.toContain(jobId);
    // A program key is another principal too.
    expect((await call('getJob', { key: h.cliKey.value }, { id: jobId })).status).toBe(404);
    // Both sent: the bearer token wins (the person, under the People key).
    const both = await call('getJob', { token: userToken, key: h.cliKey.value }, { id: jobId });
    expect(both.status).toBe(200);
    expect(h.events.at(-1)!.requestContext.identity.apiKeyId).toBe(h.peopleKey.id);
  });

  it('GET /me names the person and their role from the groups claim', async () => {
    const asUser = await call('getMe', { token: userToken });
    expect([asUser.status, asUser.json]).toEqual([
      200,
      { id: `oidc:${h.provider.issuer}#user`, name: h.provider.accounts[0]!.name, kind: 'person', role: 'user' },
    ]);
    const asAdmin = await call('getMe', { token: adminToken });
    expect(asAdmin.json).toMatchObject({ id: `oidc:${h.provider.issuer}#admin`, kind: 'person', role: 'admin' });
    expect((await call('getMe', { key: h.cliKey.value })).json).toEqual({ id: h.cliKey.id, name: 'ci', kind: 'program', role: 'user' });
  });

  const bad: [string, () => Promise<string>][] = [
    [
      'a forged signature',
      async () => {
        const [h, p, s] = (await mint({})).split('.');
        const flipped = Buffer.from(s!, 'base64url');
        flipped[5]! ^= 0xff;
        return `${h}.${p}.${flipped.toString('base64url')}`;
      },
    ],
    ['an expired token', () => mint({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['a token for another audience', () => mint({ aud: 'another-client' })],
    ['a token not valid yet', () => mint({ nbf: Math.floor(Date.now() / 1000) + 3600 })],
    ['a token from another issuer', () => mint({ iss: 'https://idp.example.com/other' })],
    [
      'alg none',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: h.provider.issuer, aud: h.provider.clientId, sub: 'admin', iat: now, exp: now + 300 })}.`;
        secrets.push(token);
        return token;
      },
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const jwks = (await (await fetch(`${h.provider.issuer}/jwks`)).json()) as { keys: JWK[] };
        const publicKey = jwks.keys.find((key) => key.alg === 'RS256')!;
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ iss: h.provider.issuer, aud: h.provider.clientId, sub: 'admin', iat: now, exp: now + 300 })
          .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid! })
          .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
        secrets.push(token);
        return token;
      },
    ],
  ];
  for (const [name, make] of bad) {
    it(`refuses ${name}: 401 UNAUTHORIZED in the envelope, the handler not called`, async () => {
      const before = h.events.length;
      const answer = await call('listJobs', { token: await make() });
      expect([answer.status, answer.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
      expect(answer.json.error.requestId).toBeTruthy();
      expect(h.events.length).toBe(before);
    });
  }

  it('fails closed with 503 AUTH_UNAVAILABLE while the provider is unreachable, without crashing, and works once it is back', async () => {
    const token = await mint({ sub: 'user' });
    const port = await h.stopProvider();
    // A fresh container: nothing of the provider (discovery, JWKS, verdicts) is cached yet.
    await h.reloadAuthorizer();
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await call('listJobs', { token });
        expect([answer.status, answer.json.error.code]).toEqual([503, 'AUTH_UNAVAILABLE']);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Programs are not affected.
      expect((await call('listJobs', { key: h.cliKey.value })).status).toBe(200);
    } finally {
      await h.startProvider(port);
    }
    expect((await call('listJobs', { token })).status).toBe(200);
  });
});

describe("an operator's word on a person", () => {
  it(`disables them, or changes their role, within AUTHORIZER_CACHE_SECONDS (${AUTHORIZER_CACHE_SECONDS} s), however valid the token`, async () => {
    const adminId = `oidc:${h.provider.issuer}#admin`;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      let t = Date.now();
      expect((await call('getMe', { token: adminToken })).json.role).toBe('admin');
      await h.registry.setStanding(adminId, { role: 'user' }, new Date(t).toISOString());
      vi.setSystemTime((t += AUTHORIZER_CACHE_SECONDS * 1000));
      expect((await call('getMe', { token: adminToken })).json).toMatchObject({ id: adminId, role: 'user' });
      await h.registry.setStanding(adminId, { enabled: false }, new Date(t).toISOString());
      vi.setSystemTime((t += AUTHORIZER_CACHE_SECONDS * 1000));
      const refused = await call('getMe', { token: adminToken });
      expect([refused.status, refused.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
      // The other person is untouched.
      expect((await call('getMe', { token: userToken })).status).toBe(200);
      await h.registry.setStanding(adminId, { enabled: true, role: null }, new Date(t).toISOString());
      vi.setSystemTime((t += AUTHORIZER_CACHE_SECONDS * 1000));
      expect((await call('getMe', { token: adminToken })).json).toMatchObject({ id: adminId, role: 'admin' });
    } finally {
      vi.useRealTimers();
      await h.registry.setStanding(adminId, { enabled: true, role: null }, new Date().toISOString());
    }
  });
});

describe('a program key', () => {
  it(`stops working within AUTHORIZER_CACHE_SECONDS (${AUTHORIZER_CACHE_SECONDS} s) of being disabled`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      expect((await call('listJobs', { key: h.cliKey.value })).status).toBe(200);
      expect(h.events.at(-1)!.requestContext.identity.apiKeyId).toBe(h.cliKey.id);
      expect(await h.registry.setEnabled(hashApiKey(h.cliKey.value), false)).toBe(true);
      vi.setSystemTime(t0 + (AUTHORIZER_CACHE_SECONDS - 1) * 1000);
      expect((await call('listJobs', { key: h.cliKey.value })).status).toBe(200);
      vi.setSystemTime(t0 + AUTHORIZER_CACHE_SECONDS * 1000);
      const refused = await call('listJobs', { key: h.cliKey.value });
      expect([refused.status, refused.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
    } finally {
      vi.useRealTimers();
      await h.registry.setEnabled(hashApiKey(h.cliKey.value), true);
    }
  });

  it('sent as x-api-key, the People key value is no credential: 401', async () => {
    const answer = await call('listJobs', { key: h.peopleKey.value });
    expect([answer.status, answer.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });
});

describe('logs', () => {
  it('carry decisions and principal ids, never a key value, a token or a password', () => {
    const text = h.logLines.join('');
    expect(text).toContain('Authenticated');
    expect(text).toContain('bearer token refused');
    expect(text).toContain('identity provider unreachable');
    expect(secrets.length).toBeGreaterThan(8);
    for (const secret of secrets) {
      for (const part of secret.split('.').filter((p) => p.length > 8)) expect(text).not.toContain(part);
    }
    expect(text).not.toContain(hashApiKey(h.cliKey.value));
  });
});
