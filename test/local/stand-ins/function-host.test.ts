import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createControllableClock } from '../../../local/host/clock';
import { FunctionError, FunctionHost, type FunctionSpec } from '../../../local/stand-ins/function-host/function-host';
import { tempDir } from '../helpers';

/** A handler bundle like the real ones: reads env and keeps state at module scope. */
const HANDLER = `
const loadedWith = process.env.GREETING;
let calls = 0;
export const handler = async (event, context) => {
  calls++;
  if (event.action === 'env') return { loadedWith, now: process.env.GREETING, secret: process.env.SECRET ?? null, host: process.env.HOST_ONLY ?? null };
  if (event.action === 'mutate') { process.env.GREETING = 'mutated'; return null; }
  if (event.action === 'calls') return calls;
  if (event.action === 'sleep') { await new Promise((r) => setTimeout(r, event.ms)); return { remaining: context.getRemainingTimeInMillis() }; }
  if (event.action === 'hang') { for (;;) {} }
  if (event.action === 'fail') { const e = new Error('bad input'); e.name = 'ValidationError'; throw e; }
  if (event.action === 'time') return { now: Date.now(), date: new Date().getTime(), isDate: new Date() instanceof Date };
  if (event.action === 'log') { console.log('hello from', context.functionName); return null; }
  return { event, name: context.functionName, arn: context.invokedFunctionArn };
};
`;

let dir: string;
const hosts: FunctionHost[] = [];
beforeAll(() => {
  dir = tempDir('k2p-fnhost-');
  writeFileSync(join(dir, 'index.mjs'), HANDLER);
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
  delete process.env.HOST_ONLY;
});

function host(spec: Partial<FunctionSpec> = {}, options: ConstructorParameters<typeof FunctionHost>[2] = {}) {
  const h = new FunctionHost(
    { name: 'fn', modulePath: join(dir, 'index.mjs'), exportName: 'handler', env: { GREETING: 'hello' }, timeoutSeconds: 5, ...spec },
    'arn:aws:lambda:us-east-1:000000000000:function:fn',
    options,
  );
  hosts.push(h);
  return h;
}

describe('FunctionHost', () => {
  it('runs the exported handler with a Lambda-like context', async () => {
    const result = await host().invoke({ a: 1 });
    expect(result).toEqual({ event: { a: 1 }, name: 'fn', arn: 'arn:aws:lambda:us-east-1:000000000000:function:fn' });
  });

  it("gives each function only its own env: module-scope reads see it, the host's env and other functions' are invisible", async () => {
    process.env.HOST_ONLY = 'leak';
    const a = host({ name: 'a', env: { GREETING: 'from-a', SECRET: 's-a' } });
    const b = host({ name: 'b', env: { GREETING: 'from-b' } });
    await a.invoke({ action: 'mutate' });
    expect(await a.invoke({ action: 'env' })).toEqual({ loadedWith: 'from-a', now: 'mutated', secret: 's-a', host: null });
    expect(await b.invoke({ action: 'env' })).toEqual({ loadedWith: 'from-b', now: 'from-b', secret: null, host: null });
    expect(process.env.GREETING).toBeUndefined();
  });

  it('times out like Lambda (Sandbox.Timedout), even a handler stuck in a loop, and the next call gets a fresh environment', async () => {
    const h = host({ timeoutSeconds: 0.3 });
    await h.invoke({ action: 'calls' });
    expect(await h.invoke({ action: 'calls' })).toBe(2);
    await expect(h.invoke({ action: 'hang' })).rejects.toMatchObject({
      name: 'Sandbox.Timedout',
      message: 'Task timed out after 0.30 seconds',
    });
    // Module state starts over: the timed-out sandbox was discarded.
    expect(await h.invoke({ action: 'calls' })).toBe(1);
    const { remaining } = (await h.invoke({ action: 'sleep', ms: 100 })) as { remaining: number };
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(300);
  });

  it("reports a handler's error with its type, as Step Functions and the API Gateway see it", async () => {
    const error = await host()
      .invoke({ action: 'fail' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ name: 'ValidationError', errorType: 'ValidationError', message: 'bad input' });
  });

  it('runs at most the reserved concurrency at once and queues the rest', async () => {
    const h = host({ maxConcurrency: 2 });
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map(() => h.invoke({ action: 'sleep', ms: 200 })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(h.environments).toBe(2);
  });

  it('reads time from the shared clock, so tests can move it', async () => {
    const clock = createControllableClock();
    const h = host({}, { clockBuffer: clock.buffer });
    clock.advance(8 * 86_400_000);
    const seen = (await h.invoke({ action: 'time' })) as { now: number; date: number; isDate: boolean };
    expect(seen.now - Date.now()).toBeGreaterThan(8 * 86_400_000 - 60_000);
    expect(Math.abs(seen.date - seen.now)).toBeLessThan(1000);
    expect(seen.isDate).toBe(true);
  });

  it("writes the function's output to its log sink", async () => {
    const sink = new PassThrough();
    const lines: string[] = [];
    sink.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    await host({}, { logSink: sink }).invoke({ action: 'log' });
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('')).toContain('hello from fn');
  });

  it('refuses calls after close, also those waiting for a free environment', async () => {
    const h = host({ maxConcurrency: 1 });
    const running = h.invoke({ action: 'sleep', ms: 300 }).catch((e: unknown) => e);
    const waiting = h.invoke({ action: 'calls' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await h.close();
    expect(await waiting).toMatchObject({ name: 'ServiceException' });
    expect(await running).toMatchObject({ name: 'Runtime.ExitError' });
    await expect(h.invoke({})).rejects.toMatchObject({ name: 'ServiceException' });
  });
});
