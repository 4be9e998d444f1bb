/**
 * The runner's whole configuration, read from its environment only (the task
 * definition and the state machine's container overrides set it; there are no
 * credentials and no other input).
 */
import { bundleLimitsFromEnv, serviceLimitsFromEnv, type BundleLimits, type ServiceLimits } from '../core/limits';
import { DEFAULT_VERSION_COMMAND, plausibleVersion, RUNNER_LOCAL_ENV, splitCommand } from '../core/runner-contract';
import { RUNNER_ENV, RUNNER_SCRATCH_DIR } from '../core/service-env';
import type { ConversionOptions } from '../core/types';

export interface RunnerConfig {
  jobId: string;
  inputUrl: string;
  inputSha256: string;
  resultUrl: string;
  reportUrl: string;
  /** Presigned PUT of log.txt. */
  logUrl: string;
  /** Safe folder name derived from WORKFLOW_NAME (also the base of knime2py's output names). */
  workflowName: string;
  options: ConversionOptions;
  /** The converter command as argv (K2P_COMMAND), before the runner's arguments. */
  command: string[];
  versionCommand: string[];
  scratchDir: string;
  converterImage: string | null;
  /** CONVERTER_VERSION when it is a plausible version; null: ask `versionCommand`. */
  converterVersion: string | null;
  bundleLimits: BundleLimits;
  serviceLimits: ServiceLimits;
  killGraceMs: number;
  httpTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Runner misconfigured: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const WORKBOOK = ['py', 'ipynb', 'both'] as const;
const GRAPH = ['json', 'dot', 'off', 'both'] as const;

/**
 * Turns the job's workflow name into one safe path segment: it becomes a folder
 * in scratch and the prefix of every output file, and the converter gets it as
 * part of an argument, so no separators, control characters or leading dash/dot.
 */
export function safeWorkflowName(raw: string | undefined): string {
  const cleaned = (raw ?? '')
    .normalize('NFC')
    .replace(/[^\p{L}\p{N} ._()+,#@-]/gu, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.-]+/, '')
    .trim();
  const bytes = Buffer.from(cleaned, 'utf8');
  // Keep room for "__g01_workbook.ipynb" under the usual 255-byte name limit.
  const short =
    bytes.length > 120
      ? new TextDecoder()
          .decode(bytes.subarray(0, 120))
          .replace(/\uFFFD+$/, '')
          .trim()
      : cleaned;
  return short.length > 0 ? short : 'workflow';
}

function required(env: Env, name: string, problems: string[]): string {
  const value = env[name]?.trim();
  if (!value) problems.push(`${name} is not set`);
  return value ?? '';
}

function url(env: Env, name: string, problems: string[]): string {
  const value = required(env, name, problems);
  if (value && !/^https?:\/\//i.test(value)) problems.push(`${name} must be an http(s) URL`);
  return value;
}

function choice<T extends string>(env: Env, name: string, allowed: readonly T[], problems: string[]): T {
  const value = (env[name]?.trim() || 'both') as T;
  if (!allowed.includes(value)) problems.push(`${name} must be one of ${allowed.join('|')}, got ${JSON.stringify(value)}`);
  return value;
}

function positiveNumber(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) problems.push(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function command(env: Env, name: string, fallback: string, problems: string[]): string[] {
  try {
    const argv = splitCommand(env[name]?.trim() || fallback);
    if (argv.length === 0) problems.push(`${name} is empty`);
    return argv;
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message}`);
    return [];
  }
}

function limits<T>(read: () => T, problems: string[]): T {
  try {
    return read();
  } catch (err) {
    problems.push((err as Error).message);
    return undefined as T;
  }
}

/** Reads and checks the environment; throws ConfigError listing every problem at once. */
export function readConfig(env: Env): RunnerConfig {
  const problems: string[] = [];
  const sha = required(env, RUNNER_ENV.INPUT_SHA256, problems).toLowerCase();
  if (sha && !/^[0-9a-f]{64}$/.test(sha)) problems.push(`${RUNNER_ENV.INPUT_SHA256} must be 64 hex digits`);
  const config: RunnerConfig = {
    jobId: required(env, RUNNER_ENV.JOB_ID, problems),
    inputUrl: url(env, RUNNER_ENV.INPUT_URL, problems),
    inputSha256: sha,
    resultUrl: url(env, RUNNER_ENV.RESULT_URL, problems),
    reportUrl: url(env, RUNNER_ENV.REPORT_URL, problems),
    logUrl: url(env, RUNNER_ENV.LOG_URL, problems),
    workflowName: safeWorkflowName(env[RUNNER_ENV.WORKFLOW_NAME]),
    options: {
      workbook: choice(env, RUNNER_ENV.K2P_WORKBOOK, WORKBOOK, problems),
      graph: choice(env, RUNNER_ENV.K2P_GRAPH, GRAPH, problems),
    },
    command: command(env, RUNNER_ENV.K2P_COMMAND, 'k2p', problems),
    versionCommand: command(env, RUNNER_LOCAL_ENV.K2P_VERSION_COMMAND, DEFAULT_VERSION_COMMAND, problems),
    scratchDir: env[RUNNER_ENV.SCRATCH_DIR]?.trim() || RUNNER_SCRATCH_DIR,
    converterImage: env[RUNNER_ENV.CONVERTER_IMAGE]?.trim() || null,
    converterVersion: plausibleVersion(env[RUNNER_ENV.CONVERTER_VERSION]),
    bundleLimits: limits(() => bundleLimitsFromEnv(env), problems),
    serviceLimits: limits(() => serviceLimitsFromEnv(env), problems),
    killGraceMs: positiveNumber(env, RUNNER_LOCAL_ENV.KILL_GRACE_SECONDS, 5, problems) * 1000,
    httpTimeoutMs: positiveNumber(env, RUNNER_LOCAL_ENV.HTTP_TIMEOUT_SECONDS, 60, problems) * 1000,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
