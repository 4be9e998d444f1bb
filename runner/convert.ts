/**
 * Runs the converter as an untrusted child: its own process group (so the whole
 * tree can be stopped), no shell, an environment without the runner's presigned
 * URLs, TMPDIR/HOME in scratch, a wall-clock limit (SIGTERM, then SIGKILL after a
 * grace period), a cap on captured stdout/stderr and a cap on the bytes it writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { RUNNER_ENV } from '../core/service-env';
import { BUNDLE_LIMIT_ENV, SERVICE_LIMIT_ENV } from '../core/limits';
import { RUNNER_LOCAL_ENV } from '../core/runner-contract';
import type { ConversionOptions } from '../core/types';
import { bytesInRun, type Workspace } from './workspace';

/** The summary is a few KiB; anything near this is not a summary. */
export const MAX_STDOUT_BYTES = 1024 * 1024;
/** Only the end of stderr is kept: that is where Python puts the error. */
export const MAX_STDERR_TAIL_BYTES = 64 * 1024;
const OUTPUT_POLL_MS = 200;

export type StopReason = 'timeout' | 'stdout-limit' | 'output-limit' | 'cancelled';

export interface ConverterLimits {
  timeoutMs: number;
  killGraceMs: number;
  maxOutputBytes: number;
  maxStdoutBytes?: number;
  maxStderrTailBytes?: number;
  /** Aborting stops the converter like a time-out does (the runner itself is being stopped). */
  signal?: AbortSignal;
  /** Sees every chunk of stderr as it comes (the job's log keeps more of it than the tail). */
  onStderr?: (chunk: Buffer) => void;
}

export interface ConverterRun {
  argv: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the runner stopped the converter, and why. */
  stopped?: StopReason;
  /** Set when the converter could not be started at all. */
  spawnError?: string;
  stdout: string;
  stdoutBytes: number;
  stderrTail: string;
  stderrBytes: number;
  durationMs: number;
}

/** The converter's argv: K2P_COMMAND, the workflow folder, --out and the options ("both" = no flag). */
export function converterArgv(command: string[], ws: Workspace, options: ConversionOptions): string[] {
  return [
    ...command,
    ws.workflowDir,
    '--out',
    ws.outDir,
    ...(options.workbook === 'both' ? [] : ['--workbook', options.workbook]),
    ...(options.graph === 'both' ? [] : ['--graph', options.graph]),
  ];
}

/**
 * The converter's environment: the runner's own, minus everything that belongs to
 * the runner (presigned URLs, limits) or could reach AWS, with TMPDIR/HOME in scratch.
 */
export function converterEnv(env: Record<string, string | undefined>, ws: Workspace): Record<string, string> {
  const runnerOnly = new Set<string>([
    ...Object.values(RUNNER_ENV),
    ...Object.values(RUNNER_LOCAL_ENV),
    ...Object.values(BUNDLE_LIMIT_ENV),
    ...Object.values(SERVICE_LIMIT_ENV),
  ]);
  const kept = Object.entries(env).filter(
    ([name, value]) => value !== undefined && !runnerOnly.has(name) && !/^(AWS_|ECS_CONTAINER_METADATA_URI)/.test(name),
  ) as [string, string][];
  return {
    ...Object.fromEntries(kept),
    TMPDIR: ws.tmpDir,
    HOME: ws.homeDir,
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/** Collects a stream up to a cap; `onOverflow` fires once when the cap is passed. */
function headCollector(max: number, onOverflow: () => void) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  return {
    push(chunk: Buffer) {
      total += chunk.length;
      if (kept < max) {
        const part = chunk.subarray(0, max - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (total > max && total - chunk.length <= max) onOverflow();
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    total: () => total,
  };
}

/** Keeps the last `max` bytes of a stream. */
function tailCollector(max: number) {
  let tail = Buffer.alloc(0);
  let total = 0;
  return {
    push(chunk: Buffer) {
      total += chunk.length;
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > max) tail = tail.subarray(tail.length - max);
    },
    text: () => tail.toString('utf8'),
    total: () => total,
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // negative pid: the whole process group
  } catch {
    // ESRCH: the group is already gone.
  }
}

export async function runConverter(
  argv: string[],
  env: Record<string, string>,
  ws: Workspace,
  limits: ConverterLimits,
): Promise<ConverterRun> {
  // Writes anywhere in the run directory count, the input folder included.
  const baseline = await bytesInRun(ws);
  const written = async () => (await bytesInRun(ws)) - baseline;
  const started = Date.now();
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { cwd: ws.root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

  let stopped: StopReason | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason) => {
    if (stopped) return;
    stopped = reason;
    killGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), limits.killGraceMs);
  };

  const stdout = headCollector(limits.maxStdoutBytes ?? MAX_STDOUT_BYTES, () => stop('stdout-limit'));
  const stderr = tailCollector(limits.maxStderrTailBytes ?? MAX_STDERR_TAIL_BYTES);
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    limits.onStderr?.(chunk);
  });

  const timeout = setTimeout(() => stop('timeout'), limits.timeoutMs);
  const onAbort = () => stop('cancelled');
  if (limits.signal?.aborted) onAbort();
  limits.signal?.addEventListener('abort', onAbort);
  const watcher = watchOutput(written, limits.maxOutputBytes, () => stop('output-limit'));

  const outcome = await waitForExit(child);
  clearTimeout(timeout);
  clearTimeout(killTimer);
  limits.signal?.removeEventListener('abort', onAbort);
  watcher.stop();
  // The child is gone, but grandchildren may still hold the pipes or keep writing.
  killGroup(child, 'SIGKILL');
  await drain(child);
  if (!stopped && !outcome.spawnError && (await written()) > limits.maxOutputBytes) stopped = 'output-limit';

  return {
    argv,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    ...(stopped ? { stopped } : {}),
    ...(outcome.spawnError ? { spawnError: outcome.spawnError } : {}),
    stdout: stdout.text(),
    stdoutBytes: stdout.total(),
    stderrTail: stderr.text(),
    stderrBytes: stderr.total(),
    durationMs: Date.now() - started,
  };
}

interface ExitOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: string;
}

function waitForExit(child: ChildProcess): Promise<ExitOutcome> {
  return new Promise((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve({ exitCode: null, signal: null, spawnError: err.code ?? err.message }));
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
}

/** Waits briefly for the pipes to close, then drops them: a stray holder must not hang the runner. */
async function drain(child: ChildProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return resolve();
    child.once('close', () => resolve());
    timer = setTimeout(resolve, 2000);
  });
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Polls the bytes written; one measurement at a time, never overlapping. */
function watchOutput(written: () => Promise<number>, maxBytes: number, onExceeded: () => void) {
  let active = true;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const bytes = await written().catch(() => 0);
    if (!active) return;
    if (bytes > maxBytes) return onExceeded();
    timer = setTimeout(tick, OUTPUT_POLL_MS);
  };
  timer = setTimeout(tick, OUTPUT_POLL_MS);
  return {
    stop() {
      active = false;
      clearTimeout(timer);
    },
  };
}
