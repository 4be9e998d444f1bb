import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApiGateway, type LocalApiGateway } from '../../../local/stand-ins/api-gateway/gateway';
import type { LocalApiKey } from '../../../local/stand-ins/api-gateway/usage-plans';
import type { ApiModel, StackModel } from '../../../local/model/stack-model';
import { realModel, SYNTH_TIMEOUT_MS } from '../helpers';

/** The gateway runs on the real template's API model; the functions are stand-ins that echo what they received. */
let model: StackModel;
let keys: LocalApiKey[];
let web: LocalApiKey;
let cli: LocalApiKey;
beforeAll(async () => {
  // The template with anonymous access on: it has the page's shared key and its plan, which these tests exercise.
  model = await realModel('127.0.0.1:18780', { anonymousAccess: true });
  keys = model.api.apiKeys.map((k, i) => ({
    logicalId: k.logicalId,
    id: `keyid${i}abcd`,
    value: `value-${i}-${'x'.repeat(30)}`,
    enabled: true,
  }));
  const byOutput = (name: string) => keys.find((k) => k.logicalId === model.api.apiKeys.find((m) => m.outputName === name)!.logicalId)!;
  web = byOutput('WebApiKeyId');
  cli = byOutput('ClientApiKeyId');
}, SYNTH_TIMEOUT_MS);

let gateway: LocalApiGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** A key the stand-in registry knows but that is in no usage plan (no API Gateway key). */
const REGISTERED_ONLY = 'registered-only-key-value-xxxxxxxxxxxxxxx';

/**
 * The stand-in for the template's authorizer: the keys (and REGISTERED_ONLY) are registered, principal id = key id;
 * the presented key is the usage-plan key, as the real authorizer names it (apiKeySource AUTHORIZER).
 */
function authorizerResult(event: { headers: Record<string, string>; methodArn: string }) {
  const value = Object.entries(event.headers).find(([k]) => k.toLowerCase() === 'x-api-key')?.[1];
  const key = value === REGISTERED_ONLY ? { id: 'registeredonly' } : keys.find((k) => k.value === value);
  if (!key) throw Object.assign(new Error('Unauthorized'), { name: 'Error' });
  const stage = event.methodArn.split('/').slice(0, 2).join('/');
  return {
    principalId: key.id,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${stage}/*/*` }] },
    context: { principalName: `name-of-${key.id}`, principalKind: 'program', role: 'user' },
    usageIdentifierKey: value,
  };
}

interface Setup {
  behaviour?: (event: APIGatewayProxyEvent) => Promise<unknown>;
  /** Replaces the authorizer stand-in. */
  authorizer?: (event: { headers: Record<string, string>; methodArn: string }) => Promise<unknown>;
  now?: () => number;
  frozenTime?: boolean;
  maxPayloadBytes?: number;
  integrationTimeoutMs?: number;
  /** Another API model than the template's. */
  api?: ApiModel;
}

async function start(setup: Setup = {}) {
  const events: { arn: string; event: APIGatewayProxyEvent }[] = [];
  const authorizerEvents: Record<string, unknown>[] = [];
  const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
  gateway = await startApiGateway({
    api: setup.api ?? model.api,
    keys,
    accountId: '000000000000',
    ...(setup.now ? { now: setup.now } : {}),
    invoke: async (arn, event) => {
      if (arn === authorizerArn) {
        const request = event as unknown as { headers: Record<string, string>; methodArn: string };
        authorizerEvents.push(request as unknown as Record<string, unknown>);
        return setup.authorizer ? setup.authorizer(request) : authorizerResult(request);
      }
      events.push({ arn, event });
      return setup.behaviour
        ? setup.behaviour(event)
        : { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ok: true }) };
    },
    // A frozen clock: no token is refilled during the test.
    ...(setup.frozenTime ? { monotonicNow: () => 1000 } : {}),
    maxPayloadBytes: setup.maxPayloadBytes,
    integrationTimeoutMs: setup.integrationTimeoutMs,
  });
  return { url: gateway.url, events, authorizerEvents };
}

const arnOf = (method: string, path: string) => model.api.routes.find((r) => r.method === method && r.path === path)!.functionArn;

describe('local API Gateway', () => {
  it('serves the stage URL like the deployed ApiUrl output', async () => {
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/$/);
  });

  it('answers GET /health without an API key, with a proxy event that carries no key', async () => {
    const { url, events } = await start();
    const response = await fetch(`${url}health`);
    expect(response.status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0]!.arn).toBe(arnOf('GET', '/health'));
    expect(events[0]!.event.requestContext.identity.apiKeyId).toBeNull();
  });

  it('refuses a key-protected route without a key, or with an unknown one: 401 UNAUTHORIZED in the envelope, function not called', async () => {
    const { url, events, authorizerEvents } = await start();
    for (const headers of [{}, { 'x-api-key': 'not-a-key' }] as Record<string, string>[]) {
      const response = await fetch(`${url}jobs`, { headers });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(body.error.requestId).toBe(response.headers.get('x-amzn-requestid'));
      expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:18780');
    }
    expect(events).toHaveLength(0);
    // No identity sources (x-api-key OR Authorization): the authorizer decides every time.
    expect(authorizerEvents).toHaveLength(2);
  });

  it('refuses a registered key that is in no usage plan: 403 FORBIDDEN (the API key check follows the authorizer)', async () => {
    const { url, events } = await start();
    const response = await fetch(`${url}jobs`, { headers: { 'x-api-key': REGISTERED_ONLY } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect(events).toHaveLength(0);
  });

  it('runs the authorizer with the REQUEST event and hands its principal to the integration as requestContext.authorizer', async () => {
    const { url, events, authorizerEvents } = await start();
    const response = await fetch(`${url}jobs/abc123def456?x=1`, { headers: { 'X-Api-Key': cli.value } });
    expect(response.status).toBe(200);
    expect(authorizerEvents[0]).toMatchObject({
      type: 'REQUEST',
      methodArn: expect.stringMatching(/^arn:aws:execute-api:[a-z0-9-]+:000000000000:[a-z0-9]+\/v1\/GET\/jobs\/abc123def456$/),
      resource: '/jobs/{id}',
      httpMethod: 'GET',
      headers: expect.objectContaining({ 'X-Api-Key': cli.value }),
      pathParameters: { id: 'abc123def456' },
      queryStringParameters: { x: '1' },
    });
    expect(events[0]!.event.requestContext.authorizer).toEqual({
      principalId: cli.id,
      principalName: `name-of-${cli.id}`,
      principalKind: 'program',
      role: 'user',
    });
    // GET /health has no authorizer.
    await fetch(`${url}health`);
    expect(authorizerEvents).toHaveLength(1);
    expect(events[1]!.event.requestContext.authorizer).toBeNull();
  });

  it("asks the template's authorizer on every request: no identity sources, so no cache (TTL 0)", async () => {
    let allow = true;
    const { url, authorizerEvents } = await start({
      authorizer: async (event) => {
        if (!allow) throw new Error('Unauthorized');
        return authorizerResult(event);
      },
    });
    const authorizer = model.api.routes.find((r) => r.authorizer)!.authorizer!;
    expect([authorizer.identitySources, authorizer.ttlSeconds]).toEqual([[], 0]);
    const get = (key: string) => fetch(`${url}jobs`, { headers: { 'x-api-key': key } }).then((r) => r.status);
    expect(await get(cli.value)).toBe(200);
    allow = false; // the key is disabled in the registry (the function's own cache is its business)
    expect(await get(cli.value)).toBe(401);
    expect(authorizerEvents).toHaveLength(2);
  });

  it('caches the result per identity-source value for the TTL when a template sets them, then asks again', async () => {
    let clock = 1_000_000;
    let allow = true;
    const cached = (a: NonNullable<ApiModel['routes'][number]['authorizer']>) => ({
      ...a,
      identitySources: ['method.request.header.x-api-key'],
      ttlSeconds: 60,
    });
    const { url, authorizerEvents } = await start({
      api: { ...model.api, routes: model.api.routes.map((r) => (r.authorizer ? { ...r, authorizer: cached(r.authorizer) } : r)) },
      now: () => clock,
      authorizer: async (event) => {
        if (!allow) throw new Error('Unauthorized');
        return authorizerResult(event);
      },
    });
    const get = (key?: string) => fetch(`${url}jobs`, { headers: key ? { 'x-api-key': key } : {} }).then((r) => r.status);
    expect(await get(cli.value)).toBe(200);
    allow = false; // the key is disabled in the registry
    expect(await get(cli.value)).toBe(200); // still the cached Allow
    expect(await get(web.value)).toBe(401); // another identity-source value: asked
    expect(await get()).toBe(401); // a missing identity source: refused without asking
    expect(authorizerEvents).toHaveLength(2);
    clock += 60_000;
    expect(await get(cli.value)).toBe(401); // the cache has expired: refused within the TTL
    expect(authorizerEvents).toHaveLength(3);
  });

  it("selects the usage-plan key by the authorizer's usageIdentifierKey (apiKeySource AUTHORIZER), not by the header", async () => {
    expect(model.api.apiKeySource).toBe('AUTHORIZER');
    let usageKey: string | undefined = web.value;
    const { url, events } = await start({
      authorizer: async (event) => {
        const { usageIdentifierKey: _presented, ...result } = authorizerResult(event);
        return usageKey === undefined ? result : { ...result, usageIdentifierKey: usageKey };
      },
    });
    // The header names the CLI key, the authorizer the web page's key: the web plan applies (it may not list jobs).
    const listed = await fetch(`${url}jobs`, { headers: { 'x-api-key': cli.value } });
    expect([listed.status, ((await listed.json()) as { error: { code: string } }).error.code]).toEqual([429, 'RATE_LIMITED']);
    const read = await fetch(`${url}jobs/abc123def456`, { headers: { 'x-api-key': cli.value } });
    expect(read.status).toBe(200);
    expect(events.at(-1)!.event.requestContext.identity.apiKeyId).toBe(web.id);
    // No usageIdentifierKey, or one that is no API key: 403 FORBIDDEN, as API Gateway answers.
    for (const key of [undefined, 'not-an-api-gateway-key-value']) {
      usageKey = key;
      const refused = await fetch(`${url}jobs/abc123def456`, { headers: { 'x-api-key': cli.value } });
      expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN']);
    }
    expect(events).toHaveLength(1);
  });

  it('maps a Deny policy to 403 FORBIDDEN and a failing authorizer to 503 AUTH_UNAVAILABLE with Retry-After, function not called', async () => {
    let mode: 'deny' | 'fail' = 'deny';
    const { url, events } = await start({
      authorizer: async (event) => {
        if (mode === 'fail') throw new Error('boom');
        const result = authorizerResult(event);
        return {
          ...result,
          policyDocument: { ...result.policyDocument, Statement: [{ ...result.policyDocument.Statement[0]!, Effect: 'Deny' }] },
        };
      },
    });
    const denied = await fetch(`${url}jobs`, { headers: { 'x-api-key': cli.value } });
    expect([denied.status, ((await denied.json()) as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN']);
    mode = 'fail';
    const failed = await fetch(`${url}jobs`, { headers: { 'x-api-key': web.value } });
    expect([failed.status, ((await failed.json()) as { error: { code: string } }).error.code]).toEqual([503, 'AUTH_UNAVAILABLE']);
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(events).toHaveLength(0);
  });

  it('passes the real APIGatewayProxyEvent shape: key id, resource, path parameters, query, headers, body', async () => {
    const { url, events } = await start();
    const response = await fetch(`${url}jobs/abc123def456/result?redirect=false`, {
      headers: { 'x-api-key': cli.value, 'X-Custom': 'yes' },
    });
    expect(response.status).toBe(200);
    const { event, arn } = events[0]!;
    expect(arn).toBe(arnOf('GET', '/jobs/{id}/result'));
    expect(event).toMatchObject({
      resource: '/jobs/{id}/result',
      path: '/jobs/abc123def456/result',
      httpMethod: 'GET',
      pathParameters: { id: 'abc123def456' },
      queryStringParameters: { redirect: 'false' },
      multiValueQueryStringParameters: { redirect: ['false'] },
      body: null,
      isBase64Encoded: false,
      requestContext: {
        stage: 'v1',
        path: '/v1/jobs/abc123def456/result',
        resourcePath: '/jobs/{id}/result',
        identity: { apiKeyId: cli.id, apiKey: cli.value },
      },
    });
    expect(event.headers['X-Custom']).toBe('yes');
    expect(event.requestContext.requestId).toBe(response.headers.get('x-amzn-requestid'));

    await fetch(`${url}jobs`, {
      method: 'POST',
      headers: { 'x-api-key': cli.value, 'Content-Type': 'application/json' },
      body: '{"filename":"a"}',
    });
    expect(events[1]!.event).toMatchObject({
      resource: '/jobs',
      httpMethod: 'POST',
      body: '{"filename":"a"}',
      pathParameters: null,
      queryStringParameters: null,
    });
  });

  it("throttles each key with its usage plan's token bucket: 429 RATE_LIMITED with Retry-After once the burst is spent", async () => {
    const { url } = await start({ frozenTime: true });
    const plan = model.api.usagePlans.find((p) => p.apiKeyIds.includes(cli.logicalId))!;
    const statuses: number[] = [];
    for (let i = 0; i < plan.throttle!.burstLimit + 1; i++)
      statuses.push((await fetch(`${url}jobs/abc123def456`, { headers: { 'x-api-key': cli.value } })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(plan.throttle!.burstLimit);
    const throttled = await fetch(`${url}jobs/abc123def456`, { headers: { 'x-api-key': cli.value } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // Another key has its own bucket.
    expect((await fetch(`${url}jobs/abc123def456`, { headers: { 'x-api-key': web.value } })).status).toBe(200);
  });

  it("applies the plan's per-method throttle: the web page's key cannot list jobs", async () => {
    const { url, events } = await start();
    const response = await fetch(`${url}jobs`, { headers: { 'x-api-key': web.value } });
    expect(response.status).toBe(429);
    expect(events).toHaveLength(0);
    expect((await fetch(`${url}jobs`, { headers: { 'x-api-key': cli.value } })).status).toBe(200);
  });

  it('answers CORS preflight from the template without a key', async () => {
    const { url, events } = await start();
    const response = await fetch(`${url}jobs`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://127.0.0.1:18780', 'Access-Control-Request-Method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:18780');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(events).toHaveLength(0);
  });

  it('answers an unknown route or method, or a path outside the stage, with 404 NOT_FOUND', async () => {
    const { url } = await start();
    for (const [path, method] of [
      ['nope', 'GET'],
      ['health', 'DELETE'],
    ] as const) {
      const response = await fetch(`${url}${path}`, { method, headers: { 'x-api-key': cli.value } });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    expect((await fetch(url.replace('/v1/', '/prod/health'))).status).toBe(404);
  });

  it('refuses a body over the payload limit with 413, and maps function failures to 502 / time-outs to 504', async () => {
    const { url } = await start({
      maxPayloadBytes: 1024,
      integrationTimeoutMs: 200,
      behaviour: async (event) => {
        if (event.path === '/jobs/crash0000001') throw new Error('boom');
        if (event.path === '/jobs/badshape0001') return { statusCode: 'x' };
        await new Promise((r) => setTimeout(r, 1000));
        return { statusCode: 200 };
      },
    });
    const big = await fetch(`${url}jobs`, { method: 'POST', headers: { 'x-api-key': cli.value }, body: 'x'.repeat(2048) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('INVALID_REQUEST');
    for (const id of ['crash0000001', 'badshape0001']) {
      const failed = await fetch(`${url}jobs/${id}`, { headers: { 'x-api-key': cli.value } });
      expect(failed.status).toBe(502);
      expect(((await failed.json()) as { error: { code: string } }).error.code).toBe('INTERNAL_ERROR');
    }
    const slow = await fetch(`${url}jobs/slow00000001`, { headers: { 'x-api-key': cli.value } });
    expect(slow.status).toBe(504);
  });

  it("passes the function's status, headers and body through", async () => {
    const { url } = await start({
      behaviour: async () => ({
        statusCode: 302,
        headers: { Location: 'http://example.invalid/x' },
        multiValueHeaders: { 'X-Multi': ['a', 'b'] },
        body: '',
      }),
    });
    const response = await fetch(`${url}jobs/abc123def456/result`, { headers: { 'x-api-key': cli.value }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://example.invalid/x');
    expect(response.headers.get('x-multi')).toBe('a, b');
  });
});
