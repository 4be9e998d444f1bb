import { parseArgs } from 'node:util';
import { ERRORS } from '../../core/errors';
import { bundleLimitsFromEnv } from '../../core/limits';
import { formatBytes, plural } from '../../core/format';
import { validateBundleFile } from '../../core/node/validate-bundle';
import type { ValidationVerdict } from '../../core/types';
import { EXIT, UsageError, type Command } from '../command';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check bundle ZIPs against the bundle policy, exactly as the service does',
  help: `Usage: k2p-web validate <bundle.zip>... [--json]

Checks each bundle against k2p-web's bundle policy (the same code the service
runs on upload) and prints one verdict per file.

Options:
  --json      one JSON object per line: {file, ok, code?, message?, entry?, stats?}
  -h, --help  show this help

Limits are the service defaults; override them with the same environment
variables the service uses (e.g. LIMIT_MAX_ENTRIES, LIMIT_MAX_UPLOAD_BYTES).

Exit status: 0 all valid, 1 at least one rejected, 2 usage error or unreadable file.`,

  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('give at least one bundle ZIP to validate');
    const limits = bundleLimitsFromEnv(io.env);
    let exit: number = EXIT.ok;
    for (const file of positionals) {
      let verdict: ValidationVerdict;
      try {
        verdict = await validateBundleFile(file, limits);
      } catch (error) {
        io.stderr.write(`k2p-web validate: cannot read ${file}: ${(error as Error).message}\n`);
        exit = EXIT.usage;
        continue;
      }
      if (!verdict.ok && exit === EXIT.ok) exit = EXIT.failed;
      io.stdout.write(values.json ? `${JSON.stringify({ file, ...verdict })}\n` : describe(file, verdict));
    }
    return exit;
  },
};

function describe(file: string, verdict: ValidationVerdict): string {
  if (verdict.ok) {
    const s = verdict.stats;
    const nested = s.nestedWorkflows.length > 0 ? `, ${s.nestedWorkflows.length} nested workflows` : '';
    return `✔ ${file}: valid bundle — ${plural(s.files, 'file')}, ${plural(s.nodes, 'node')}${nested}, ${formatBytes(s.unpackedBytes)} unpacked, sha256 ${s.sha256}\n`;
  }
  const entry = verdict.entry !== undefined ? `\n    entry: ${verdict.entry}` : '';
  return `✖ ${file}: ${verdict.code}\n    ${verdict.message}${entry}\n    what to do: ${ERRORS[verdict.code].hint}\n`;
}
