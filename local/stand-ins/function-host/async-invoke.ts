/**
 * Lambda's asynchronous invocation (Event invocation type) for local mode: the
 * caller does not wait, a failed attempt is retried up to the function's
 * MaximumRetryAttempts (1 minute, then 2 minutes later, as Lambda does), an
 * event older than MaximumEventAgeInSeconds is dropped, and an event that
 * still failed goes to the on-failure destination — here, a JSON line in the
 * data directory and `failures`.
 */
import type { Writable } from 'node:stream';
import type { FunctionModel } from '../../model/stack-model';

export interface AsyncFailure {
  functionArn: string;
  destination?: string;
  attempts: number;
  condition: 'RetriesExhausted' | 'EventAgeExceeded';
  error: { type: string; message: string };
  event: unknown;
  at: string;
}

export interface AsyncInvokerOptions {
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  /** Waits before retries 1, 2 … @default [60_000, 120_000] (Lambda's) */
  retryDelaysMs?: number[];
  /** Failed events (the on-failure destination) are appended here as JSON lines. */
  failureLog?: Writable;
  now?: () => number;
}

export class AsyncInvoker {
  readonly failures: AsyncFailure[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: AsyncInvokerOptions) {}

  /** Queues one asynchronous invocation; returns at once, like InvokeAsync's 202. */
  invoke(fn: FunctionModel, event: unknown): void {
    const queuedAt = (this.options.now ?? Date.now)();
    this.attempt(fn, event, 1, queuedAt);
  }

  /** Resolves when no invocation is running or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.timers.size > 0) {
      await Promise.allSettled([...this.inFlight]);
      if (this.inFlight.size === 0 && this.timers.size > 0) await new Promise((r) => setTimeout(r, 50));
    }
  }

  private attempt(fn: FunctionModel, event: unknown, attempt: number, queuedAt: number): void {
    if (this.closed) return;
    const run = this.options
      .invoke(fn.arn, event)
      .then(
        () => undefined,
        (error: Error) => this.failed(fn, event, attempt, queuedAt, error),
      )
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private failed(fn: FunctionModel, event: unknown, attempt: number, queuedAt: number, error: Error): void {
    const delays = this.options.retryDelaysMs ?? [60_000, 120_000];
    const retriesLeft = attempt <= fn.asyncInvoke.maximumRetryAttempts;
    const delay = delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
    const now = (this.options.now ?? Date.now)();
    const tooOld = now + delay - queuedAt > fn.asyncInvoke.maximumEventAgeSeconds * 1000;
    if (retriesLeft && !tooOld && !this.closed) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.attempt(fn, event, attempt + 1, queuedAt);
      }, delay);
      this.timers.add(timer);
      return;
    }
    const failure: AsyncFailure = {
      functionArn: fn.arn,
      destination: fn.asyncInvoke.onFailure,
      attempts: attempt,
      condition: retriesLeft ? 'EventAgeExceeded' : 'RetriesExhausted',
      error: { type: error.name, message: error.message },
      event,
      at: new Date(now).toISOString(),
    };
    this.failures.push(failure);
    this.options.failureLog?.write(`${JSON.stringify(failure)}\n`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
