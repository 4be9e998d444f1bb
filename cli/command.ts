/** What every `k2p-web` subcommand provides. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  /** Full help text for `k2p-web <name> --help`. */
  help: string;
  /** Help for a subcommand (`k2p-web admin jobs --help`); absent or undefined: `help`. */
  helpFor?(args: string[]): string | undefined;
  /** Returns the exit code: 0 success, 1 a verdict/operation failed, 2 usage error. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A usage mistake: printed with the command's usage line, exit code 2. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
