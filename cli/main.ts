/**
 * `k2p-web` — the command-line face of k2p-web: check and build bundles
 * locally, and (with a running service) convert workflows.
 */
import { EXIT, UsageError, type CliIO, type Command } from './command';
import { bundleCommand } from './commands/bundle';
import { validateCommand } from './commands/validate';

const COMMANDS: readonly Command[] = [validateCommand, bundleCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: k2p-web <command> [options]

Turn KNIME workflows into Python with k2p-web.

Commands:
${lines.join('\n')}

Run \`k2p-web <command> --help\` for a command's options.
`;
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`k2p-web: unknown command "${name}"\n\n${overview()}`);
    return EXIT.usage;
  }
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(`${command.help}\n`);
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
