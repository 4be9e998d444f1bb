/** `k2p-web logs <job-id>`: writes the job's conversion log (GET /jobs/{id}/logs) to stdout, as it is. */
import { parseArgs } from 'node:util';
import { JOB_ID_PATTERN } from '../../core/api-schemas';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
import { connect, EXIT_INTERRUPTED, failureLines, withInterrupt, type Connection, type RemoteDeps } from '../remote';

const HELP = `Usage: k2p-web logs <job-id> [--profile NAME] [--api URL]

Writes the job's conversion log to stdout: the knime2py command, what it
printed (standard error and output) and how it ended, and the runner's own
lines — scrubbed of secrets, at most 1 MiB (the beginning and the end of a
longer one). A job has a log once its conversion ran, for as long as its
result is kept.

Options:
  --profile <name>  a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  -h, --help        show this help

Exit status: 0 the log was written, 1 no such job, no log (LOG_NOT_AVAILABLE)
or the service could not be used, 2 usage error, 130 interrupted.`;

/** The one positional argument, a job id; the API flags. */
function parseOptions(args: string[]): { jobId: string; api?: string; key?: string; profile?: string } {
  const { values, positionals } = parseArgs({
    args,
    options: { api: { type: 'string' }, key: { type: 'string' }, profile: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one job id');
  const jobId = positionals[0]!;
  if (!JOB_ID_PATTERN.test(jobId)) throw new UsageError(`"${jobId}" is not a job id (8–64 letters, digits, _ or -)`);
  return { jobId, ...values };
}

/** Writes the log to stdout; a refusal (no such job, no log) is explained on stderr. */
async function printLog(connection: Connection, jobId: string, io: CliIO, signal: AbortSignal): Promise<number> {
  try {
    io.stdout.write(await connection.client.getJobLog(jobId, { signal }));
    return EXIT.ok;
  } catch (error) {
    if (signal.aborted) return EXIT_INTERRUPTED;
    io.stderr.write(`${failureLines(error, connection.target).join('\n')}\n`);
    return EXIT.failed;
  }
}

export function createLogsCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'logs',
    summary: "write a job's conversion log (what knime2py printed) to stdout",
    help: HELP,
    async run(args, io) {
      const { jobId, ...flags } = parseOptions(args);
      const connection = await connect(flags, io, deps);
      return withInterrupt(deps, (signal) => printLog(connection, jobId, io, signal));
    },
  };
}

export const logsCommand = createLogsCommand();
