/**
 * The whole service on one machine, from the synthesized stack: dynalite with
 * the template's tables, s3rver behind the presigned-POST proxy with the
 * template's buckets and notifications, the Step Functions API running the
 * template's state machine (the ECS task as a local runner process), the
 * local API Gateway with the template's routes, keys, usage plans and gateway
 * responses (its authorizer trusting the local OpenID stand-in), the scheduled functions on timers, the template's event rules
 * (the ECS stand-in's task-stopped events), and the web page with the
 * site's response headers. Every
 * function bundle runs in its own worker threads with its env from the
 * template, reaching the stand-ins only through AWS_ENDPOINT_URL_*.
 *
 * `startLocalStack()` is what `npm start` (local/host/start.ts) and the
 * end-to-end tests call.
 */
import { existsSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_DATA_DIR } from '../../core/local-stack-file';
import { LAMBDA_ENV, OIDC_ENV } from '../../core/service-env';
import { SIGN_IN_SCOPES, type SiteConfig, type SiteSignInConfig } from '../../core/site-config';
import { loadStackModel, type FunctionModel, type StackModel } from '../model/stack-model';
import { contextStackName, ensureSynth } from '../model/synth';
import { startApiGateway } from '../stand-ins/api-gateway/gateway';
import { keyByOutput } from '../stand-ins/api-gateway/usage-plans';
import { startDynamo } from '../stand-ins/dynamodb';
import { newLocalCredentials, type LocalCredentials } from '../stand-ins/credentials';
import { discoverConverter, systemProbe, type ConverterSetup, type Probe } from '../stand-ins/ecs-task/converter';
import { detectSandbox, sandboxProperties, type SandboxSupport } from '../stand-ins/ecs-task/sandbox';
import { EcsTaskRunner, recoverTasks, type RunningTask } from '../stand-ins/ecs-task/task-runner';
import type { AsyncFailure } from '../stand-ins/function-host/async-invoke';
import { startFunctions } from '../stand-ins/function-host/start-functions';
import { startEventBus } from '../stand-ins/event-bus';
import { startS3 } from '../stand-ins/s3/start-s3';
import { LOCAL_OIDC, startOidcProvider, type OidcAccount } from '../stand-ins/oidc';
import { startSchedules } from '../stand-ins/schedule';
import { startStaticSite } from '../stand-ins/static-site';
import { startStepFunctions } from '../stand-ins/step-functions/start-step-functions';
import { createControllableClock, realClock, type LocalClock } from './clock';
import { Closer } from './closer';
import {
  DATA_LAYOUT,
  LOCAL_ADMIN,
  loadApiKeys,
  loadLocalKey,
  openLogs,
  prepareDataDir,
  removeStackState,
  writeStackState,
} from './data-dir';
import { keyRegistryTable, seedKeys } from './key-seeding';
import { DEFAULT_PORT_BASE, servicePorts, type ServiceName } from './ports';
import { provisionConverter } from './provision-converter';
import { localSiteHeaders } from './site-headers';
import { planStack } from './stack-plan';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface LocalStackOptions {
  /** Repository root (cdk.json, web/dist). @default this checkout */
  root?: string;
  /** @default <root>/.k2p-local */
  dataDir?: string;
  /** Delete the data directory first. */
  fresh?: boolean;
  /** First of six consecutive ports (web, api, s3, dynamodb, sfn, s3rver). @default 8780; 0 = any free ports */
  portBase?: number;
  /** Ports by service, over portBase (0 = any free port). */
  ports?: Partial<Record<ServiceName, number>>;
  /** @default cdk.json's context.stackName, else K2pWeb */
  stackName?: string;
  /** @default <root>/cdk.out (with anonymousAccess given: <root>/.tmp/cdk.out-anonymous-<on|off>) */
  cdkOut?: string;
  /**
   * Synthesize with this anonymousAccess instead of cdk.json's: on, the page works without sign-in through the
   * public web key (seeded as principal web-page); off, config.json has no key and the page asks to sign in.
   * @default cdk.json's (off)
   */
  anonymousAccess?: boolean;
  /** 'auto' synthesizes when cdk.out is missing or stale. @default 'auto' */
  synth?: 'auto' | 'never' | 'force';
  /** Environment to find the converter in (K2P_COMMAND, PATH, K2P_VERSION_COMMAND). @default process.env */
  converterEnv?: Record<string, string | undefined>;
  /** How local mode probes the machine (tests). */
  probe?: Probe;
  /** Interpreters tried when knime2py is provisioned into the data dir. @default python3, python3.13 … python3.10, /usr/bin/python3 */
  pythons?: string[];
  /** 'none' runs the runner as a plain process and the converter without network isolation. @default 'auto' */
  sandbox?: 'auto' | 'none';
  /** Lets tests move the stack's time (stack.clock). */
  controllableClock?: boolean;
  /** Waits before async-invoke retries. @default Lambda's 1 and 2 minutes */
  asyncRetryDelaysMs?: number[];
  /** Run schedules on their timers. @default true */
  schedules?: boolean;
  /** SIGTERM → SIGKILL delay of stopped tasks. @default the container's StopTimeout, else ECS's 30 s */
  taskStopTimeoutSeconds?: number;
  /** Progress lines while starting. */
  log?: (line: string) => void;
}

export interface LocalStack {
  urls: { web: string; api: string; s3: string; dynamodb: string; sfn: string };
  /** cli: principal local-user (role user); admin: local-admin (role admin); web: the page's shared key, only with anonymous access. */
  keys: { cli: { id: string; value: string }; web?: { id: string; value: string }; admin: { id: string; value: string } };
  /** Whether the template publishes the page's key (cdk.json anonymousAccess, or `npm start -- --anonymous`). */
  anonymousAccess: boolean;
  /** The local OpenID provider people sign in with: issuer, the page's client, the seeded user and admin. */
  identity: { issuer: string; clientId: string; groupsClaim: string; adminGroup: string; accounts: readonly OidcAccount[] };
  dataDir: string;
  converter: ConverterSetup;
  /** The task sandbox: what is enforced here and what is not (banner, stack.json, GET /health's localSandbox). */
  sandbox: LocalSandbox;
  model: StackModel;
  clock: LocalClock;
  /** The key pair local S3 accepts (made at this start; the functions run with it). */
  credentials: LocalCredentials;
  /** Runs every scheduled function (the reaper) now and resolves with their results. */
  triggerReaper(): Promise<unknown[]>;
  /** Invokes a function synchronously, by logical id or ARN. */
  invoke(functionIdOrArn: string, event: unknown): Promise<unknown>;
  /** ECS tasks running now. */
  tasks(): RunningTask[];
  /** Events asynchronous invocations gave up on (the on-failure destination). */
  asyncFailures: AsyncFailure[];
  /** Resolves when no asynchronous invocation (S3 event, schedule) is running or waiting to retry. */
  asyncIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Webhook receivers of local mode run on this machine: loopback is added to the template's allow-list. */
export const LOCAL_WEBHOOK_CIDRS = ['127.0.0.0/8', '::1/128'] as const;

/**
 * The one setting local mode changes in the functions' environment: callback
 * URLs may reach loopback, over http too. Only the running local functions
 * get it; the synthesized template (and any deployment) keeps its policy.
 */
export function allowLocalReceivers(fn: FunctionModel): FunctionModel {
  const cidrs = fn.env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS];
  if (cidrs === undefined) return fn;
  const allowed = [...cidrs.split(','), ...LOCAL_WEBHOOK_CIDRS].map((c) => c.trim()).filter(Boolean);
  return {
    ...fn,
    env: { ...fn.env, [LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]: [...new Set(allowed)].join(','), [LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]: 'true' },
  };
}

/** The issuer people sign in with locally, as the authorizer needs it. */
export interface LocalIdentity {
  issuer: string;
  clientId: string;
  groupsClaim: string;
  adminGroup: string;
}

/**
 * The authorizer verifies tokens of the local OpenID stand-in instead of the template's issuer (Cognito cannot run
 * here): its issuer, its client as audience, its groups claim and admin group, and the one switch that admits an
 * http issuer on loopback. Only the running local authorizer gets it; the template keeps https only.
 */
export function useLocalIdentity(fn: FunctionModel, authorizerArns: ReadonlySet<string>, identity: LocalIdentity): FunctionModel {
  if (!authorizerArns.has(fn.arn)) return fn;
  const { [OIDC_ENV.OIDC_JWKS_URI]: _templateJwks, ...env } = fn.env;
  return {
    ...fn,
    env: {
      ...env,
      [OIDC_ENV.OIDC_ISSUER]: identity.issuer,
      [OIDC_ENV.OIDC_AUDIENCE]: identity.clientId,
      [OIDC_ENV.OIDC_GROUPS_CLAIM]: identity.groupsClaim,
      [OIDC_ENV.OIDC_ADMIN_GROUP]: identity.adminGroup,
      [OIDC_ENV.OIDC_ALLOW_LOOPBACK_HTTP]: 'true',
    },
  };
}

/** Where a synthesis with anonymousAccess overridden goes (its own folder: freshness is judged by time only). */
export function anonymousCdkOut(root: string, anonymousAccess: boolean): string {
  return join(root, '.tmp', `cdk.out-anonymous-${anonymousAccess ? 'on' : 'off'}`);
}

/**
 * The template's config.json with what only exists here: the local API, the local OpenID provider instead of the
 * deployment's issuer (its Cognito sign-out URL goes with it), and the public key only when the template has one.
 */
export function localSiteConfig(
  template: Record<string, unknown>,
  local: { apiUrl: string; apiKey?: string; signIn: SiteSignInConfig },
): SiteConfig & Record<string, unknown> {
  const { apiKey: _deployedKey, signIn: _deployedSignIn, ...rest } = template;
  return {
    ...(rest as unknown as SiteConfig),
    apiUrl: local.apiUrl,
    anonymousAccess: local.apiKey !== undefined,
    ...(local.apiKey !== undefined ? { apiKey: local.apiKey } : {}),
    signIn: local.signIn,
  };
}

/** Local mode's account of its task sandbox; local-only, never part of the deployed API. */
export interface LocalSandbox {
  enforced: string[];
  notEnforced: string[];
}

/** The sandbox in force for this stack's (single) task definition, honestly described. */
async function taskSandbox(
  model: StackModel,
  converter: ConverterSetup,
  options: LocalStackOptions,
): Promise<{ support: SandboxSupport; summary: LocalSandbox }> {
  const probe = options.probe ?? systemProbe(options.converterEnv ?? process.env);
  const support: SandboxSupport = converter.argv
    ? await detectSandbox(probe, options.sandbox ?? 'auto', converter.argv, [
        ...(model.taskDefinitions[0]?.containers[0]?.image?.copies.values() ?? []),
      ])
    : { available: false, limits: 'none', reason: 'the converter is a Docker image, which cannot run inside it' };
  const definition = model.taskDefinitions[0];
  const { enforced, notEnforced } = sandboxProperties(support, {
    memoryMiB: definition?.memoryMiB,
    cpuUnits: definition?.cpuUnits,
    ephemeralStorageGiB: definition?.ephemeralStorageGiB,
    user: definition?.containers[0]?.user,
  });
  if (!support.available) notEnforced.push(`converter: ${converter.isolation.description}`);
  return { support, summary: { enforced, notEnforced } };
}

/** GET /health answers with a local-only `localSandbox` field: what the task sandbox enforces on this machine. */
function withLocalSandbox(
  invoke: (arn: string, event: APIGatewayProxyEvent) => Promise<unknown>,
  healthArn: string | undefined,
  localSandbox: LocalSandbox,
): (arn: string, event: APIGatewayProxyEvent) => Promise<unknown> {
  return async (arn, event) => {
    const result = await invoke(arn, event);
    const response = result as { statusCode?: number; body?: string } | undefined;
    if (arn !== healthArn || event.httpMethod !== 'GET' || response?.statusCode !== 200 || typeof response.body !== 'string') return result;
    try {
      return { ...response, body: JSON.stringify({ ...(JSON.parse(response.body) as object), localSandbox }) };
    } catch {
      return result;
    }
  };
}

/**
 * The synthesized stack's model and the converter. The converter is looked for
 * before the (slow) synthesis, so a missing one fails fast, unless only the
 * Docker image named in the template can be it.
 */
async function modelAndConverter(
  root: string,
  dataDir: string,
  webHost: string,
  options: LocalStackOptions,
): Promise<{ model: StackModel; converter: ConverterSetup }> {
  const stackName = options.stackName ?? contextStackName(root);
  const anonymous = options.anonymousAccess;
  const cdkOutDefault = anonymous === undefined ? undefined : anonymousCdkOut(root, anonymous);
  let loading: Promise<StackModel> | undefined;
  const loadModel = () =>
    (loading ??= (async () => {
      const cdkOut =
        options.synth === 'never'
          ? resolve(options.cdkOut ?? cdkOutDefault ?? join(root, 'cdk.out'))
          : (
              await ensureSynth({
                root,
                outDir: options.cdkOut ?? cdkOutDefault,
                stackName,
                force: options.synth === 'force',
                log: options.log,
                context: anonymous === undefined ? undefined : { anonymousAccess: String(anonymous) },
              })
            ).outDir;
      return loadStackModel({ cdkOut, stackName, webHost });
    })());
  const env = options.converterEnv ?? process.env;
  const converter = await discoverConverter({
    image: async () =>
      (await loadModel()).taskDefinitions
        .flatMap((t) => t.containers)
        .map((c) => c.environment.CONVERTER_IMAGE ?? c.image?.env.CONVERTER_IMAGE)
        .find(Boolean),
    scratchRoot: join(dataDir, DATA_LAYOUT.scratch),
    sandbox: options.sandbox,
    probe: options.probe ?? systemProbe(env),
    provision: () => provisionConverter({ dir: join(dataDir, DATA_LAYOUT.converter), env, pythons: options.pythons, log: options.log }),
  });
  return { model: await loadModel(), converter };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const root = resolve(options.root ?? REPO_ROOT);
  const dataDir = resolve(options.dataDir ?? join(root, LOCAL_DATA_DIR));
  const scratchRoot = join(dataDir, DATA_LAYOUT.scratch);
  const portOf = servicePorts(options.portBase ?? DEFAULT_PORT_BASE, options.ports);
  const closer = new Closer();
  try {
    prepareDataDir(dataDir, { fresh: options.fresh });
    const logs = closer.keep(openLogs(dataDir));
    // The page's origin goes into the template's CORS settings: bind it first to know it.
    const site = closer.keep(await startStaticSite(portOf('web')));
    // People sign in here; keys and seeded passwords are kept in the data dir across restarts.
    const oidc = closer.keep(
      await startOidcProvider({
        ...LOCAL_OIDC,
        port: portOf('oidc'),
        redirectUris: [site.url],
        stateFile: join(dataDir, DATA_LAYOUT.oidc),
      }),
    );
    const { model, converter } = await modelAndConverter(root, dataDir, `127.0.0.1:${site.port}`, options);
    const sandbox = await taskSandbox(model, converter, options);
    const plan = planStack(model);
    const clock = options.controllableClock ? createControllableClock() : realClock;
    const { region, accountId } = model.names;
    // Made per start: only the stack's functions (and whoever holds this LocalStack) can sign S3 requests.
    const credentials = newLocalCredentials();

    const dynamo = closer.keep(
      await startDynamo({ directory: join(dataDir, DATA_LAYOUT.dynamodb), port: portOf('dynamodb'), region, tables: model.tables }),
    );
    const s3 = closer.keep(
      await startS3({
        directory: join(dataDir, DATA_LAYOUT.s3),
        port: portOf('s3'),
        s3rverPort: portOf('s3rver'),
        buckets: plan.buckets,
        maxUploadBytes: plan.maxUploadBytes,
        clock,
        credentials,
      }),
    );
    const sfn = closer.keep(await startStepFunctions({ port: portOf('sfn'), stateMachines: model.stateMachines }));
    const endpoints = { s3: s3.endpoint, dynamodb: dynamo.endpoint, sfn: sfn.endpoint };
    const { asyncRetryDelaysMs } = options;
    const authorizerArns = new Set(model.api.routes.flatMap((r) => (r.authorizer ? [r.authorizer.functionArn] : [])));
    const lambdas = closer.keep(
      startFunctions({
        functions: plan.functions.map(allowLocalReceivers).map((fn) => useLocalIdentity(fn, authorizerArns, oidc)),
        region,
        endpoints,
        clock,
        credentials,
        logFile: logs.file,
        asyncRetryDelaysMs,
      }),
    );
    s3.notify(lambdas.invokeAsync);
    // EventBridge: the template's rules route events (an ECS task stopped) to their functions.
    const eventBus = startEventBus({ rules: plan.eventRules, functions: lambdas });

    // The state machine; its ECS task is a local runner process.
    const ecs = closer.keep(
      new EcsTaskRunner({
        taskDefinitions: model.taskDefinitions,
        converter,
        scratchRoot,
        region,
        accountId,
        logSink: logs.file('runner.log'),
        stopTimeoutSeconds: options.taskStopTimeoutSeconds,
        sandbox: sandbox.support,
        // The presigned URLs point here; in the sandbox nothing else answers.
        endpoints: [s3.endpoint],
        onTaskStopped: (event) => eventBus.put(event),
        recordDir: join(dataDir, DATA_LAYOUT.tasks),
      }),
    );
    // Tasks a killed local mode left: stopped and reported STOPPED, as ECS reports a task whose host went away.
    const recovered = await recoverTasks(join(dataDir, DATA_LAYOUT.tasks), (event) => eventBus.put(event), logs.file('runner.log'));
    closer.keep(
      sfn.runStateMachines({
        invoke: lambdas.invoke,
        invokeAsync: lambdas.invokeAsync,
        runEcsTask: (parameters, signal) => ecs.run(parameters, signal),
      }),
    );

    // API Gateway with the template's keys, kept in the data dir across restarts.
    const keys = loadApiKeys(dataDir, model.api.apiKeys);
    // The page's shared key exists only when the template allows anonymous access.
    const anonymousAccess = model.api.apiKeys.some((k) => k.outputName === 'WebApiKeyId');
    const webKey = anonymousAccess ? keyByOutput(model.api, keys, 'WebApiKeyId') : undefined;
    const cliKey = keyByOutput(model.api, keys, 'ClientApiKeyId');
    // An administrator's key: a local key in the CLI key's usage plan (keys are created by the operator in AWS).
    const adminKey = loadLocalKey(dataDir, LOCAL_ADMIN, keys.find((k) => k.id === cliKey.id)!.logicalId);
    keys.push(adminKey);
    const registry = keyRegistryTable(model.tables);
    if (registry) {
      await seedKeys({
        endpoint: dynamo.endpoint,
        region,
        tableName: registry.name,
        now: new Date(clock.now()),
        keys: [
          {
            value: cliKey.value,
            apiGatewayKeyId: cliKey.id,
            principal: { id: cliKey.id, name: 'local-user', kind: 'program', role: 'user' },
          },
          {
            value: adminKey.value,
            apiGatewayKeyId: adminKey.id,
            principal: { id: adminKey.id, name: 'local-admin', kind: 'program', role: 'admin' },
          },
          ...(webKey
            ? [
                {
                  value: webKey.value,
                  apiGatewayKeyId: webKey.id,
                  principal: { id: webKey.id, name: 'web-page', kind: 'program' as const, role: 'user' as const },
                },
              ]
            : []),
        ],
      });
    }
    const gateway = closer.keep(
      await startApiGateway({
        api: model.api,
        keys,
        invoke: withLocalSandbox(
          lambdas.invoke,
          model.api.routes.find((r) => r.path === '/health' && r.method === 'GET')?.functionArn,
          sandbox.summary,
        ),
        accountId,
        region,
        port: portOf('api'),
        now: () => clock.now(),
        accessLog: logs.file('api-access.log'),
      }),
    );

    // The page, with the config.json the deployment would write: the local API, the local OpenID provider, the key only if anonymous.
    const roots = [join(root, 'web', 'dist'), ...(model.site?.assetDirs ?? [])].filter((dir) => existsSync(dir));
    site.configure({
      roots,
      config: localSiteConfig(model.site?.config ?? {}, {
        apiUrl: gateway.url,
        apiKey: webKey?.value,
        signIn: { issuer: oidc.issuer, clientId: oidc.clientId, scopes: [...SIGN_IN_SCOPES] },
      }),
      // The deployed site's security headers (CSP, framing, nosniff, referrer, …) pointing at the local endpoints.
      headers: localSiteHeaders(model, { api: gateway.url, s3: s3.endpoint, issuer: oidc.issuer }),
    });

    // Schedules (the reaper).
    const timers = options.schedules !== false;
    const schedules = closer.keep(startSchedules({ schedules: plan.schedules, names: model.names, clock, functions: lambdas, timers }));
    // Their executions died with the last local mode: the reaper finishes those jobs now, not at their deadlines.
    if (recovered.length > 0)
      await schedules.fireAll().catch((error: Error) => logs.file('runner.log').write(`reaper after recovery: ${error.message}\n`));

    writeStackState(dataDir, {
      apiUrl: gateway.url,
      webUrl: site.url,
      cliApiKey: cliKey.value,
      ...(webKey ? { webApiKey: webKey.value } : {}),
      adminApiKey: adminKey.value,
      pid: process.pid,
      localSandbox: sandbox.summary,
    });
    closer.add(() => removeStackState(dataDir));

    let closing: Promise<void> | undefined;
    return {
      urls: { web: site.url, api: gateway.url, ...endpoints },
      credentials,
      keys: { cli: cliKey, ...(webKey ? { web: webKey } : {}), admin: { id: adminKey.id, value: adminKey.value } },
      anonymousAccess,
      identity: {
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        groupsClaim: oidc.groupsClaim,
        adminGroup: oidc.adminGroup,
        accounts: oidc.accounts,
      },
      dataDir,
      converter,
      sandbox: sandbox.summary,
      model,
      clock,
      triggerReaper: () => schedules.fireAll(),
      invoke: (idOrArn, event) => lambdas.invoke(model.functions.find((f) => f.logicalId === idOrArn)?.arn ?? idOrArn, event),
      tasks: () => ecs.tasks(),
      asyncFailures: lambdas.asyncFailures,
      asyncIdle: () => lambdas.asyncIdle(),
      close: () => (closing ??= closer.run()),
    };
  } catch (error) {
    await closer.run();
    throw error;
  }
}
