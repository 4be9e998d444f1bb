/**
 * People and programs through the local API Gateway built from the synthesized template (apiKeySource AUTHORIZER,
 * its gateway responses) and the real authorizer: a person signed in at the local OpenID stand-in (code + PKCE over
 * HTTP) creates and reads a job they own; the other seeded person cannot see it; bad tokens are 401 in the
 * envelope; an unreachable identity provider is 503 AUTH_UNAVAILABLE and the next request works once it is back;
 * a disabled key stops within the authorizer's cache bound; no key value or token text in any log line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_ROUTES, type ApiHandlerName } from '../../core/api-routes';
import { hashApiKey } from '../../core/node/api-key';
import { AUTHORIZER_CACHE_SECONDS } from '../../core/principal';
import { LAMBDA_ENV, OIDC_ENV, TABLE } from '../../core/service-env';
import { KeyRegistry } from '../../lambdas/storage/key-registry';
import { jobPk } from '../../lambdas/storage/table-keys';
import type { StackModel } from '../../local/model/stack-model';
import { startApiGateway, type LocalApiGateway } from '../../local/stand-ins/api-gateway/gateway';
import type { LocalApiKey } from '../../local/stand-ins/api-gateway/usage-plans';
import { LOCAL_OIDC, startOidcProvider, type OidcProviderHandle } from '../../local/stand-ins/oidc';
import { realModel, SYNTH_TIMEOUT_MS } from '../local/helpers';
import { applyEnv, lambdaContext, loadHandler, loadHandlers, type AnyHandler } from '../support/lambda-harness';
import { createKeyRegistryTable, startLocalAws, type LocalAws } from '../support/local-aws';
import { signIn } from '../support/oidc-sign-in';

const SITE = 'http://127.0.0.1:18781';
const KEY_TABLE = 'k2p-people-keys';
const HANDLERS = ['createJob', 'getJob', 'listJobs', 'getMe'] as const satisfies readonly ApiHandlerName[];

let dir: string;
let aws: LocalAws;
let model: StackModel;
let provider: OidcProviderHandle;
let keys: LocalApiKey[];
let cliKey: LocalApiKey;
let peopleKey: LocalApiKey;
let registry: KeyRegistry;
let handlers: Record<(typeof HANDLERS)[number], AnyHandler>;
let authorizer: AnyHandler;
let gateway: LocalApiGateway;
let userToken: string;
let adminToken: string;
/** The proxy events the handlers received. */
const events: APIGatewayProxyEvent[] = [];
/** Every line the handlers, the authorizer and the gateway's access log wrote. */
const logLines: string[] = [];
/** Every secret the test sent: none may appear in a log line. */
const secrets: string[] = [];

const startProvider = (port = 0) =>
  startOidcProvider({ ...LOCAL_OIDC, port, redirectUris: [SITE], stateFile: join(dir, 'oidc', 'state.json') });

/** The authorizer as the template configures it, trusting the local stand-in (as local mode runs it). */
const loadAuthorizer = () =>
  loadHandler('authorizer', {
    [LAMBDA_ENV.KEY_TABLE_NAME]: KEY_TABLE,
    [LAMBDA_ENV.PEOPLE_USAGE_KEY]: peopleKey.value,
    [OIDC_ENV.OIDC_ISSUER]: provider.issuer,
    [OIDC_ENV.OIDC_AUDIENCE]: provider.clientId,
    [OIDC_ENV.OIDC_GROUPS_CLAIM]: provider.groupsClaim,
    [OIDC_ENV.OIDC_ADMIN_GROUP]: provider.adminGroup,
    [OIDC_ENV.OIDC_ALLOW_LOOPBACK_HTTP]: 'true',
  });

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function call(handler: ApiHandlerName, credentials: { token?: string; key?: string }, options: { id?: string; body?: object } = {}) {
  const route = API_ROUTES.find((r) => r.handler === handler)!;
  const url = new URL(route.path.replace('{id}', options.id ?? 'zzzzzzzzzzzz').slice(1), gateway.url);
  const response = await fetch(url, {
    method: route.method,
    headers: {
      ...(credentials.token ? { Authorization: `Bearer ${credentials.token}` } : {}),
      ...(credentials.key ? { 'x-api-key': credentials.key } : {}),
      ...(options.body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined } as Answer;
}

async function tokenOf(login: string): Promise<string> {
  const account = provider.accounts.find((a) => a.login === login)!;
  const result = await signIn({ issuer: provider.issuer, clientId: provider.clientId, site: SITE, login, password: account.password });
  if (result.refused) throw new Error(`${login} was refused`);
  secrets.push(result.id_token, result.access_token, account.password);
  return result.access_token;
}

/** A token signed with the stand-in's own key, `claims` over valid ones. */
async function mint(claims: Record<string, unknown>): Promise<string> {
  const jwk = provider.signingKeys.find((key) => key.alg === 'ES256')!;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: provider.issuer, aud: provider.clientId, sub: 'user', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid! })
    .sign(await importJWK(jwk, 'ES256'));
  secrets.push(token);
  return token;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k2p-people-'));
  model = await realModel();
  provider = await startProvider();
  aws = await startLocalAws();
  // Logs on, so the test can read them; stdout is captured for the whole file.
  applyEnv({ ...aws.env, POWERTOOLS_LOG_LEVEL: 'INFO', LIMIT_GLOBAL_IN_FLIGHT: '1000', LIMIT_PER_KEY_IN_FLIGHT: '1000' });
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    logLines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write);
  // The template's keys; the People key keeps the value the template gives it (the authorizer's PEOPLE_USAGE_KEY).
  keys = model.api.apiKeys.map((k, i) => ({
    logicalId: k.logicalId,
    id: `keyid${i}people`,
    value: k.value ?? `k2p_value-${i}-${'p'.repeat(32)}`,
    enabled: true,
  }));
  cliKey = keys.find((k) => k.logicalId === model.api.apiKeys.find((m) => m.outputName === 'ClientApiKeyId')!.logicalId)!;
  peopleKey = keys.find((k) => k.value === model.api.apiKeys.find((m) => m.value)!.value)!;
  secrets.push(cliKey.value);
  await createKeyRegistryTable(aws.ddb, KEY_TABLE);
  registry = new KeyRegistry(aws.ddb, KEY_TABLE);
  await registry.register(cliKey.value, {
    principalId: cliKey.id,
    name: 'ci',
    kind: 'program',
    role: 'user',
    enabled: true,
    createdAt: new Date().toISOString(),
  });
  handlers = await loadHandlers(HANDLERS);
  authorizer = await loadAuthorizer();
  const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
  gateway = await startApiGateway({
    api: model.api,
    keys,
    accountId: '000000000000',
    // A fast clock: usage-plan buckets never run dry here.
    monotonicNow: () => performance.now() * 1000,
    accessLog: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
    invoke: async (arn, event) => {
      if (arn === authorizerArn) return authorizer(event, lambdaContext());
      events.push(event);
      const route = model.api.routes.find((r) => r.functionArn === arn)!;
      const name = API_ROUTES.find((r) => r.method === route.method && r.path === route.path)!.handler;
      return handlers[name as (typeof HANDLERS)[number]](event, lambdaContext());
    },
  });
  userToken = await tokenOf('user');
  adminToken = await tokenOf('admin');
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  vi.restoreAllMocks();
  await gateway?.close();
  await provider?.close();
  await aws?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a person signed in at the OpenID provider', () => {
  it('creates and reads a job owned by oidc:<issuer>#<sub>, throttled under the People key; the other person gets 404', async () => {
    const created = await call('createJob', { token: userToken }, { body: { filename: 'KNIME_single_csv.knwf' } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const jobId = created.json.job.jobId as string;
    const stored = await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { [TABLE.partitionKey]: jobPk(jobId) } }));
    const owner = stored.Item?.owner as string;
    expect(owner).toBe(`oidc:${provider.issuer}#user`);
    // apiKeySource AUTHORIZER: the authorizer named the People key, which API Gateway counted the request against.
    expect(events.at(-1)!.requestContext.identity.apiKeyId).toBe(peopleKey.id);
    expect(events.at(-1)!.requestContext.authorizer).toMatchObject({ principalId: owner, principalKind: 'person', role: 'user' });

    const read = await call('getJob', { token: userToken }, { id: jobId });
    expect([read.status, read.json.jobId]).toEqual([200, jobId]);
    const listed = await call('listJobs', { token: userToken });
    expect(listed.json.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);

    const other = await call('getJob', { token: adminToken }, { id: jobId });
    expect([other.status, other.json.error.code]).toEqual([404, 'NOT_FOUND']);
    expect((await call('listJobs', { token: adminToken })).json.jobs.map((j: { jobId: string }) => j.jobId)).not.toContain(jobId);
    // A program key is another principal too.
    expect((await call('getJob', { key: cliKey.value }, { id: jobId })).status).toBe(404);
    // Both sent: the bearer token wins (the person, under the People key).
    const both = await call('getJob', { token: userToken, key: cliKey.value }, { id: jobId });
    expect(both.status).toBe(200);
    expect(events.at(-1)!.requestContext.identity.apiKeyId).toBe(peopleKey.id);
  });

  it('GET /me names the person and their role from the groups claim', async () => {
    const asUser = await call('getMe', { token: userToken });
    expect([asUser.status, asUser.json]).toEqual([
      200,
      { id: `oidc:${provider.issuer}#user`, name: provider.accounts[0]!.name, kind: 'person', role: 'user' },
    ]);
    const asAdmin = await call('getMe', { token: adminToken });
    expect(asAdmin.json).toMatchObject({ id: `oidc:${provider.issuer}#admin`, kind: 'person', role: 'admin' });
    expect((await call('getMe', { key: cliKey.value })).json).toEqual({ id: cliKey.id, name: 'ci', kind: 'program', role: 'user' });
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
    [
      'alg none',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: provider.issuer, aud: provider.clientId, sub: 'admin', iat: now, exp: now + 300 })}.`;
        secrets.push(token);
        return token;
      },
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const jwks = (await (await fetch(`${provider.issuer}/jwks`)).json()) as { keys: JWK[] };
        const publicKey = jwks.keys.find((key) => key.alg === 'RS256')!;
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ iss: provider.issuer, aud: provider.clientId, sub: 'admin', iat: now, exp: now + 300 })
          .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid! })
          .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
        secrets.push(token);
        return token;
      },
    ],
  ];
  for (const [name, make] of bad) {
    it(`refuses ${name}: 401 UNAUTHORIZED in the envelope, the handler not called`, async () => {
      const before = events.length;
      const answer = await call('listJobs', { token: await make() });
      expect([answer.status, answer.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
      expect(answer.json.error.requestId).toBeTruthy();
      expect(events.length).toBe(before);
    });
  }

  it('fails closed with 503 AUTH_UNAVAILABLE while the provider is unreachable, without crashing, and works once it is back', async () => {
    const token = await mint({ sub: 'user' });
    const port = provider.port;
    await provider.close();
    // A fresh container: nothing of the provider (discovery, JWKS, verdicts) is cached yet.
    authorizer = await loadAuthorizer();
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await call('listJobs', { token });
        expect([answer.status, answer.json.error.code]).toEqual([503, 'AUTH_UNAVAILABLE']);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Programs are not affected.
      expect((await call('listJobs', { key: cliKey.value })).status).toBe(200);
    } finally {
      provider = await startProvider(port);
    }
    expect((await call('listJobs', { token })).status).toBe(200);
  });
});

describe('a program key', () => {
  it(`stops working within AUTHORIZER_CACHE_SECONDS (${AUTHORIZER_CACHE_SECONDS} s) of being disabled`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      expect((await call('listJobs', { key: cliKey.value })).status).toBe(200);
      expect(events.at(-1)!.requestContext.identity.apiKeyId).toBe(cliKey.id);
      expect(await registry.setEnabled(hashApiKey(cliKey.value), false)).toBe(true);
      vi.setSystemTime(t0 + (AUTHORIZER_CACHE_SECONDS - 1) * 1000);
      expect((await call('listJobs', { key: cliKey.value })).status).toBe(200);
      vi.setSystemTime(t0 + AUTHORIZER_CACHE_SECONDS * 1000);
      const refused = await call('listJobs', { key: cliKey.value });
      expect([refused.status, refused.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
    } finally {
      vi.useRealTimers();
      await registry.setEnabled(hashApiKey(cliKey.value), true);
    }
  });

  it('sent as x-api-key, the People key value is no credential: 401', async () => {
    const answer = await call('listJobs', { key: peopleKey.value });
    expect([answer.status, answer.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });
});

describe('logs', () => {
  it('carry decisions and principal ids, never a key value, a token or a password', () => {
    const text = logLines.join('');
    expect(text).toContain('Authenticated');
    expect(text).toContain('bearer token refused');
    expect(text).toContain('identity provider unreachable');
    expect(secrets.length).toBeGreaterThan(8);
    for (const secret of secrets) {
      for (const part of secret.split('.').filter((p) => p.length > 8)) expect(text).not.toContain(part);
    }
    expect(text).not.toContain(hashApiKey(cliKey.value));
  });
});
