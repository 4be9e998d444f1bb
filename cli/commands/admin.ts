/**
 * `k2p-web admin <subcommand>`: the admin API (docs/api.md "Admin API") from the command line — every owner's jobs,
 * counts, one job in full, logs, cancel and delete, the audit trail, keys, people and usage. Each needs a key with
 * role admin (a profile, --key, or local mode's admin key) and has --json for the API's answer as it is.
 */
import { EXIT, UsageError, type Command } from '../command';
import { COMMON_OPTIONS, type AdminDeps, type AdminSubcommand } from './admin-common';
import { ADMIN_JOB_COMMANDS } from './admin-jobs';
import { ADMIN_KEY_COMMANDS } from './admin-keys';

const SUBCOMMANDS: readonly AdminSubcommand[] = [...ADMIN_JOB_COMMANDS, ...ADMIN_KEY_COMMANDS];

/** Words that take a second word (`keys create`); alone, or followed by a flag, they mean `list`. */
const GROUPS = ['keys', 'people'] as const;
const USAGE_COLUMN = 50;

function overview(): string {
  const width = Math.max(...SUBCOMMANDS.map((s) => s.usage.length).filter((n) => n <= USAGE_COLUMN));
  // A long usage line gets its summary on the next line, so the summaries stay in one column.
  const lines = SUBCOMMANDS.map((s) =>
    s.usage.length > width ? `  ${s.usage}\n  ${''.padEnd(width)}  ${s.summary}` : `  ${s.usage.padEnd(width)}  ${s.summary}`,
  );
  return `Usage: k2p-web admin <command> [options]

Operates the service through its admin API: jobs of every owner, keys, people, usage, the audit trail.
Needs an API key with role admin.

Commands:
${lines.join('\n')}

${COMMON_OPTIONS}

Run \`k2p-web admin <command> --help\` for a command's options.

Exit status: 0 done, 1 the API refused (its code and message are printed; FORBIDDEN: not an admin key) or could
not be reached, or a confirmation was declined, 2 usage error (bad arguments: nothing was sent), 130 interrupted.`;
}

/** The subcommand the arguments name, and the arguments left for it; undefined when they name none. */
export function findSubcommand(args: readonly string[]): { subcommand: AdminSubcommand; rest: string[] } | undefined {
  const [first, second, ...others] = args;
  if (first === undefined) return undefined;
  if ((GROUPS as readonly string[]).includes(first)) {
    const named = second !== undefined && !second.startsWith('-') ? SUBCOMMANDS.find((s) => s.name === `${first} ${second}`) : undefined;
    if (named) return { subcommand: named, rest: others };
    // `people` alone lists; `keys <something else>` is a usage error below, not a silent list.
    if (second === undefined || second.startsWith('-')) {
      const list = SUBCOMMANDS.find((s) => s.name === `${first} list`)!;
      return { subcommand: list, rest: args.slice(1) };
    }
    return undefined;
  }
  const subcommand = SUBCOMMANDS.find((s) => s.name === first);
  return subcommand ? { subcommand, rest: args.slice(1) } : undefined;
}

function subcommandHelp(subcommand: AdminSubcommand): string {
  return `Usage: k2p-web admin ${subcommand.usage} [--json]\n\n${subcommand.details}\n\n${COMMON_OPTIONS}`;
}

export function createAdminCommand(deps: AdminDeps = {}): Command {
  return {
    name: 'admin',
    summary: 'operate the service: every job, keys, people, usage, audit (admin key)',
    help: overview(),
    helpFor(args) {
      const found = findSubcommand(args.filter((arg) => arg !== '--help' && arg !== '-h'));
      return found ? subcommandHelp(found.subcommand) : undefined;
    },
    async run(args, io) {
      const found = findSubcommand(args);
      if (!found) {
        if (args.length === 0) {
          io.stderr.write(`${overview()}\n`);
          return EXIT.usage;
        }
        const words = GROUPS.includes(args[0] as (typeof GROUPS)[number]) ? `${args[0]} ${args[1]}` : args[0];
        throw new UsageError(
          `unknown admin command "${words}"; the commands: ${[...new Set(SUBCOMMANDS.map((s) => s.name.replace(' list', '')))].join(', ')}`,
        );
      }
      return found.subcommand.run(found.rest, io, deps);
    },
  };
}

export const adminCommand = createAdminCommand();
