import { parseArgs } from 'node:util';
import type { JobView } from '../../core/api-schemas';
import { formatDuration, plural, statusLabel } from '../../core/format';
import { EXIT, UsageError, type Command } from '../command';
import { formatAge } from '../job-display';
import { connect, EXIT_INTERRUPTED, REMOTE_FLAGS, withInterrupt, writeFailure, type RemoteDeps } from '../remote';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const MAX_NAME = 32;

const HELP = `Usage: k2p-web jobs [--profile NAME] [--api URL] [--json] [--limit N]

Lists your jobs (those of the API key), newest first.

Options:
  --profile <name>  a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  --limit <N>       how many jobs to show, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})
  --json            print one JSON object {ok, jobs}
  -h, --help        show this help

Exit status: 0 listed, 1 the service could not be used, 2 usage error.`;

export function createJobsCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'jobs',
    summary: 'list your jobs, newest first',
    help: HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        options: {
          ...REMOTE_FLAGS,
          limit: { type: 'string', default: String(DEFAULT_LIMIT) },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const limit = parseLimit(values.limit!);
      const connection = await connect({ api: values.api, key: values.key, profile: values.profile }, io, deps);
      const jobs: JobView[] = [];
      const listed = await withInterrupt(deps, async (signal) => {
        try {
          for await (const job of connection.client.iterateJobs({ max: limit }, { signal })) jobs.push(job);
          return EXIT.ok;
        } catch (error) {
          if (signal.aborted) return EXIT_INTERRUPTED;
          writeFailure(io, error, connection.target, values.json);
          return EXIT.failed;
        }
      });
      if (listed !== EXIT.ok) return listed;
      if (values.json) io.stdout.write(`${JSON.stringify({ ok: true, jobs })}\n`);
      else io.stdout.write(jobs.length === 0 ? 'No jobs yet for this API key.\n' : jobsTable(jobs, connection.clock.now()));
      return EXIT.ok;
    },
  };
}

export const jobsCommand = createJobsCommand();

function parseLimit(text: string): number {
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT} (got "${text}")`);
  return limit;
}

/** A plain table: aligned columns, no colours, so it reads the same in a terminal and a log. */
export function jobsTable(jobs: JobView[], nowMs: number): string {
  const header = ['JOB ID', 'STATUS', 'WORKFLOW', 'CREATED', 'TOOK', 'OUTCOME'];
  const rows = jobs.map((job) => [
    job.jobId,
    job.status,
    truncate(job.workflowName, MAX_NAME),
    formatAge(job.createdAt, nowMs),
    job.durationsMs.total !== undefined ? formatDuration(job.durationsMs.total) : '',
    outcome(job),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(format).join('\n')}\n`;
}

function outcome(job: JobView): string {
  if (job.result) {
    const r = job.result;
    const missing = r.notImplemented > 0 ? `, ${r.notImplemented} not implemented` : '';
    return `${plural(r.components, 'component')}, ${plural(r.nodes, 'node')}${missing}`;
  }
  if (job.error) return job.error.code;
  if (job.status === 'EXPIRED' && job.expiredReason) return job.expiredReason;
  return job.terminal ? '' : `${statusLabel(job.status)}…`;
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
