/**
 * The REQUEST authorizer against the key registry in dynalite: a registered,
 * enabled key → Allow with its principal and itself as the usage-plan key;
 * unknown, disabled or missing → "Unauthorized"; a disabled key stops within
 * the cache bound; no key value in any log line.
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateApiKey, hashApiKey } from '../../core/node/api-key';
import { AUTHORIZER_CACHE_SECONDS, KEY_TABLE, principalFromContext } from '../../core/principal';
import { LAMBDA_ENV } from '../../core/service-env';
import { KeyRegistry } from '../../lambdas/storage/key-registry';
import { applyEnv, loadHandler, withEnv, type AnyHandler } from '../support/lambda-harness';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/local-aws';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/jobs/j-1';
const TABLE_NAME = 'k2p-test-keys';

let server: Server;
let registry: KeyRegistry;
let ddb: DynamoDBDocumentClient;
let authorize: AnyHandler;
let restoreEnv: () => void;
let endpoint: string;
const lines: string[] = [];

function event(headers: Record<string, string>): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    resource: '/jobs/{id}',
    path: '/v1/jobs/j-1',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: {},
    multiValueQueryStringParameters: {},
    pathParameters: { id: 'j-1' },
    stageVariables: {},
    requestContext: { requestId: 'authz-request-1' },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

async function register(name: string, role: 'user' | 'admin', enabled = true) {
  const value = generateApiKey();
  const principalId = `p-${name}`;
  await registry.register(value, { principalId, name, kind: 'program', role, enabled, createdAt: new Date().toISOString() });
  return { value, principalId };
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS, endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE_NAME,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: KEY_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: KEY_TABLE.partitionKey, KeyType: 'HASH' }],
    }),
  );
  ddb = DynamoDBDocumentClient.from(client);
  registry = new KeyRegistry(ddb, TABLE_NAME);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write);
  // The SDK reads region and endpoint at the first call, so the environment stays for the whole file.
  restoreEnv = applyEnv({
    [LAMBDA_ENV.KEY_TABLE_NAME]: TABLE_NAME,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    PEOPLE_USAGE_KEY: 'k2p-web-people-usage-Test',
  });
  authorize = await loadHandler('authorizer');
});

afterAll(async () => {
  vi.restoreAllMocks();
  restoreEnv?.();
  await new Promise((resolve) => server?.close(resolve));
});

describe('REQUEST authorizer', () => {
  const used: string[] = [];

  it('allows a registered key with its principal in the context, for the whole stage, and records its use', async () => {
    const key = await register('ci-bot', 'admin');
    used.push(key.value);
    const result = await authorize(event({ 'X-Api-Key': key.value }), {} as never);
    expect(result.principalId).toBe(key.principalId);
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*' },
    ]);
    // requestContext.authorizer as API Gateway builds it: principalId plus the context.
    expect(principalFromContext({ principalId: result.principalId, ...result.context })).toEqual({
      id: key.principalId,
      name: 'ci-bot',
      kind: 'program',
      role: 'admin',
    });
    for (const value of Object.values(result.context)) expect(typeof value).toBe('string');
    // apiKeySource AUTHORIZER: the program's own key value selects its API Gateway key and usage plan.
    expect(result.usageIdentifierKey).toBe(key.value);
    const stored = await registry.lookup(key.value);
    expect(stored?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(stored?.keyHash).toBe(hashApiKey(key.value));
  });

  it('refuses an unknown key, a disabled key and a request without a key as "Unauthorized" (API Gateway: 401)', async () => {
    const unknown = generateApiKey();
    used.push(unknown);
    await expect(authorize(event({ 'x-api-key': unknown }), {} as never)).rejects.toThrow(/^Unauthorized$/);
    const disabled = await register('retired-bot', 'user', false);
    used.push(disabled.value);
    await expect(authorize(event({ 'x-api-key': disabled.value }), {} as never)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(event({}), {} as never)).rejects.toThrow(/^Unauthorized$/);
  });

  it('stops admitting a key within AUTHORIZER_CACHE_SECONDS once it is disabled', async () => {
    const key = await register('soon-revoked', 'user');
    used.push(key.value);
    // Only Date is faked: the authorizer's cache reads it, the SDK's timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      expect((await authorize(event({ 'x-api-key': key.value }), {} as never)).principalId).toBe(key.principalId);
      expect(await registry.setEnabled(hashApiKey(key.value), false)).toBe(true);
      vi.setSystemTime(t0 + (AUTHORIZER_CACHE_SECONDS - 1) * 1000);
      expect((await authorize(event({ 'x-api-key': key.value }), {} as never)).principalId).toBe(key.principalId);
      vi.setSystemTime(t0 + AUTHORIZER_CACHE_SECONDS * 1000);
      await expect(authorize(event({ 'x-api-key': key.value }), {} as never)).rejects.toThrow(/^Unauthorized$/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails with another error than "Unauthorized" when the registry cannot be read (API Gateway: 503 AUTH_UNAVAILABLE)', async () => {
    const key = await register('while-down', 'user');
    used.push(key.value);
    // The SDK reads the endpoint at its first call, so the handler is loaded and invoked inside the environment.
    const error = await withEnv({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' }, async () => {
      const down = await loadHandler('authorizer');
      return down(event({ 'x-api-key': key.value }), {} as never).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    });
    expect(error?.message).toBe('Authorizer unavailable');
  });

  it('refuses a bearer token while no token verifier is configured', async () => {
    await expect(authorize(event({ Authorization: 'Bearer eyJhbGciOi.x.y' }), {} as never)).rejects.toThrow(/^Unauthorized$/);
  });

  it('never writes a key value (nor its hash) to the log, though it logs every decision', () => {
    const output = lines.join('');
    expect(output).toContain('Authenticated');
    expect(output).toContain('Refused: unknown API key');
    expect(output).toContain('Refused: disabled API key');
    expect(used.length).toBeGreaterThanOrEqual(4);
    for (const value of used) {
      expect(output).not.toContain(value);
      expect(output).not.toContain(hashApiKey(value));
    }
    expect(output).not.toContain('eyJhbGciOi');
  });
});

describe('npm run keys', () => {
  const run = (args: string[], input?: string) => {
    const child = promisify(execFile)('npx', ['tsx', 'scripts/keys.ts', ...args, '--table', TABLE_NAME], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_REGION: TEST_REGION,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      },
    });
    if (input !== undefined) child.child.stdin!.end(input);
    return child;
  };

  it('creates a key (value printed once, only its hash stored), registers an existing one, and disables it', async () => {
    const created = await run(['create', '--name', 'ops-bot', '--role', 'admin']);
    const value = created.stdout.trim();
    expect(value).toMatch(/^k2p_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).not.toContain(value);
    expect(await registry.lookup(value)).toMatchObject({ name: 'ops-bot', role: 'admin', kind: 'program', enabled: true });
    expect(JSON.stringify(await registry.lookup(value))).not.toContain(value);

    const migrated = await run(
      ['register', '--name', 'alice', '--principal-id', 'a1b2c3d4e5'],
      'old-api-gateway-key-value-000000000000000',
    );
    expect(migrated.stdout).toBe('');
    expect(await registry.lookup('old-api-gateway-key-value-000000000000000')).toMatchObject({ principalId: 'a1b2c3d4e5' });

    await run(['disable', '--hash', hashApiKey(value)]);
    expect((await registry.lookup(value))?.enabled).toBe(false);
  }, 60_000);

  it("sets a signed-in person's standing: disabled, a role over their token's, and back", async () => {
    const person = 'oidc:https://idp.example.com#ada';
    await run(['person', '--principal-id', person, '--disable']);
    expect(await registry.standingOf(person)).toMatchObject({ principalId: person, enabled: false });
    await run(['person', '--principal-id', person, '--enable', '--role', 'admin']);
    expect(await registry.standingOf(person)).toMatchObject({ enabled: true, role: 'admin' });
    await run(['person', '--principal-id', person, '--role', 'token']);
    const back = await registry.standingOf(person);
    expect([back?.enabled, back?.role]).toEqual([true, undefined]);
    await expect(run(['person', '--principal-id', person])).rejects.toThrow(/--disable, --enable or --role/);
  }, 60_000);
});
