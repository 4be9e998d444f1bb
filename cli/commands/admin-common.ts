/**
 * What every `k2p-web admin` subcommand shares: its flags, the connection (the local stack's administrator key when
 * no key is named), argument checks against core/'s contracts (a bad value is a usage error listing the valid ones,
 * before any request), and failures as the API's code and message — on stdout as JSON with --json, else explained on
 * stderr, a 403 saying that an admin key is needed.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiError, type ApiClient, type Clock } from '../../core/api-client';
import { JOB_ID_PATTERN, KeyIdSchema } from '../../core/api-schemas';
import { ERROR_CODES, type ErrorCode } from '../../core/errors';
import { JOB_STATUSES, type JobStatus } from '../../core/job-states';
import { ROLES, type PrincipalRole } from '../../core/principal';
import { parseTimeBound, resolveTimeRange, TimeRangeError } from '../../core/time-range';
import { EXIT, UsageError, type CliIO } from '../command';
import { maskKey, type ApiTarget } from '../local-stack';
import { connect, EXIT_INTERRUPTED, failureCode, failureLines, sourceLabel, withInterrupt, type RemoteDeps } from '../remote';

/** Injection points for tests; the defaults ask on the terminal. */
export interface AdminDeps extends RemoteDeps {
  /** Can a question be asked and answered (stdin and stderr are terminals)? @default - process.stdin/stderr are TTYs */
  interactive?: () => boolean;
  /** Asks a yes/no question; true only for an explicit yes. @default - a readline prompt on stderr */
  confirm?: (question: string, io: CliIO) => Promise<boolean>;
}

export interface AdminSubcommand {
  /** `jobs`, `keys create`, …: the words after `k2p-web admin`. */
  name: string;
  /** One line: the arguments and flags, for the overview. */
  usage: string;
  summary: string;
  /** The subcommand's own help: what it does, its flags beyond the common ones, what it prints. */
  details: string;
  run(args: string[], io: CliIO, deps: AdminDeps): Promise<number>;
}

/** The flags of every admin subcommand (spread into parseArgs options). */
export const ADMIN_FLAGS = {
  api: { type: 'string' },
  key: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** --since/--until: the time range of listings, counts and usage. */
export const RANGE_FLAGS = { since: { type: 'string' }, until: { type: 'string' } } as const;

export const RANGE_HELP = `  --since <when>    start of the range: an ISO date-time with offset, or a span back from now (90m, 24h, 7d); default 30 days before --until
  --until <when>    end of the range (same forms); default now`;

/** --yes: skip the confirmation of something that cannot be undone. */
export const YES_FLAG = { yes: { type: 'boolean', default: false } } as const;

export const COMMON_OPTIONS = `Options of every admin command:
  --profile <name>  a profile saved by \`k2p-web login\` with an admin key (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       an API key with role admin (default: $K2P_API_KEY, else the profile's, else the local stack's admin key)
  --json            print the API's answer as JSON on stdout (errors: {"error": {code, message, …}})
  -h, --help        show help`;

export interface AdminCall {
  client: ApiClient;
  clock: Clock;
  signal: AbortSignal;
}

/**
 * Connects with the admin key and runs `work`; an API refusal or failure is written (JSON or explained) and is
 * exit 1, Ctrl-C exit 130. `work` writes its own output and returns the exit status.
 */
export async function withAdmin(
  flags: { api?: string; key?: string; profile?: string; json?: boolean },
  io: CliIO,
  deps: AdminDeps,
  work: (call: AdminCall) => Promise<number>,
): Promise<number> {
  const connection = await connect({ api: flags.api, key: flags.key, profile: flags.profile, localKey: 'admin' }, io, deps);
  return withInterrupt(deps, async (signal) => {
    try {
      return await work({ client: connection.client, clock: connection.clock, signal });
    } catch (error) {
      if (signal.aborted) return EXIT_INTERRUPTED;
      writeAdminFailure(io, error, connection.target, flags.json ?? false);
      return EXIT.failed;
    }
  });
}

/** With --json the API's error envelope (less its hint) on stdout; else the code, message and what to do on stderr. */
export function writeAdminFailure(io: CliIO, error: unknown, target: ApiTarget, json: boolean): void {
  if (json) {
    const api = error instanceof ApiError ? error : undefined;
    const body = {
      code: failureCode(error),
      message: (error as Error).message,
      ...(api?.details ? { details: api.details } : {}),
      ...(api?.requestId ? { requestId: api.requestId } : {}),
    };
    io.stdout.write(`${JSON.stringify({ error: body })}\n`);
    return;
  }
  if (error instanceof ApiError && error.code === 'FORBIDDEN') {
    const lines = [
      `✖ FORBIDDEN (HTTP ${error.status}): ${error.message}`,
      `  what to do: the admin commands need an API key with role admin; the key in use (${maskKey(target.apiKey)} from ${sourceLabel(target)}) is not one.`,
      '  `k2p-web whoami` shows its role; an administrator creates an admin key with `k2p-web admin keys create --name <who> --role admin`,',
      '  then use it with `k2p-web login --api <url> --profile admin` and `--profile admin`.',
    ];
    if (error.requestId) lines.push(`  request id: ${error.requestId}`);
    io.stderr.write(`${lines.join('\n')}\n`);
    return;
  }
  io.stderr.write(`${failureLines(error, target).join('\n')}\n`);
}

/**
 * A subcommand that asks one range-only route (counts, usage): --since/--until checked, then --json prints the
 * answer as it is, else `text` writes it.
 */
export function rangeSubcommand<A>(spec: {
  name: string;
  summary: string;
  details: string;
  fetch: (call: AdminCall, range: { since?: string; until?: string }) => Promise<A>;
  text: (answer: A, io: CliIO) => void;
}): AdminSubcommand {
  return {
    name: spec.name,
    usage: `${spec.name} [--since 7d] [--until T]`,
    summary: spec.summary,
    details: `${spec.details}\n\n${RANGE_HELP}`,
    async run(args, io, deps) {
      const { values, positionals } = parseFlags(args, { ...ADMIN_FLAGS, ...RANGE_FLAGS });
      noPositionals(positionals);
      const range = parseRange(values, Date.now());
      return withAdmin(values, io, deps, async (call) => {
        const answer = await spec.fetch(call, range);
        if (values.json) writeJson(io, answer);
        else spec.text(answer, io);
        return EXIT.ok;
      });
    },
  };
}

/** Every page of a listing without a range (keys, people: a few hundred at most). */
export async function everyPage<P extends { nextToken?: string }, T>(
  fetchPage: (nextToken: string | undefined) => Promise<P>,
  items: (page: P) => T[],
): Promise<T[]> {
  const all: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await fetchPage(nextToken);
    all.push(...items(page));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

/** A whole listing: with --json `{[name]: items}`, else the table, or `empty` when there is nothing. */
export function writeList<T>(
  io: CliIO,
  json: boolean | undefined,
  name: string,
  items: T[],
  table: (items: T[]) => string,
  empty: string,
): void {
  if (json) writeJson(io, { [name]: items });
  else io.stdout.write(items.length > 0 ? table(items) : `${empty}\n`);
}

type Flags = NonNullable<ParseArgsConfig['options']>;

/** The subcommand's flags (strict: an unknown one is a usage error) and its positional arguments. */
export function parseFlags<O extends Flags>(args: string[], options: O) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** Writes `value` as one line of JSON. */
export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

function oneOf<T extends string>(flag: string, value: string, valid: readonly T[]): T {
  if ((valid as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of: ${valid.join(', ')} (got "${value}")`);
}

export function parseState(value: string | undefined): JobStatus | undefined {
  return value === undefined ? undefined : oneOf('--state', value, JOB_STATUSES);
}

export function parseCode(value: string | undefined): ErrorCode | undefined {
  return value === undefined ? undefined : oneOf('--code', value, ERROR_CODES);
}

export function parseRole(value: string | undefined): PrincipalRole | undefined {
  return value === undefined ? undefined : oneOf('--role', value, ROLES);
}

/** A person's role: user, admin, or `token` (no override: their token's groups decide again, sent as null). */
export function parsePersonRole(value: string | undefined): PrincipalRole | null | undefined {
  if (value === undefined) return undefined;
  const role = oneOf('--role', value, [...ROLES, 'token'] as const);
  return role === 'token' ? null : role;
}

/** --since/--until as the API takes them (sent as typed: the API resolves spans against its clock), checked here first. */
export function parseRange(values: { since?: string; until?: string }, nowMs: number): { since?: string; until?: string } {
  for (const flag of ['since', 'until'] as const) {
    const text = values[flag];
    if (text !== undefined && parseTimeBound(text, nowMs) === undefined)
      throw new UsageError(
        `--${flag} must be an ISO date-time with offset (2026-12-01T00:00:00Z) or a span back from now like 90m, 24h, 7d (got "${text}")`,
      );
  }
  try {
    resolveTimeRange(values, nowMs);
  } catch (error) {
    if (error instanceof TimeRangeError) throw new UsageError(`--since/--until: ${error.message}`);
    throw error;
  }
  return { ...(values.since !== undefined ? { since: values.since } : {}), ...(values.until !== undefined ? { until: values.until } : {}) };
}

export function parseLimit(text: string | undefined, max = 100): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`--limit must be a whole number from 1 to ${max} (got "${text}")`);
  return Number(text);
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0]!;
}

export function parseJobId(positionals: string[]): string {
  const jobId = onePositional(positionals, 'job id');
  if (!JOB_ID_PATTERN.test(jobId)) throw new UsageError(`"${jobId}" is not a job id (8–64 letters, digits, _ or -)`);
  return jobId;
}

export function parseKeyId(positionals: string[]): string {
  const keyId = onePositional(positionals, 'key id (the KEY ID column of `k2p-web admin keys list`)');
  if (!KeyIdSchema.safeParse(keyId).success)
    throw new UsageError(`"${keyId}" is not a key id: 64 lowercase hex digits, the KEY ID column of \`k2p-web admin keys list\``);
  return keyId;
}

/** `{name: value}` when value is defined, else nothing to spread (the API's queries are strict). */
export function optional<K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, V>);
}

/** No positional arguments expected. */
export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

/**
 * Whether to go ahead with something that cannot be undone: --yes, or no terminal to ask on (a script), or a "y"
 * typed at the prompt. A refusal is reported on stderr.
 */
export async function confirmed(question: string, yes: boolean | undefined, io: CliIO, deps: AdminDeps): Promise<boolean> {
  if (yes) return true;
  const interactive = deps.interactive ?? (() => process.stdin.isTTY === true && (io.stderr as { isTTY?: boolean }).isTTY === true);
  if (!interactive()) return true;
  const ok = await (deps.confirm ?? askOnTerminal)(question, io);
  if (!ok) io.stderr.write('Nothing was done.\n');
  return ok;
}

async function askOnTerminal(question: string, io: CliIO): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
