/**
 * Runs a Lambda function's bundle (the very asset `cdk synth` staged) in its own
 * worker threads with its own environment from the template, so module-scope
 * code (SDK clients, env reads) behaves as it does in a Lambda sandbox.
 * One invocation at a time per worker, like one Lambda execution environment;
 * concurrent invocations get more workers, up to `maxConcurrency` (reserved
 * concurrency), and wait beyond it.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DATE_PATCH_SOURCE } from '../../host/clock';

export interface FunctionSpec {
  /** Logical id in the template, used in logs. */
  name: string;
  /** Absolute path of the bundled handler module (e.g. cdk.out/asset.x/index.mjs). */
  modulePath: string;
  /** Exported handler name (`index.handler` → `handler`). */
  exportName: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  /** Reserved concurrency, when the template sets one. */
  maxConcurrency?: number;
  /** Memory size, reported in the context. */
  memoryMb?: number;
}

export interface FunctionHostOptions {
  /** Where the function's stdout/stderr go (its "log group"); default: this process's stdout/stderr. */
  logSink?: Writable;
  /** Shared clock offset (local/host/clock.ts) installed in each worker before the bundle loads. */
  clockBuffer?: SharedArrayBuffer;
  /** Execution environments when the template reserves no concurrency. @default 10 */
  defaultConcurrency?: number;
}

export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

/** The worker side: installs the clock, imports the bundle once, then serves invocations. */
const WORKER_SOURCE = `
${DATE_PATCH_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
const modulePromise = import(workerData.moduleUrl);
// Like the Lambda runtime: report, do not crash on, a rejection nobody awaited.
process.on('unhandledRejection', (reason) => console.error('Unhandled rejection:', reason));
parentPort.on('message', async ({ id, event, context }) => {
  const deadline = Date.now() + context.timeoutMs;
  const ctx = {
    awsRequestId: context.requestId,
    functionName: context.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: context.functionArn,
    memoryLimitInMB: String(context.memoryMb),
    logGroupName: '/aws/lambda/' + context.functionName,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
  try {
    const mod = await modulePromise;
    const handler = mod[workerData.exportName] ?? mod.default?.[workerData.exportName];
    if (typeof handler !== 'function') {
      const error = new Error(workerData.exportName + ' is undefined or not exported');
      error.name = 'Runtime.HandlerNotFound';
      throw error;
    }
    const result = await handler(event, ctx);
    parentPort.postMessage({ id, ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, errorType: (error && error.name) || 'Error', message: String((error && error.message) || error) });
  }
});
`;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface WorkerReply {
  id: string;
  ok: boolean;
  result?: unknown;
  errorType?: string;
  message?: string;
}

/** One execution environment: a worker thread with the function's env. */
class Environment {
  readonly worker: Worker;
  /** Set once the worker is terminating or gone: it must never be handed out again. */
  dead = false;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly spec: FunctionSpec,
    options: FunctionHostOptions,
    onExit: (env: Environment) => void,
  ) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // A copy: the worker's process.env is its own, as in a Lambda sandbox.
      env: { ...spec.env },
      workerData: { moduleUrl: pathToFileURL(spec.modulePath).href, exportName: spec.exportName, clock: options.clockBuffer },
      stdout: Boolean(options.logSink),
      stderr: Boolean(options.logSink),
    });
    if (options.logSink) {
      const sink = options.logSink;
      this.worker.stdout.on('data', (chunk: Buffer) => sink.write(chunk));
      this.worker.stderr.on('data', (chunk: Buffer) => sink.write(chunk));
    }
    this.worker.on('message', (message: WorkerReply) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      clearTimeout(waiting.timer);
      this.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(new FunctionError(message.errorType ?? 'Error', message.message ?? 'unknown error'));
    });
    this.worker.on('error', (error) => {
      this.dead = true;
      this.failAll(new FunctionError('Runtime.ExitError', `${spec.name}: ${error.message}`));
    });
    this.worker.on('exit', () => {
      this.dead = true;
      this.failAll(new FunctionError('Runtime.ExitError', `${spec.name}: the execution environment exited`));
      onExit(this);
    });
  }

  private failAll(error: Error) {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
      this.pending.delete(id);
    }
  }

  invoke(event: unknown, functionArn: string): Promise<unknown> {
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      // Lambda discards a timed-out sandbox: so do we, and the next call gets a fresh one.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.dead = true;
        reject(new FunctionError('Sandbox.Timedout', `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`));
        void this.worker.terminate();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({
        id,
        event,
        context: { requestId: id, functionName: this.spec.name, functionArn, timeoutMs, memoryMb: this.spec.memoryMb ?? 128 },
      });
    });
  }
}

export class FunctionHost {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private readonly queue: { resolve: (env: Environment) => void; reject: (error: Error) => void }[] = [];
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    readonly functionArn: string,
    private readonly options: FunctionHostOptions = {},
  ) {}

  /** Environments alive now (idle or busy). */
  get environments(): number {
    return this.all.size;
  }

  private limit(): number {
    return this.spec.maxConcurrency ?? this.options.defaultConcurrency ?? 10;
  }

  private acquire(): Promise<Environment> {
    while (this.idle.length > 0) {
      const ready = this.idle.pop()!;
      if (!ready.dead) return Promise.resolve(ready);
    }
    if (this.all.size < this.limit()) {
      const env = new Environment(this.spec, this.options, (gone) => this.forget(gone));
      this.all.add(env);
      return Promise.resolve(env);
    }
    return new Promise((resolve, reject) => this.queue.push({ resolve, reject }));
  }

  private forget(env: Environment) {
    this.all.delete(env);
    const at = this.idle.indexOf(env);
    if (at >= 0) this.idle.splice(at, 1);
    // A slot freed up: a waiting invocation may start in a fresh environment.
    this.handOver();
  }

  private release(env: Environment) {
    if (!env.dead && this.all.has(env)) this.idle.push(env);
    this.handOver();
  }

  private handOver() {
    if (this.closed || this.queue.length === 0) return;
    if (this.idle.length === 0 && this.all.size >= this.limit()) return;
    const next = this.queue.shift()!;
    this.acquire().then(next.resolve, next.reject);
  }

  async invoke(event: unknown): Promise<unknown> {
    if (this.closed) throw new FunctionError('ServiceException', `${this.spec.name} is shut down`);
    const env = await this.acquire();
    try {
      return await env.invoke(event, this.functionArn);
    } finally {
      this.release(env);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiting of this.queue.splice(0)) waiting.reject(new FunctionError('ServiceException', `${this.spec.name} is shut down`));
    await Promise.all([...this.all].map((env) => env.worker.terminate()));
  }
}
