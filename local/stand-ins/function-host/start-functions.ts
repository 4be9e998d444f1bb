/**
 * The stack's functions, each in its own FunctionHost with the environment the
 * template gives it plus what the Lambda runtime sets, reaching the other
 * stand-ins only through AWS_ENDPOINT_URL_*; invoked synchronously or, like
 * S3 and EventBridge invoke them, asynchronously with Lambda's retries.
 */
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { LocalClock } from '../../host/clock';
import type { FunctionModel } from '../../model/stack-model';
import type { LocalCredentials } from '../credentials';
import { AsyncInvoker, type AsyncFailure } from './async-invoke';
import { FunctionHost } from './function-host';

export interface LocalFunctions {
  /** Invokes a function synchronously by ARN; throws ResourceNotFoundException for one local mode does not run. */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  /** Queues an asynchronous invocation (Event invocation type) and returns at once. */
  invokeAsync(functionArn: string, event: unknown): void;
  /** Events asynchronous invocations gave up on (the on-failure destination). */
  asyncFailures: AsyncFailure[];
  /** Resolves when no asynchronous invocation is running or waiting to retry. */
  asyncIdle(): Promise<void>;
  close(): Promise<unknown>;
}

export interface FunctionsOptions {
  functions: FunctionModel[];
  region: string;
  /** The stand-ins' endpoints (AWS_ENDPOINT_URL_S3, _DYNAMODB, _SFN). */
  endpoints: { s3: string; dynamodb: string; sfn: string };
  clock: LocalClock;
  /** The functions' key pair (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): the one local S3 accepts. */
  credentials: LocalCredentials;
  /** A function's log ("log group"), by file name; failed asynchronous events go to async-failures.jsonl. */
  logFile(name: string): Writable;
  /** Waits before asynchronous-invocation retries. @default Lambda's 1 and 2 minutes */
  asyncRetryDelaysMs?: number[];
}

/** A function's environment: the template's variables, then what the Lambda runtime sets. */
export function lambdaEnvironment(
  fn: FunctionModel,
  region: string,
  endpoints: FunctionsOptions['endpoints'],
  credentials: LocalCredentials,
): Record<string, string> {
  return {
    ...fn.env,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SFN: endpoints.sfn,
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
}

export function startFunctions(options: FunctionsOptions): LocalFunctions {
  const hosts = new Map<string, FunctionHost>();
  for (const fn of options.functions) {
    const spec = {
      name: fn.name,
      modulePath: fn.modulePath!,
      exportName: fn.exportName,
      env: lambdaEnvironment(fn, options.region, options.endpoints, options.credentials),
      timeoutSeconds: fn.timeoutSeconds,
      maxConcurrency: fn.reservedConcurrency,
      memoryMb: fn.memoryMb,
    };
    hosts.set(
      fn.arn,
      new FunctionHost(spec, fn.arn, { logSink: options.logFile(`${fn.logicalId}.log`), clockBuffer: options.clock.buffer }),
    );
  }
  const hostFor = (arn: string) => {
    const host = hosts.get(arn);
    if (!host) throw Object.assign(new Error(`Function not found: ${arn}`), { name: 'ResourceNotFoundException' });
    return host;
  };
  const invoke = (arn: string, event: unknown) => hostFor(arn).invoke(event);
  const asyncInvoker = new AsyncInvoker({
    invoke,
    retryDelaysMs: options.asyncRetryDelaysMs,
    failureLog: options.logFile('async-failures.jsonl'),
    now: () => options.clock.now(),
  });
  const functionByArn = (arn: string) => {
    const fn = options.functions.find((f) => f.arn === arn);
    if (!fn) throw new Error(`The template has no function with ARN ${arn}`);
    return fn;
  };
  return {
    invoke,
    invokeAsync: (arn, event) => asyncInvoker.invoke(functionByArn(arn), event),
    asyncFailures: asyncInvoker.failures,
    asyncIdle: () => asyncInvoker.idle(),
    // Retries stop before the environments they would run in.
    close: () => asyncInvoker.close().finally(() => Promise.all([...hosts.values()].map((h) => h.close()))),
  };
}
