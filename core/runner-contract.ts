/**
 * The runner's command-line and environment contract beyond the infra's
 * (core/service-env.ts): how a command configured in the environment
 * (K2P_COMMAND, K2P_VERSION_COMMAND) becomes argv, the default version
 * command, and the runner-only variables. The runner reads them; local mode
 * writes them for its tasks. Browser-safe: no node: imports.
 */

/** Runner-only settings that are not part of the infra contract (defaults suit production). */
export const RUNNER_LOCAL_ENV = {
  /** Command printing the knime2py version (tests point it at something without Python). */
  K2P_VERSION_COMMAND: 'K2P_VERSION_COMMAND',
  /** Seconds between SIGTERM and SIGKILL when the converter is stopped. */
  KILL_GRACE_SECONDS: 'RUNNER_KILL_GRACE_SECONDS',
  /** Timeout of each HTTP request (download, uploads), seconds. */
  HTTP_TIMEOUT_SECONDS: 'RUNNER_HTTP_TIMEOUT_SECONDS',
} as const;

/** Largest log.txt the runner uploads (head and tail kept around a marker when the run said more); get-logs reads at most this. */
export const MAX_JOB_LOG_BYTES = 1024 * 1024;

/** The knime2py release k2p-web is built and tested against (runner/Dockerfile's KNIME2PY_VERSION default, local mode's provisioned copy). */
export const KNIME2PY_VERSION = '0.1.11';

/** Where that release's source lives (the tag is `v` + the version). */
export const KNIME2PY_REPOSITORY = 'https://github.com/vitalii-kaplan/knime2py';

/** A converter version as printed by its package metadata (anything else is treated as unknown). */
export function plausibleVersion(value: string | undefined | null): string | null {
  const version = value?.trim() ?? '';
  return /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/.test(version) ? version : null;
}

/** What the runner asks for the converter's version when K2P_VERSION_COMMAND is not set. */
export const DEFAULT_VERSION_COMMAND = `python3 -c "import importlib.metadata as m; print(m.version('knime2py'))"`;

/**
 * Splits a command line configured in the environment into argv, so it can be
 * spawned without a shell: no expansion, globbing or operators can sneak in.
 * Supports '…', "…" and \ escapes.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) throw new Error(`Unterminated ${quote} quote in command: ${line}`);
  if (started) args.push(current);
  return args;
}
