import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { UploadTicket } from '../../core/api-schemas';
import { GraphOptionSchema, WorkbookOptionSchema, type JobView } from '../../core/api-schemas';
import { isCapacityError, type ApiClient, type Clock } from '../../core/api-client';
import type { BundlerError } from '../../core/bundler';
import { formatBytes, plural } from '../../core/format';
import { ERRORS, isErrorCode } from '../../core/errors';
import { bundleLimitsFromEnv } from '../../core/limits';
import type { ManifestWarning, ValidationFailure } from '../../core/types';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
import { abandonJob, CAPACITY_WAIT_MS, createJobWaitingForCapacity, makeBundle, uploadBundle, type BundleOutcome } from '../conversion';
import { convertWorkspace, DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from '../convert-workspace';
import { capacityWaitPrinter, errorLines, field, resultLines, StageDisplay, UploadProgressDisplay, type Output } from '../job-display';
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
  targetLine,
  type Connection,
  type Downloaded,
  type RemoteDeps,
} from '../remote';
import { progressStream } from '../terminal';
import { discoverWorkflows } from '../workspace';

const HELP = `Usage: k2p-web convert <folder|.knwf|.zip> [--profile NAME] [--api URL] [-o out.zip] [--json]
                       [--workbook py|ipynb|both] [--graph json|dot|off|both] [--root <path>]
       k2p-web convert <input>... [--out DIR] [--concurrency N] [--json] [...]

Converts a KNIME workflow to Python with a k2p-web service: bundles the
workflow (workflow.knime + settings.xml files only; a .zip that already is a
valid bundle is uploaded as it is), creates a job, uploads the bundle, follows
the job (Uploading → Validating → Queued → Converting → Done) and downloads
result.zip (scripts, notebooks, graphs, report.json).

Several inputs, or a folder holding several workflows (a KNIME workspace),
convert every workflow found: each folder with a workflow.knime that is not
inside another workflow's folder (metanodes and components belong to their
workflow), and each .knwf export. They run a few at a time; each result is
written to the --out folder as <Workflow>-k2p.zip (-2, -3… when two workflows
share a name), then a summary table is printed: workflow, state, code, nodes,
nodes not converted, time.

Options:
  --profile <name>     a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>          the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>          the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  -o, --output <file>  where to write result.zip (a folder: the default name inside it)
                       (default: <Workflow>-k2p.zip in the current folder)
  --out <dir>          the folder for the results (default: the current folder)
  --concurrency <n>    workflows converted at once (default ${DEFAULT_CONCURRENCY}; lowered to the API key's
                       in-flight limit when the service names it)
  --workbook <kind>    py, ipynb or both (default both)
  --graph <kind>       json, dot, off or both (default both)
  --root <path>        the workflow folder to bundle when the input holds several
                       (converts only that one)
  --json               one workflow: print one JSON object {ok, input, output?, job?, error?} at the end;
                       several: one JSON object per workflow, one per line, instead of the table
  -h, --help           show this help

Progress goes to stderr: live lines on a terminal, one plain line per event
when stderr is not a terminal or TERM=dumb (NO_COLOR turns colours off).
When the service is busy (SERVER_BUSY, RATE_LIMITED) the command waits the
time the service asks for, counting down, for up to 10 minutes per workflow.
Ctrl-C while the job runs stops waiting, leaves the job running and tells you
how to check it later (\`k2p-web status <id>\`); with several workflows it
starts no more of them and lists the ones in flight.

Exit status: 0 every workflow SUCCEEDED, 1 a bundle or job failed (REJECTED,
FAILED, TIMED_OUT, EXPIRED) or the service could not be used, 2 usage error,
130 interrupted.`;

interface ConvertOptions {
  /** The first input (the one of today's single-workflow form). */
  input: string;
  inputs: string[];
  api?: string;
  key?: string;
  profile?: string;
  output?: string;
  outDir?: string;
  concurrency: number;
  json: boolean;
  workbook: 'py' | 'ipynb' | 'both';
  graph: 'json' | 'dot' | 'off' | 'both';
  root?: string;
}

export function createConvertCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'convert',
    summary: 'convert workflow folders, .knwf exports or bundles (or a whole workspace) with a k2p-web service',
    help: HELP,
    async run(args, io) {
      const options = parseOptions(args);
      for (const given of options.inputs)
        if (!(await stat(resolve(io.cwd, given)).catch(() => undefined))) throw new UsageError(`cannot find ${given}`);
      // --root names one workflow of one input: that is the single-workflow form, whatever the input holds.
      const workflows = options.root === undefined ? await discoverWorkflows(options.inputs, io.cwd) : [];
      if (options.inputs.length > 1 || workflows.length > 1) {
        if (options.output !== undefined) throw new UsageError('-o names one result file; give --out <folder> for several workflows');
        const connection = await connect(options, io, deps);
        const out = progressStream(io);
        out.write(`${targetLine(connection.target)}\n`);
        return withInterrupt(deps, (signal) =>
          convertWorkspace(connection, workflows, { ...options, outDir: resolve(io.cwd, options.outDir ?? '.') }, io, deps, signal),
        );
      }
      const only = workflows[0];
      // One workflow found below the input (e.g. the one export in a folder): convert that one.
      if (only && (only.path !== resolve(io.cwd, options.input) || only.root !== undefined))
        return convertOne({ ...options, input: only.label, ...(only.root !== undefined ? { root: only.root } : {}) }, io, deps);
      return convertOne(options, io, deps);
    },
  };
}

export const convertCommand = createConvertCommand();

async function convertOne(options: ConvertOptions, io: CliIO, deps: RemoteDeps): Promise<number> {
  const input = resolve(io.cwd, options.input);
  if (options.outDir !== undefined && options.output === undefined) {
    // --out names a folder: the result goes inside it under its usual name.
    await mkdir(resolve(io.cwd, options.outDir), { recursive: true });
    options = { ...options, output: options.outDir };
  }
  const connection = await connect(options, io, deps);
  const out = progressStream(io);
  out.write(`${targetLine(connection.target)}\n`);
  const bundle = await prepareBundle(input, options, io, out);
  if (!bundle.ok) {
    if (options.json) printJson(io, { ok: false, input: options.input, errors: bundle.errors });
    return EXIT.failed;
  }
  return withInterrupt(deps, (signal) => new Conversion(connection, bundle, options, io, out, deps, signal).run());
}

function parseOptions(args: string[]): ConvertOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...REMOTE_FLAGS,
      output: { type: 'string', short: 'o' },
      out: { type: 'string' },
      concurrency: { type: 'string' },
      workbook: { type: 'string', default: 'both' },
      graph: { type: 'string', default: 'both' },
      root: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0)
    throw new UsageError('give a workflow folder, .knwf or bundle .zip to convert (or several, or a folder of workflows)');
  if (values.root !== undefined && positionals.length > 1) throw new UsageError('--root picks a workflow inside one input; give only one');
  const workbook = WorkbookOptionSchema.safeParse(values.workbook);
  if (!workbook.success) throw new UsageError(`--workbook must be py, ipynb or both (got "${values.workbook}")`);
  const graph = GraphOptionSchema.safeParse(values.graph);
  if (!graph.success) throw new UsageError(`--graph must be json, dot, off or both (got "${values.graph}")`);
  if (values.output === '') throw new UsageError('-o needs a file name');
  if (values.out === '') throw new UsageError('--out needs a folder');
  return {
    input: positionals[0]!,
    inputs: positionals,
    json: values.json ?? false,
    workbook: workbook.data,
    graph: graph.data,
    concurrency: parseConcurrency(values.concurrency),
    ...(values.api !== undefined ? { api: values.api } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.output !== undefined ? { output: values.output } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(values.root !== undefined ? { root: values.root } : {}),
  };
}

function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_CONCURRENCY)
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY} (got "${value}")`);
  return n;
}

function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

type PreparedBundle = BundleOutcome;

/** The bytes to upload, saying what went in (or why nothing can). */
async function prepareBundle(input: string, options: ConvertOptions, io: CliIO, out: Output): Promise<PreparedBundle> {
  const bundle = await makeBundle(input, {
    limits: bundleLimitsFromEnv(io.env),
    ...(options.root !== undefined ? { root: options.root } : {}),
  });
  if (!bundle.ok) return bundleFailed(io, options.input, bundle.errors, bundle.verdict);
  if (bundle.asIs) {
    const bytes = formatBytes(bundle.bytes.length);
    out.write(`Bundle ${options.input}: valid as it is (${plural(bundle.files, 'file')}, ${plural(bundle.nodes, 'node')}, ${bytes})\n`);
    return bundle;
  }
  const verdict = bundle.verdict;
  out.write(
    `Bundled ${bundle.workflowName}: ${plural(bundle.files, 'file')}, ${plural(bundle.nodes, 'node')}, ${formatBytes(bundle.bytes.length)}${verdict ? ` (${options.input} is not a bundle as it is: ${verdict.code})` : ''}\n`,
  );
  printWarnings(io, bundle.warnings);
  return bundle;
}

function printWarnings(io: CliIO, warnings: ManifestWarning[]): void {
  for (const warning of warnings) io.stderr.write(`  ! ${warning.kind}: ${warning.message}\n`);
}

function bundleFailed(
  io: CliIO,
  input: string,
  errors: (BundlerError | { code: string; message: string })[],
  verdict?: ValidationFailure,
): PreparedBundle {
  io.stderr.write(`k2p-web convert: cannot bundle ${input}; nothing was uploaded:\n`);
  if (verdict)
    io.stderr.write(`  ✖ as a bundle: ${verdict.code}: ${verdict.message}${verdict.entry ? ` (entry: ${verdict.entry})` : ''}\n`);
  for (const error of errors) {
    io.stderr.write(`  ✖ ${error.code}: ${error.message}\n`);
    if (isErrorCode(error.code)) io.stderr.write(`    what to do: ${ERRORS[error.code].hint}\n`);
  }
  return { ok: false, errors: [...(verdict ? [{ code: verdict.code, message: verdict.message }] : []), ...errors] };
}

type Phase = 'create' | 'upload' | 'follow' | 'download';

/** One conversion against the service, phase by phase, so Ctrl-C and failures can say exactly where things stand. */
class Conversion {
  private phase: Phase = 'create';
  private job: JobView | undefined;
  private readonly client: ApiClient;
  private readonly clock: Clock;
  private readonly stages: StageDisplay;

  constructor(
    private readonly connection: Connection,
    private readonly bundle: Extract<PreparedBundle, { ok: true }>,
    private readonly options: ConvertOptions,
    private readonly io: CliIO,
    private readonly out: Output,
    private readonly deps: RemoteDeps,
    private readonly signal: AbortSignal,
  ) {
    this.client = connection.client;
    this.clock = connection.clock;
    this.stages = new StageDisplay(out, this.clock);
  }

  async run(): Promise<number> {
    try {
      const created = await this.create();
      if (created.upload) await this.upload(created.upload);
      this.phase = 'follow';
      const final = await this.follow();
      if (final.status !== 'SUCCEEDED') return this.jobFailed(final);
      this.phase = 'download';
      const downloaded = await downloadResult(this.client, final, {
        cwd: this.io.cwd,
        clock: this.clock,
        signal: this.signal,
        ...(this.options.output !== undefined ? { output: this.options.output } : {}),
        ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
        ...(this.deps.random ? { random: this.deps.random } : {}),
      });
      return await this.succeeded(final, downloaded);
    } catch (error) {
      this.stages.stop();
      if (this.signal.aborted) return this.interrupted();
      return this.clientFailed(error);
    }
  }

  private async create() {
    const created = await createJobWaitingForCapacity(this.client, this.bundle, this.options, this.signal, capacityWaitPrinter(this.out));
    this.job = created.job;
    this.out.write(`Job ${created.job.jobId} (${created.job.workflowName})${created.replayed ? ' — resumed' : ''}\n`);
    return created;
  }

  private async upload(ticket: UploadTicket): Promise<void> {
    this.phase = 'upload';
    const progress = new UploadProgressDisplay(this.out, this.clock);
    const started = this.clock.now();
    progress.start(this.bundle.bytes.length);
    try {
      await uploadBundle(ticket, this.bundle, {
        signal: this.signal,
        clock: this.clock,
        ...(this.deps.random ? { random: this.deps.random } : {}),
        onProgress: (loaded, total) => progress.update(loaded, total),
        onRetry: (error, delay) => {
          progress.clear();
          this.out.write(`! ${error.message} Retrying in ${Math.round(delay / 1000)} s.\n`);
        },
      });
    } finally {
      progress.clear();
    }
    this.stages.uploadDone(this.bundle.bytes.length, this.clock.now() - started);
  }

  private follow(): Promise<JobView> {
    return this.client.followJob(this.job!.jobId, {
      signal: this.signal,
      onUpdate: (job) => {
        this.job = job;
        this.stages.update(job);
      },
      onRetry: (retry) => this.stages.retry(retry),
    });
  }

  private async succeeded(job: JobView, downloaded: Downloaded): Promise<number> {
    if (this.options.json) {
      printJson(this.io, { ok: true, input: this.options.input, output: downloaded.path, bytes: downloaded.bytes, job });
      return EXIT.ok;
    }
    const components = await readReportComponents(downloaded.path);
    const lines = [
      `✔ Wrote ${displayPath(this.io.cwd, downloaded.path)} (${formatBytes(downloaded.bytes)})`,
      ...resultLines(job, components),
      `${field('Job')}${job.jobId}`,
    ];
    this.io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  }

  private jobFailed(job: JobView): number {
    if (this.options.json)
      printJson(this.io, {
        ok: false,
        input: this.options.input,
        job,
        error: job.error ?? { code: job.status, message: `The job ended ${job.status}.` },
      });
    else this.io.stderr.write(`${errorLines(job).join('\n')}\n`);
    return EXIT.failed;
  }

  private async clientFailed(error: unknown): Promise<number> {
    const cleanup = this.phase === 'upload' ? await this.abandonJob() : undefined;
    const lines = failureLines(error, this.connection.target);
    if (isCapacityError(error)) lines.push(`  gave up after waiting up to ${CAPACITY_WAIT_MS / 60_000} minutes; try again later.`);
    if (cleanup) lines.push(`  ${cleanup}`);
    else if (this.job && this.phase !== 'create')
      lines.push(`  job: ${this.job.jobId} — check it with \`k2p-web status ${this.job.jobId}\``);
    if (this.options.json) {
      const envelope = { code: failureCode(error), message: (error as Error).message };
      printJson(this.io, { ok: false, input: this.options.input, ...(this.job ? { jobId: this.job.jobId } : {}), error: envelope });
    } else {
      this.io.stderr.write(`${lines.join('\n')}\n`);
    }
    return EXIT.failed;
  }

  private async interrupted(): Promise<number> {
    const id = this.job?.jobId;
    let message: string;
    if (!id) message = 'Interrupted before a job was created.';
    else if (this.phase === 'upload') message = `Interrupted during the upload. ${await this.abandonJob()}`;
    else {
      message =
        `Stopped waiting. Job ${id} keeps running on the server.\n` +
        `Check it with \`k2p-web status ${id}\` (add --wait to follow it, -o <file> to download the result).`;
    }
    if (this.options.json)
      printJson(this.io, {
        ok: false,
        interrupted: true,
        input: this.options.input,
        ...(id ? { jobId: id, status: this.job!.status } : {}),
      });
    this.io.stderr.write(`\n${message}\n`);
    return EXIT_INTERRUPTED;
  }

  private abandonJob(): Promise<string> {
    return abandonJob(this.client, this.job!.jobId);
  }
}
