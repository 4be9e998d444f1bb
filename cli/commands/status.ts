import { parseArgs } from 'node:util';
import { JOB_ID_PATTERN, type JobView } from '../../core/api-schemas';
import { formatBytes, plural, statusLabel } from '../../core/format';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
import { progressStream } from '../terminal';
import { durationsLine, errorLines, formatAge, resultLines, StageDisplay } from '../job-display';
import {
  connect,
  displayPath,
  downloadResult,
  EXIT_INTERRUPTED,
  failureCode,
  failureLines,
  REMOTE_FLAGS,
  withInterrupt,
  readReportComponents,
  type Connection,
  type Downloaded,
  type RemoteDeps,
} from '../remote';

const HELP = `Usage: k2p-web status <job-id> [--profile NAME] [--api URL] [--json] [--wait] [-o out.zip]

Shows one of your jobs: status, stage, durations, bundle, result report or
error (with what to do about it).

Options:
  --profile <name>     a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>          the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>          the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  --wait               follow the job until it ends (Ctrl-C stops waiting, not the job)
  -o, --output <file>  download result.zip of a SUCCEEDED job (a folder: the default name inside it)
  --json               print one JSON object {ok, job, output?}
  -h, --help           show this help

Exit status: 0 the job was shown (with --wait: it SUCCEEDED), 1 no such job,
the service could not be used, or (with --wait / -o) the job did not succeed,
2 usage error, 130 interrupted.`;

interface StatusOptions {
  jobId: string;
  api?: string;
  key?: string;
  profile?: string;
  output?: string;
  json: boolean;
  wait: boolean;
}

export function createStatusCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'status',
    summary: 'show one job (--wait follows it to the end, -o downloads its result)',
    help: HELP,
    async run(args, io) {
      const options = parseOptions(args);
      const connection = await connect(options, io, deps);
      return withInterrupt(deps, (signal) => showStatus(connection, options, io, deps, signal));
    },
  };
}

export const statusCommand = createStatusCommand();

function parseOptions(args: string[]): StatusOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...REMOTE_FLAGS,
      output: { type: 'string', short: 'o' },
      wait: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one job id');
  const jobId = positionals[0]!;
  if (!JOB_ID_PATTERN.test(jobId)) throw new UsageError(`"${jobId}" is not a job id (8–64 letters, digits, _ or -)`);
  if (values.output === '') throw new UsageError('-o needs a file name');
  return {
    jobId,
    json: values.json ?? false,
    wait: values.wait ?? false,
    ...(values.api !== undefined ? { api: values.api } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.output !== undefined ? { output: values.output } : {}),
  };
}

async function showStatus(
  connection: Connection,
  options: StatusOptions,
  io: CliIO,
  deps: RemoteDeps,
  signal: AbortSignal,
): Promise<number> {
  const { client, clock } = connection;
  let job: JobView | undefined;
  try {
    job = await client.getJob(options.jobId, { signal });
    if (options.wait && !job.terminal) job = await follow(connection, job, options, io, signal);
    const downloaded =
      options.output !== undefined && job.status === 'SUCCEEDED' ? await download(connection, job, options, io, deps, signal) : undefined;
    await print(io, options, job, downloaded, clock.now());
    return exitCode(job, options);
  } catch (error) {
    if (signal.aborted) {
      io.stderr.write(
        `\nStopped waiting. Job ${options.jobId} keeps running on the server; run \`k2p-web status ${options.jobId}\` again to check it.\n`,
      );
      return EXIT_INTERRUPTED;
    }
    if (options.json)
      printJson(io, {
        ok: false,
        jobId: options.jobId,
        ...(job ? { job } : {}),
        error: { code: failureCode(error), message: (error as Error).message },
      });
    else io.stderr.write(`${failureLines(error, connection.target).join('\n')}\n`);
    return EXIT.failed;
  }
}

function follow(connection: Connection, job: JobView, options: StatusOptions, io: CliIO, signal: AbortSignal): Promise<JobView> {
  const out = progressStream(io);
  const stages = new StageDisplay(out, connection.clock, { startStatus: job.status, startedAt: Date.parse(job.createdAt) });
  stages.update(job);
  return connection.client
    .followJob(job.jobId, { signal, onUpdate: (update) => stages.update(update), onRetry: (retry) => stages.retry(retry) })
    .finally(() => stages.stop());
}

function download(
  connection: Connection,
  job: JobView,
  options: StatusOptions,
  io: CliIO,
  deps: RemoteDeps,
  signal: AbortSignal,
): Promise<Downloaded> {
  return downloadResult(connection.client, job, {
    output: options.output,
    cwd: io.cwd,
    clock: connection.clock,
    signal,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
}

function exitCode(job: JobView, options: StatusOptions): number {
  const wantsOutcome = options.wait || options.output !== undefined;
  return wantsOutcome && job.status !== 'SUCCEEDED' ? EXIT.failed : EXIT.ok;
}

function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

async function print(io: CliIO, options: StatusOptions, job: JobView, downloaded: Downloaded | undefined, nowMs: number): Promise<void> {
  if (options.json) {
    printJson(io, {
      ok: exitCode(job, options) === EXIT.ok,
      job,
      ...(downloaded ? { output: downloaded.path, bytes: downloaded.bytes } : {}),
    });
    return;
  }
  const components = downloaded ? await readReportComponents(downloaded.path) : undefined;
  const lines = detailLines(job, nowMs, components);
  if (downloaded) lines.push(`✔ Wrote ${displayPath(io.cwd, downloaded.path)} (${formatBytes(downloaded.bytes)})`);
  else if (options.output !== undefined) lines.push(`✖ No result to download: the job is ${job.status}.`);
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function detailLines(job: JobView, nowMs: number, components?: Parameters<typeof resultLines>[1]): string[] {
  const row = (name: string, value: string) => `${name.padEnd(12)}${value}`;
  const stage = job.terminal ? '' : ` — ${statusLabel(job.status)}`;
  const lines = [
    row('Job', job.jobId),
    row('Workflow', `${job.workflowName}${job.filename && job.filename !== job.workflowName ? ` (${job.filename})` : ''}`),
    row('Status', `${job.status}${stage}`),
    row('Created', `${formatAge(job.createdAt, nowMs)} (${job.createdAt})`),
    row('Options', `workbook ${job.options.workbook}, graph ${job.options.graph}`),
  ];
  const durations = durationsLine(job);
  if (durations) lines.push(row('Durations', durations));
  if (job.bundle) {
    const b = job.bundle;
    lines.push(
      row('Bundle', `${plural(b.files, 'file')}, ${plural(b.nodes, 'node')}, ${formatBytes(b.zipBytes)}, sha256 ${b.sha256.slice(0, 12)}…`),
    );
  }
  if (job.converter?.version) lines.push(row('Converter', `knime2py ${job.converter.version}`));
  if (job.uploadExpiresAt && job.status === 'AWAITING_UPLOAD') lines.push(row('Upload by', job.uploadExpiresAt));
  if (job.result) {
    lines.push('Result', ...resultLines(job, components));
    if (job.result.expiresAt)
      lines.push(row('Available', `until ${job.result.expiresAt}; download with \`k2p-web status ${job.jobId} -o <file>\``));
  }
  if (job.terminal && job.status !== 'SUCCEEDED') lines.push(...errorLines(job));
  return lines;
}
