/**
 * What the commands that talk to the service share: the client for the
 * resolved API, Ctrl-C as an AbortSignal, failures explained, and the
 * result download (a presigned GET: no API key goes to S3).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { unzipSync } from 'fflate';
import {
  ApiClient,
  ApiError,
  backoffDelay,
  FollowTimeoutError,
  NetworkError,
  realClock,
  ResponseFormatError,
  type Clock,
} from '../core/api-client';
import { resultFilename, type JobView, type ResultLink } from '../core/api-schemas';
import { parseS3Error, UploadError } from '../core/node/upload';
import type { ComponentSummary } from '../core/types';
import type { CliIO } from './command';
import { maskKey, resolveApiTarget, type ApiTarget, type TargetDeps } from './local-stack';

/** Ctrl-C while waiting: the conventional exit status of a process stopped by SIGINT. */
export const EXIT_INTERRUPTED = 130;

export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

/** Injection points for tests; the defaults are the real thing. */
export interface RemoteDeps extends TargetDeps {
  fetch?: typeof fetch;
  clock?: Clock;
  random?: () => number;
  /** Ctrl-C as an AbortSignal. @default - SIGINT of this process */
  interrupts?: () => Interrupt;
}

/** Thrown into the pending work when the user presses Ctrl-C. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor() {
    super('Interrupted');
  }
}

/** The flags of every command that talks to the service (spread into parseArgs options). */
export const REMOTE_FLAGS = {
  api: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  profile: { type: 'string' },
} as const;

/** Runs `work` with Ctrl-C as its AbortSignal; the SIGINT handler is released however it ends. */
export async function withInterrupt<T>(deps: RemoteDeps, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = (deps.interrupts ?? processInterrupts)();
  try {
    return await work(interrupt.signal);
  } finally {
    interrupt.dispose();
  }
}

/** The first Ctrl-C aborts the wait gracefully; `once` restores the default, so a second one kills. */
export function processInterrupts(): Interrupt {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new InterruptedError());
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

export interface Connection {
  client: ApiClient;
  target: ApiTarget;
  clock: Clock;
}

export async function connect(
  flags: { api?: string; key?: string; profile?: string; localKey?: 'cli' | 'admin' },
  io: CliIO,
  deps: RemoteDeps,
): Promise<Connection> {
  const target = await resolveApiTarget({ ...flags, env: io.env, cwd: io.cwd }, deps);
  const clock = deps.clock ?? realClock;
  const client = new ApiClient({
    baseUrl: target.apiUrl,
    apiKey: target.apiKey,
    clock,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  return { client, target, clock };
}

/** "API http://127.0.0.1:3000 (local stack), key k2pl…3f": which service, without revealing the key. */
export function targetLine(target: ApiTarget): string {
  return `API ${target.apiUrl} (${sourceLabel(target)}), key ${maskKey(target.apiKey)}`;
}

/** "flag", "env", "local stack" or `profile "ci"`. */
export function sourceLabel(target: ApiTarget): string {
  return target.source === 'profile' ? `profile "${target.profile ?? ''}"` : target.source;
}

/** A failure to talk to the service, explained with what to do. */
export function failureLines(error: unknown, target?: ApiTarget): string[] {
  if (error instanceof ApiError) {
    const lines = [`✖ ${error.code} (HTTP ${error.status}): ${error.message}`];
    if (error.code === 'FORBIDDEN' || error.code === 'UNAUTHORIZED') {
      lines.push(
        `  what to do: check the API key${target ? ` (using ${maskKey(target.apiKey)} from ${sourceLabel(target)})` : ''}; ${error.hint}`,
      );
    } else {
      lines.push(`  what to do: ${error.hint}`);
    }
    if (error.requestId) lines.push(`  request id: ${error.requestId}`);
    return lines;
  }
  if (error instanceof NetworkError) {
    const local = target?.source === 'local stack' ? ' Is local mode still running (`npm start`)?' : ' Check the URL and your connection.';
    return [`✖ ${error.message}${local}`];
  }
  if (error instanceof UploadError || error instanceof ResponseFormatError || error instanceof FollowTimeoutError)
    return [`✖ ${error.message}`];
  return [`✖ ${(error as Error)?.message ?? String(error)}`];
}

/** A failure as `--json` prints it (one object on stdout) or, without it, explained on stderr. */
export function writeFailure(io: CliIO, error: unknown, target: ApiTarget, json: boolean | undefined): void {
  if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: failureCode(error), message: (error as Error).message } })}\n`);
  else io.stderr.write(`${failureLines(error, target).join('\n')}\n`);
}

/** A code for --json output: the API's, S3's, or what went wrong locally. */
export function failureCode(error: unknown): string {
  if (error instanceof ApiError) return error.code;
  if (error instanceof UploadError) return error.isNetwork ? 'NETWORK_ERROR' : `UPLOAD_${error.code}`;
  if (error instanceof NetworkError) return 'NETWORK_ERROR';
  if (error instanceof ResponseFormatError) return 'BAD_RESPONSE';
  if (error instanceof FollowTimeoutError) return 'WAIT_TIMEOUT';
  return 'CLIENT_ERROR';
}

export interface DownloadOptions {
  /** -o: a file, or an existing folder to write the default name into. @default - `<Workflow>-k2p.zip` in the cwd */
  output?: string;
  cwd: string;
  fetch?: typeof fetch;
  clock: Clock;
  random?: () => number;
  signal?: AbortSignal;
  /** Tries on a network failure. @default 3 */
  attempts?: number;
}

export interface Downloaded {
  path: string;
  bytes: number;
  link: ResultLink;
}

/** Downloads result.zip through the short-lived link (fetched fresh for every try, as it expires within minutes). */
export async function downloadResult(client: ApiClient, job: JobView, options: DownloadOptions): Promise<Downloaded> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const link = await client.getResultUrl(job.jobId, { signal: options.signal });
    const path = await outputPath(options.output, options.cwd, link.filename, job.workflowName);
    try {
      const bytes = await fetchToFile(link.url, path, options);
      return { path, bytes, link };
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !(error instanceof NetworkError)) throw error;
      await options.clock.sleep(backoffDelay(attempt, 500, 4000, options.random), options.signal);
    }
  }
}

async function outputPath(output: string | undefined, cwd: string, served: string, workflowName: string): Promise<string> {
  // The served name comes from the server: keep only a plain file name.
  const name = /^[^/\\]+\.zip$/i.test(basename(served)) && !served.startsWith('.') ? basename(served) : resultFilename(workflowName);
  if (output === undefined) return join(cwd, name);
  const path = resolve(cwd, output);
  const info = await stat(path).catch(() => undefined);
  return info?.isDirectory() ? join(path, name) : path;
}

/** A path as the user would type it: relative when it is below the cwd. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Streams into a temporary file next to the target and renames it, so a failed download never leaves half a ZIP. */
async function fetchToFile(url: string, path: string, options: DownloadOptions): Promise<number> {
  const partial = `${path}.part-${randomBytes(4).toString('hex')}`;
  // Opened before downloading: a folder that cannot be written is the user's to fix, not a network failure to retry.
  const file = await openOutput(partial, path);
  try {
    const response = await fetchResult(url, options);
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), file);
    await rename(partial, path);
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof NetworkError || (error as Error).name === 'DownloadError') throw error;
    throw new NetworkError(`Downloading the result failed (${(error as Error).message}).`, { cause: error });
  }
  return (await stat(path)).size;
}

async function openOutput(partial: string, path: string): Promise<WriteStream> {
  await mkdir(dirname(path), { recursive: true }).catch(() => undefined);
  const file = createWriteStream(partial);
  try {
    await once(file, 'open');
  } catch (error) {
    throw new Error(`Cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
  return file;
}

async function fetchResult(url: string, options: DownloadOptions): Promise<Response & { body: NonNullable<Response['body']> }> {
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new NetworkError(`Downloading the result failed (${(error as Error).message}).`, { cause: error });
  }
  if (!response.ok || !response.body) {
    const fields = parseS3Error(await response.text().catch(() => ''));
    const said = fields.Code ? ` ${fields.Code}: ${fields.Message ?? ''}` : '';
    const error = new Error(`Downloading the result failed (HTTP ${response.status}${said}).`);
    error.name = 'DownloadError';
    throw error;
  }
  return response as Response & { body: NonNullable<Response['body']> };
}

/** The per-component counts from report.json inside result.zip; undefined when it cannot be read (the job's totals still are). */
export async function readReportComponents(path: string): Promise<ComponentSummary[] | undefined> {
  try {
    const files = unzipSync(new Uint8Array(await readFile(path)), { filter: (file) => file.name === 'report.json' });
    const report = files['report.json'];
    if (!report) return undefined;
    const components = (JSON.parse(new TextDecoder().decode(report)) as { components?: unknown }).components;
    return Array.isArray(components) ? (components as ComponentSummary[]) : undefined;
  } catch {
    return undefined;
  }
}
