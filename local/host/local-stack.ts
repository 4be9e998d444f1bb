/**
 * The whole service on one machine, from the synthesized stack: dynalite with
 * the template's tables, s3rver behind the presigned-POST proxy with the
 * template's buckets and notifications, the Step Functions API running the
 * template's state machine (the ECS task as a local runner process), the
 * local API Gateway with the template's routes, keys, usage plans and gateway
 * responses, the scheduled functions on timers, and the web page. Every
 * function bundle runs in its own worker threads with its env from the
 * template, reaching the stand-ins only through AWS_ENDPOINT_URL_*.
 *
 * `startLocalStack()` is what `npm start` (local/host/start.ts) and the
 * end-to-end tests call.
 */
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { bundleLimitsFromEnv } from '../../core/limits';
import { startApiGateway, type LocalApiGateway, type LocalApiKey } from '../stand-ins/api-gateway/gateway';
import { AsyncInvoker, type AsyncFailure } from '../stand-ins/function-host/async-invoke';
import { createControllableClock, realClock, type LocalClock } from './clock';
import { discoverConverter, systemProbe, type ConverterSetup, type Probe } from '../stand-ins/ecs-task/converter';
import { DATA_LAYOUT, loadApiKeys, prepareDataDir, removeStackState, writeStackState } from './data-dir';
import { EcsTaskRunner, type RunningTask } from '../stand-ins/ecs-task/task-runner';
import { FunctionHost } from '../stand-ins/function-host/function-host';
import { closeServer, DEFAULT_PORT_BASE, listen, SERVICE_PORTS, type ServiceName } from './ports';
import { startS3Proxy, type S3Proxy } from '../stand-ins/s3/proxy';
import { invocationsFor } from '../stand-ins/s3/notifications';
import { startS3rver, type S3rverHandle } from '../stand-ins/s3/s3rver';
import { rateToMs, scheduledEvent } from '../stand-ins/schedule';
import { startSfnServer, type SfnServer } from '../stand-ins/step-functions/api-server';
import { loadStackModel, type FunctionModel, type StackModel } from '../model/stack-model';
import { attachStateMachine, type LocalStateMachine } from '../stand-ins/step-functions/state-machine-runner';
import { startStaticSite, type StaticSite } from '../stand-ins/static-site';
import { ensureSynth } from '../model/synth';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** s3rver knows exactly this key pair; dynalite and the SFN server accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

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
  /** @default <root>/cdk.out */
  cdkOut?: string;
  /** 'auto' synthesizes when cdk.out is missing or stale. @default 'auto' */
  synth?: 'auto' | 'never' | 'force';
  /** Environment to find the converter in (K2P_COMMAND, PATH, K2P_VERSION_COMMAND). @default process.env */
  converterEnv?: Record<string, string | undefined>;
  /** How local mode probes the machine (tests). */
  probe?: Probe;
  /** 'none' runs the converter without network isolation. @default 'auto' */
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
  keys: { cli: { id: string; value: string }; web: { id: string; value: string } };
  dataDir: string;
  converter: ConverterSetup;
  model: StackModel;
  clock: LocalClock;
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

function contextStackName(root: string): string {
  try {
    const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: { stackName?: string } };
    return cdkJson.context?.stackName ?? 'K2pWeb';
  } catch {
    return 'K2pWeb';
  }
}

/** Functions local mode must run: API integrations, notification targets, schedule targets, state machine tasks. */
function referencedFunctions(model: StackModel): FunctionModel[] {
  const arns = new Set<string>();
  for (const route of model.api.routes) if (route.functionArn) arns.add(route.functionArn);
  for (const bucket of model.buckets) for (const n of bucket.notifications) arns.add(n.functionArn);
  for (const schedule of model.schedules) for (const arn of schedule.targetArns) arns.add(arn);
  for (const machine of model.stateMachines) {
    for (const match of JSON.stringify(machine.definition).matchAll(/arn:aws[a-z-]*:lambda:[^:"]+:\d+:function:[^:"]+/g))
      arns.add(match[0]);
  }
  return [...arns].map((arn) => {
    const fn = model.functionByArn(arn);
    if (!fn.modulePath)
      throw new Error(`Local mode cannot run ${fn.logicalId} (${fn.runtime}): only Node.js bundles staged in cdk.out run locally.`);
    return fn;
  });
}

async function createTables(endpoint: string, model: StackModel): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: model.names.region, credentials: LOCAL_CREDENTIALS });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of model.tables) {
      if (existing.has(table.name)) continue;
      const input: CreateTableCommandInput = {
        TableName: table.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: table.attributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        KeySchema: table.keySchema as CreateTableCommandInput['KeySchema'],
        ...(table.globalSecondaryIndexes.length
          ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'] }
          : {}),
      };
      await client.send(new CreateTableCommand(input));
    }
  } finally {
    client.destroy();
  }
}

/** Closes whatever was started, in reverse order, even when starting failed half-way. */
class Closer {
  private readonly steps: (() => Promise<unknown> | unknown)[] = [];
  add(step: () => Promise<unknown> | unknown) {
    this.steps.push(step);
  }
  async run() {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Shutdown goes on: one stuck piece must not keep the others running.
      }
    }
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const root = resolve(options.root ?? REPO_ROOT);
  const dataDir = resolve(options.dataDir ?? join(root, '.k2p-local'));
  const stackName = options.stackName ?? contextStackName(root);
  const log = options.log ?? (() => undefined);
  const base = options.portBase ?? DEFAULT_PORT_BASE;
  const portOf = (service: ServiceName) => options.ports?.[service] ?? (base === 0 ? 0 : base + SERVICE_PORTS.indexOf(service));
  const closer = new Closer();

  try {
    prepareDataDir(dataDir, { fresh: options.fresh });
    const logs = new Map<string, WriteStream>();
    const logFile = (name: string) => {
      let stream = logs.get(name);
      if (!stream) logs.set(name, (stream = createWriteStream(join(dataDir, DATA_LAYOUT.logs, name), { flags: 'a' })));
      return stream;
    };
    closer.add(() => Promise.all([...logs.values()].map((s) => new Promise((r) => s.end(r)))));

    // The page's origin goes into the template's CORS settings: bind it first to know it.
    const site: StaticSite = await startStaticSite(portOf('web'));
    closer.add(() => site.close());
    const webHost = `127.0.0.1:${site.port}`;

    let loading: Promise<StackModel> | undefined;
    const loadModel = () =>
      (loading ??= (async () => {
        const cdkOut =
          options.synth === 'never'
            ? resolve(options.cdkOut ?? join(root, 'cdk.out'))
            : (await ensureSynth({ root, outDir: options.cdkOut, stackName, force: options.synth === 'force', log })).outDir;
        return loadStackModel({ cdkOut, stackName, webHost });
      })());
    const scratchRoot = join(dataDir, DATA_LAYOUT.scratch);
    // Before the (slow) synthesis, unless only the Docker image can be the converter: a missing one fails fast.
    const converter = await discoverConverter({
      image: async () =>
        (await loadModel()).taskDefinitions
          .flatMap((t) => t.containers)
          .map((c) => c.environment.CONVERTER_IMAGE ?? c.image?.env.CONVERTER_IMAGE)
          .find(Boolean),
      scratchRoot,
      sandbox: options.sandbox,
      probe: options.probe ?? systemProbe(options.converterEnv ?? process.env),
    });
    const model = await loadModel();
    const taskDefinitions = model.taskDefinitions;

    const clock = options.controllableClock ? createControllableClock() : realClock;
    const functions = referencedFunctions(model);
    for (const schedule of model.schedules) if (schedule.enabled) rateToMs(schedule.expression);

    // DynamoDB
    const dynamo = dynalite({ path: join(dataDir, DATA_LAYOUT.dynamodb), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
    const dynamoPort = await listen(dynamo, portOf('dynamodb'), 'local DynamoDB (dynalite)');
    closer.add(() => closeServer(dynamo));
    const dynamodbUrl = `http://127.0.0.1:${dynamoPort}`;
    await createTables(dynamodbUrl, model);

    // S3: s3rver, events buffered until the functions exist.
    const pendingEvents: Parameters<typeof invocationsFor>[1][] = [];
    const events: { dispatch?: (event: Parameters<typeof invocationsFor>[1]) => void } = {};
    const allEnv = functions.map((f) => Object.values(f.env).join('\n')).join('\n');
    const buckets = model.buckets.filter((b) => b.notifications.length > 0 || allEnv.includes(b.name));
    const s3rver: S3rverHandle = await startS3rver({
      directory: join(dataDir, DATA_LAYOUT.s3),
      port: portOf('s3rver'),
      buckets: buckets.map((b) => b.name),
      clockBuffer: clock.buffer,
      onEvent: (event) => (events.dispatch ? events.dispatch(event) : pendingEvents.push(event)),
    });
    closer.add(() => s3rver.close());
    const maxUpload = Math.max(...functions.map((f) => bundleLimitsFromEnv(f.env).maxUploadBytes));
    const proxy: S3Proxy = await startS3Proxy(portOf('s3'), {
      upstream: { host: '127.0.0.1', port: s3rver.port },
      secretFor: (id) => (id === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : undefined),
      allowedOrigins: [...new Set(buckets.flatMap((b) => b.cors.flatMap((rule) => rule.allowedOrigins)))],
      // Bodies far above the largest allowed upload are refused before parsing (S3 answers EntityTooLarge too).
      maxBodyBytes: 2 * maxUpload + 1024 * 1024,
      now: () => new Date(clock.now()),
    });
    closer.add(() => proxy.close());

    // Step Functions API
    const sfn: SfnServer = await startSfnServer({ stateMachineArns: model.stateMachines.map((m) => m.arn), port: portOf('sfn') });
    closer.add(() => sfn.close());

    // Functions, each with its env from the template plus what the Lambda runtime sets.
    const hosts = new Map<string, FunctionHost>();
    for (const fn of functions) {
      const env: Record<string, string> = {
        ...fn.env,
        AWS_REGION: model.names.region,
        AWS_DEFAULT_REGION: model.names.region,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_S3: proxy.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
        AWS_ENDPOINT_URL_SFN: sfn.endpoint,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
        _HANDLER: `index.${fn.exportName}`,
        LAMBDA_TASK_ROOT: resolve(fn.modulePath!, '..'),
        TZ: 'UTC',
        LANG: 'en_US.UTF-8',
        PATH: process.env.PATH ?? '/usr/bin:/bin',
      };
      const host = new FunctionHost(
        {
          name: fn.name,
          modulePath: fn.modulePath!,
          exportName: fn.exportName,
          env,
          timeoutSeconds: fn.timeoutSeconds,
          maxConcurrency: fn.reservedConcurrency,
          memoryMb: fn.memoryMb,
        },
        fn.arn,
        { logSink: logFile(`${fn.logicalId}.log`), clockBuffer: clock.buffer },
      );
      hosts.set(fn.arn, host);
    }
    closer.add(() => Promise.all([...hosts.values()].map((h) => h.close())));
    const hostFor = (arn: string) => {
      const host = hosts.get(arn);
      if (!host) throw Object.assign(new Error(`Function not found: ${arn}`), { name: 'ResourceNotFoundException' });
      return host;
    };
    const invoke = (arn: string, event: unknown) => hostFor(arn).invoke(event);

    // A Lambda task's error reaches the state machine as {Error: errorType, Cause: the Lambda error payload as JSON}.
    const invokeForStepFunctions = (arn: string, payload: unknown) =>
      invoke(arn, payload).catch((error: Error) => {
        throw Object.assign(new Error(JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] })), {
          name: error.name,
        });
      });

    const asyncInvoker = new AsyncInvoker({
      invoke,
      retryDelaysMs: options.asyncRetryDelaysMs,
      failureLog: logFile('async-failures.jsonl'),
      now: () => clock.now(),
    });
    closer.add(() => asyncInvoker.close());
    events.dispatch = (event) => {
      for (const invocation of invocationsFor(buckets, event))
        asyncInvoker.invoke(model.functionByArn(invocation.functionArn), invocation.event);
    };
    for (const event of pendingEvents.splice(0)) events.dispatch(event);

    // The state machine; its ECS task is a local runner process.
    const ecs = new EcsTaskRunner({
      taskDefinitions,
      converter,
      scratchRoot,
      region: model.names.region,
      accountId: model.names.accountId,
      logSink: logFile('runner.log'),
      stopTimeoutSeconds: options.taskStopTimeoutSeconds,
    });
    closer.add(() => ecs.close());
    const machines = attachStateMachine(
      sfn,
      model.stateMachines.map((m) => ({ arn: m.arn, definition: m.definition }) as unknown as LocalStateMachine),
      { invokeFunction: invokeForStepFunctions, runEcsTask: (parameters, signal) => ecs.run(parameters, signal) },
    );
    closer.add(() => machines.close());

    // API Gateway with the template's keys.
    const keys: LocalApiKey[] = loadApiKeys(dataDir, model.api.apiKeys);
    const keyByOutput = (output: string) => {
      const logicalId = model.api.apiKeys.find((k) => k.outputName === output)?.logicalId;
      const key = keys.find((k) => k.logicalId === logicalId);
      if (!key) throw new Error(`The template has no API key named by the output ${output}`);
      return { id: key.id, value: key.value };
    };
    const webKey = keyByOutput('WebApiKeyId');
    const cliKey = keyByOutput('ClientApiKeyId');
    const gateway: LocalApiGateway = await startApiGateway({
      api: model.api,
      keys,
      invoke: (arn, event) => invoke(arn, event),
      accountId: model.names.accountId,
      port: portOf('api'),
      now: () => clock.now(),
      accessLog: logFile('api-access.log'),
    });
    closer.add(() => gateway.close());

    // The page, with the config.json the deployment would write (local API and key).
    const roots = [join(root, 'web', 'dist'), ...(model.site?.assetDirs ?? [])].filter((dir) => existsSync(dir));
    site.configure({ roots, config: { ...(model.site?.config ?? {}), apiUrl: gateway.url, apiKey: webKey.value } });

    // Schedules (the reaper).
    const scheduled = model.schedules.filter((s) => s.enabled);
    const fire = (schedule: (typeof scheduled)[number], sync: boolean) =>
      schedule.targetArns.map((arn) => {
        const event = scheduledEvent(schedule, model.names, clock.now());
        if (sync) return invoke(arn, event);
        asyncInvoker.invoke(model.functionByArn(arn), event);
        return Promise.resolve(undefined);
      });
    if (options.schedules !== false) {
      const timers = scheduled.map((schedule) => setInterval(() => void fire(schedule, false), rateToMs(schedule.expression)));
      closer.add(() => timers.forEach((t) => clearInterval(t)));
    }

    const urls = { web: site.url, api: gateway.url, s3: proxy.endpoint, dynamodb: dynamodbUrl, sfn: sfn.endpoint };
    writeStackState(dataDir, { apiUrl: gateway.url, webUrl: site.url, cliApiKey: cliKey.value, webApiKey: webKey.value, pid: process.pid });
    closer.add(() => removeStackState(dataDir));

    let closing: Promise<void> | undefined;
    return {
      urls,
      keys: { cli: cliKey, web: webKey },
      dataDir,
      converter,
      model,
      clock,
      triggerReaper: () => Promise.all(scheduled.flatMap((schedule) => fire(schedule, true))),
      invoke: (idOrArn, event) => invoke(model.functions.find((f) => f.logicalId === idOrArn)?.arn ?? idOrArn, event),
      tasks: () => ecs.tasks(),
      asyncFailures: asyncInvoker.failures,
      asyncIdle: () => asyncInvoker.idle(),
      close: () => (closing ??= closer.run()),
    };
  } catch (error) {
    await closer.run();
    throw error;
  }
}
