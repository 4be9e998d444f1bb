/**
 * `k2p-web` — the command-line face of k2p-web: check and build bundles
 * locally, and (with a running service) convert workflows.
 */
import { EXIT, UsageError, type CliIO, type Command } from './command';

interface CommandEntry {
  name: string;
  load: () => Promise<Command>;
}

/**
 * The subcommands, each loaded only when it runs (or for the overview):
 * `validate` is timed against `unzip -t`, so it should not pay for loading
 * the bundler, fflate or an API client it never uses.
 */
const COMMANDS: readonly CommandEntry[] = [
  { name: 'validate', load: async () => (await import('./commands/validate')).validateCommand },
  { name: 'bundle', load: async () => (await import('./commands/bundle')).bundleCommand },
  { name: 'convert', load: async () => (await import('./commands/convert')).convertCommand },
  { name: 'jobs', load: async () => (await import('./commands/jobs')).jobsCommand },
  { name: 'status', load: async () => (await import('./commands/status')).statusCommand },
  { name: 'dev', load: async () => (await import('./commands/dev')).devCommand },
  { name: 'cancel', load: async () => (await import('./commands/cancel')).cancelCommand },
  { name: 'delete', load: async () => (await import('./commands/delete')).deleteCommand },
  { name: 'logs', load: async () => (await import('./commands/logs')).logsCommand },
  { name: 'login', load: async () => (await import('./commands/login')).loginCommand },
  { name: 'logout', load: async () => (await import('./commands/login')).logoutCommand },
  { name: 'profiles', load: async () => (await import('./commands/login')).profilesCommand },
  { name: 'whoami', load: async () => (await import('./commands/whoami')).whoamiCommand },
  { name: 'admin', load: async () => (await import('./commands/admin')).adminCommand },
];

async function overview(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((entry) => entry.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: k2p-web <command> [options]

Turn KNIME workflows into Python with k2p-web.

Commands:
${lines.join('\n')}

Run \`k2p-web <command> --help\` for a command's options; \`k2p-web --version\` for the versions.
`;
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(await overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') return (await import('./version')).printVersion(args, io);
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`k2p-web: unknown command "${name}"\n\n${await overview()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(`${command.helpFor?.(args) ?? command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    const usage = error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`k2p-web ${command.name}: ${(error as Error).message}\n`);
    if (usage) {
      io.stderr.write(`Run \`k2p-web ${command.name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    return EXIT.failed;
  }
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
