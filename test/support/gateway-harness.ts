/**
 * The API as a client meets it, on one machine: the local API Gateway stand-in built from the synthesized template
 * (its routes, usage plans and keys, apiKeySource AUTHORIZER, gateway responses), the real authorizer configured as
 * the template configures it (its key registry, the People and Programs usage-plan keys, the local OpenID provider as
 * issuer), the real handlers against dynalite and s3rver, and people who sign in at the OpenID stand-in with code +
 * PKCE. The template's CLI key is registered as an API Gateway key of its own (apiGatewayKeyId), as an operator's
 * key is. Each test file starts one in beforeAll and closes it in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { API_ROUTES, type ApiHandlerName } from '../../core/api-routes';
import { LAMBDA_ENV, OIDC_ENV, type HandlerName } from '../../core/service-env';
import { KeyRegistry } from '../../lambdas/storage/key-registry';
import type { StackModel } from '../../local/model/stack-model';
import { startApiGateway, type LocalApiGateway } from '../../local/stand-ins/api-gateway/gateway';
import type { LocalApiKey } from '../../local/stand-ins/api-gateway/usage-plans';
import { LOCAL_OIDC, startOidcProvider, type OidcProviderHandle } from '../../local/stand-ins/oidc';
import { realModel } from '../local/helpers';
import { applyEnv, lambdaContext, loadHandler, loadHandlers, type AnyHandler } from './lambda-harness';
import { startLocalAws, type LocalAws } from './local-aws';
import { signIn } from './oidc-sign-in';

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined when empty); text bodies are in `text`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

export type Credentials = { token?: string; key?: string };

export interface CallOptions {
  /** Path parameters by name (`id`, `keyId`, `principalId`); unknown but well-formed ones by default. */
  params?: Record<string, string>;
  body?: object;
  query?: Record<string, string>;
}

export interface HarnessOptions {
  /** The page origin the OpenID stand-in redirects to (unique per file). */
  site: string;
  /** Prefix of the temporary directory. */
  name: string;
  /** Handlers the gateway may invoke (others answer 500 as an integration failure would). */
  handlers: readonly HandlerName[];
  /** Environment for the handlers, over local AWS's. */
  env?: Record<string, string>;
  /** Principal of the template's CLI key. @default its key id, named `ci` */
  cliPrincipal?: { id?: string; name: string };
  /**
   * Logs on (INFO), and every line the handlers, the authorizer and the gateway's access log write collected in
   * `logLines` (stdout is captured from the start until close).
   */
  captureLogs?: boolean;
}

export interface GatewayHarness {
  dir: string;
  aws: LocalAws;
  model: StackModel;
  provider: OidcProviderHandle;
  keys: LocalApiKey[];
  /** The template's client key: an API Gateway key of its own, registered with role user. */
  cliKey: LocalApiKey;
  /** The key every bearer-token caller is throttled by (the authorizer's PEOPLE_USAGE_KEY). */
  peopleKey: LocalApiKey;
  /** The key every registered key without one of its own is throttled by (the authorizer's PROGRAMS_USAGE_KEY). */
  programsKey: LocalApiKey;
  registry: KeyRegistry;
  handlers: Partial<Record<HandlerName, AnyHandler>>;
  gateway: LocalApiGateway;
  /** The proxy events the handlers received. */
  events: APIGatewayProxyEvent[];
  /** With captureLogs: every log line written so far. */
  logLines: string[];
  call(handler: ApiHandlerName, credentials: Credentials, options?: CallOptions): Promise<Answer>;
  /** Signs in as a seeded person and returns their access token (and records the secrets it saw). */
  signIn(login: string): Promise<{ accessToken: string; secrets: string[] }>;
  /** A fresh authorizer container (nothing cached), as the template configures it. */
  reloadAuthorizer(): Promise<void>;
  /** Stops the OpenID provider; `startProvider` brings it back on the same port. */
  stopProvider(): Promise<number>;
  startProvider(port: number): Promise<void>;
  close(): Promise<void>;
}

/** The key of the template resource whose logical id contains `name` (e.g. PeopleApiKey). */
function templateKey(model: StackModel, keys: LocalApiKey[], name: string): LocalApiKey {
  const logicalId = model.api.apiKeys.find((k) => k.logicalId.includes(name))?.logicalId;
  const key = keys.find((k) => k.logicalId === logicalId);
  if (!key) throw new Error(`The template has no API key ${name}`);
  return key;
}

export async function startGatewayHarness(options: HarnessOptions): Promise<GatewayHarness> {
  const logLines: string[] = [];
  if (options.captureLogs) {
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      logLines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
  }
  const dir = mkdtempSync(join(tmpdir(), `k2p-${options.name}-`));
  const model = await realModel();
  const startProvider = (port = 0) =>
    startOidcProvider({ ...LOCAL_OIDC, port, redirectUris: [options.site], stateFile: join(dir, 'oidc', 'state.json') });
  let provider = await startProvider();
  const aws = await startLocalAws();
  applyEnv({
    ...aws.env,
    LIMIT_GLOBAL_IN_FLIGHT: '1000',
    LIMIT_PER_KEY_IN_FLIGHT: '1000',
    ...(options.captureLogs ? { POWERTOOLS_LOG_LEVEL: 'INFO' } : {}),
    ...options.env,
  });
  // The template's keys; keys whose value the template sets (People, Programs) keep it, as API Gateway would.
  const keys: LocalApiKey[] = model.api.apiKeys.map((k, i) => ({
    logicalId: k.logicalId,
    id: `keyid${i}${options.name}`,
    value: k.value ?? `k2p_value-${i}-${options.name}-${'k'.repeat(32)}`,
    enabled: true,
  }));
  const cliKey = keys.find((k) => k.logicalId === model.api.apiKeys.find((m) => m.outputName === 'ClientApiKeyId')!.logicalId)!;
  const peopleKey = templateKey(model, keys, 'PeopleApiKey');
  const programsKey = templateKey(model, keys, 'ProgramsApiKey');
  const registry = new KeyRegistry(aws.ddb, aws.keyTableName);
  await registry.register(cliKey.value, {
    principalId: options.cliPrincipal?.id ?? cliKey.id,
    name: options.cliPrincipal?.name ?? 'ci',
    kind: 'program',
    role: 'user',
    enabled: true,
    createdAt: new Date().toISOString(),
    apiGatewayKeyId: cliKey.id,
  });
  const handlers = (await loadHandlers(options.handlers)) as Partial<Record<HandlerName, AnyHandler>>;
  const loadAuthorizer = () =>
    loadHandler('authorizer', {
      [LAMBDA_ENV.KEY_TABLE_NAME]: aws.keyTableName,
      [LAMBDA_ENV.PEOPLE_USAGE_KEY]: peopleKey.value,
      [LAMBDA_ENV.PROGRAMS_USAGE_KEY]: programsKey.value,
      [OIDC_ENV.OIDC_ISSUER]: provider.issuer,
      [OIDC_ENV.OIDC_AUDIENCE]: provider.clientId,
      [OIDC_ENV.OIDC_GROUPS_CLAIM]: provider.groupsClaim,
      [OIDC_ENV.OIDC_ADMIN_GROUP]: provider.adminGroup,
      [OIDC_ENV.OIDC_ALLOW_LOOPBACK_HTTP]: 'true',
    });
  let authorizer = await loadAuthorizer();
  const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
  const events: APIGatewayProxyEvent[] = [];
  const gateway = await startApiGateway({
    api: model.api,
    keys,
    accountId: '000000000000',
    // A fast clock: usage-plan buckets never run dry here.
    monotonicNow: () => performance.now() * 1000,
    ...(options.captureLogs
      ? {
          accessLog: new Writable({
            write(chunk, _encoding, done) {
              logLines.push(String(chunk));
              done();
            },
          }),
        }
      : {}),
    invoke: async (arn, event) => {
      if (arn === authorizerArn) return authorizer(event, lambdaContext());
      events.push(event);
      const route = model.api.routes.find((r) => r.functionArn === arn)!;
      const name = API_ROUTES.find((r) => r.method === route.method && r.path === route.path)!.handler;
      const handler = handlers[name];
      if (!handler) throw new Error(`${name} is not loaded in this test`);
      return handler(event, lambdaContext());
    },
  });

  const harness: GatewayHarness = {
    dir,
    aws,
    model,
    get provider() {
      return provider;
    },
    keys,
    cliKey,
    peopleKey,
    programsKey,
    registry,
    handlers,
    gateway,
    events,
    logLines,
    async call(handler, credentials, callOptions = {}) {
      const route = API_ROUTES.find((r) => r.handler === handler)!;
      const params: Record<string, string> = { id: 'zzzzzzzzzzzz', keyId: '0'.repeat(64), principalId: 'nobody', ...callOptions.params };
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!)).slice(1);
      const url = new URL(path + (callOptions.query ? `?${new URLSearchParams(callOptions.query)}` : ''), gateway.url);
      const response = await fetch(url, {
        method: route.method,
        headers: {
          ...(credentials.token ? { Authorization: `Bearer ${credentials.token}` } : {}),
          ...(credentials.key ? { 'x-api-key': credentials.key } : {}),
          ...(callOptions.body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: callOptions.body ? JSON.stringify(callOptions.body) : undefined,
      });
      const text = await response.text();
      const isJson = (response.headers.get('content-type') ?? '').includes('json');
      return { status: response.status, headers: response.headers, json: isJson && text ? JSON.parse(text) : undefined, text };
    },
    async signIn(login) {
      const account = provider.accounts.find((a) => a.login === login)!;
      const result = await signIn({
        issuer: provider.issuer,
        clientId: provider.clientId,
        site: options.site,
        login,
        password: account.password,
      });
      if (result.refused) throw new Error(`${login} was refused`);
      return { accessToken: result.access_token, secrets: [result.id_token, result.access_token, account.password] };
    },
    async reloadAuthorizer() {
      authorizer = await loadAuthorizer();
    },
    async stopProvider() {
      const port = provider.port;
      await provider.close();
      return port;
    },
    async startProvider(port) {
      provider = await startProvider(port);
    },
    async close() {
      if (options.captureLogs) vi.restoreAllMocks();
      await gateway.close();
      await provider.close();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
