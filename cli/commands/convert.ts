import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { UploadTicket } from '../../core/api-schemas';
import { GraphOptionSchema, WorkbookOptionSchema, type JobView } from '../../core/api-schemas';
import { backoffDelay, isCapacityError, type ApiClient, type Clock } from '../../core/api-client';
import { buildBundle, type BundlerError } from '../../core/bundler';
import { formatBytes, plural } from '../../core/format';
import { ERRORS, isErrorCode } from '../../core/errors';
import { bundleLimitsFromEnv, type BundleLimits } from '../../core/limits';
import { openBundleSource } from '../../core/node/bundle-source';
import { uploadToPresignedPost, UploadError } from '../../core/node/upload';
import { validateBundleFile } from '../../core/node/validate-bundle';
import type { ManifestWarning, ValidationFailure } from '../../core/types';
import { ZipReadError } from '../../core/zip-read';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
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

/** Longest total wait for capacity (SERVER_BUSY / RATE_LIMITED) before giving up. */
const CAPACITY_WAIT_MS = 10 * 60_000;
const UPLOAD_ATTEMPTS = 3;
/** Time allowed to delete a job whose upload was abandoned (frees its capacity slot at once). */
const CLEANUP_TIMEOUT_MS = 5000;

const HELP = `Usage: k2p-web convert <folder|.knwf|.zip> [--api URL] [--key KEY] [-o out.zip] [--json]
                       [--workbook py|ipynb|both] [--graph json|dot|off|both] [--root <path>]

Converts a KNIME workflow to Python with a k2p-web service: bundles the
workflow (workflow.knime + settings.xml files only; a .zip that already is a
valid bundle is uploaded as it is), creates a job, uploads the bundle, follows
the job (Uploading → Validating → Queued → Converting → Done) and downloads
result.zip (scripts, notebooks, graphs, report.json).

Options:
  --api <url>          the API's base URL (default: $K2P_API_URL, else the running local stack)
  --key <key>          the API key (default: $K2P_API_KEY, else the local stack's CLI key)
  -o, --output <file>  where to write result.zip (a folder: the default name inside it)
                       (default: <Workflow>-k2p.zip in the current folder)
  --workbook <kind>    py, ipynb or both (default both)
  --graph <kind>       json, dot, off or both (default both)
  --root <path>        the workflow folder to bundle when the input holds several
  --json               print one JSON object {ok, input, output?, job?, error?} at the end
                       (progress goes to stderr)
  -h, --help           show this help

When the service is busy (SERVER_BUSY, RATE_LIMITED) the command waits the
time the service asks for, counting down, for up to 10 minutes.
Ctrl-C while the job runs stops waiting, leaves the job running and tells you
how to check it later (\`k2p-web status <id>\`).

Exit status: 0 SUCCEEDED, 1 the bundle or job failed (REJECTED, FAILED,
TIMED_OUT, EXPIRED) or the service could not be used, 2 usage error,
130 interrupted.`;

interface ConvertOptions {
  input: string;
  api?: string;
  key?: string;
  output?: string;
  json: boolean;
  workbook: 'py' | 'ipynb' | 'both';
  graph: 'json' | 'dot' | 'off' | 'both';
  root?: string;
}

export function createConvertCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'convert',
    summary: 'convert a workflow folder, .knwf or bundle with a k2p-web service and download the Python result',
    help: HELP,
    async run(args, io) {
      const options = parseOptions(args);
      const input = resolve(io.cwd, options.input);
      if (!(await stat(input).catch(() => undefined))) throw new UsageError(`cannot find ${options.input}`);
      const connection = await connect(options, io, deps);
      const out = progressOutput(io, options.json);
      out.write(`${targetLine(connection.target)}\n`);
      const bundle = await prepareBundle(input, options, io, out);
      if (!bundle.ok) {
        if (options.json) printJson(io, { ok: false, input: options.input, errors: bundle.errors });
        return EXIT.failed;
      }
      return withInterrupt(deps, (signal) => new Conversion(connection, bundle, options, io, out, deps, signal).run());
    },
  };
}

export const convertCommand = createConvertCommand();

function parseOptions(args: string[]): ConvertOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...REMOTE_FLAGS,
      output: { type: 'string', short: 'o' },
      workbook: { type: 'string', default: 'both' },
      graph: { type: 'string', default: 'both' },
      root: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one workflow folder, .knwf or bundle .zip to convert');
  const workbook = WorkbookOptionSchema.safeParse(values.workbook);
  if (!workbook.success) throw new UsageError(`--workbook must be py, ipynb or both (got "${values.workbook}")`);
  const graph = GraphOptionSchema.safeParse(values.graph);
  if (!graph.success) throw new UsageError(`--graph must be json, dot, off or both (got "${values.graph}")`);
  if (values.output === '') throw new UsageError('-o needs a file name');
  return {
    input: positionals[0]!,
    json: values.json ?? false,
    workbook: workbook.data,
    graph: graph.data,
    ...(values.api !== undefined ? { api: values.api } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(values.output !== undefined ? { output: values.output } : {}),
    ...(values.root !== undefined ? { root: values.root } : {}),
  };
}

/** Progress and "using …" lines: stdout normally; stderr with --json, whose stdout holds only the final object. */
function progressOutput(io: CliIO, json: boolean): Output {
  return json ? (io.stderr as Output) : io.stdout;
}

function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

type PreparedBundle =
  | { ok: true; bytes: Uint8Array; filename: string; asIs: boolean; files: number; nodes: number }
  | { ok: false; errors: { code: string; message: string; path?: string }[] };

/** The bytes to upload: a valid bundle .zip as it is, anything else through the bundler. */
async function prepareBundle(input: string, options: ConvertOptions, io: CliIO, out: Output): Promise<PreparedBundle> {
  const limits = bundleLimitsFromEnv(io.env);
  const info = await stat(input);
  let verdict: ValidationFailure | undefined;
  if (info.isFile() && /\.zip$/i.test(input) && options.root === undefined) {
    const checked = await validateBundleFile(input, limits);
    if (checked.ok) {
      out.write(
        `Bundle ${options.input}: valid as it is (${plural(checked.stats.files, 'file')}, ${plural(checked.stats.nodes, 'node')}, ${formatBytes(checked.stats.zipBytes)})\n`,
      );
      const bytes = new Uint8Array(await readFile(input));
      return { ok: true, bytes, filename: basename(input), asIs: true, files: checked.stats.files, nodes: checked.stats.nodes };
    }
    // Not a bundle as it stands (e.g. a zipped workflow folder with data): bundle what it holds.
    verdict = checked;
  }
  return bundleWorkflow(input, options, limits, io, verdict);
}

async function bundleWorkflow(
  input: string,
  options: ConvertOptions,
  limits: BundleLimits,
  io: CliIO,
  verdict?: ValidationFailure,
): Promise<PreparedBundle> {
  let source;
  try {
    source = await openBundleSource(input, { limits });
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    return bundleFailed(io, options.input, [{ code: error.code, message: error.message }], verdict);
  }
  try {
    const result = await buildBundle(source.files, {
      limits,
      sourceName: source.name,
      ...(options.root !== undefined ? { root: options.root } : {}),
    });
    if (!result.ok) return bundleFailed(io, options.input, result.errors, verdict);
    const out = progressOutput(io, options.json);
    const t = result.manifest.totals;
    out.write(
      `Bundled ${result.manifest.workflowName}: ${plural(t.present, 'file')}, ${plural(t.nodes, 'node')}, ${formatBytes(result.zip.length)}${verdict ? ` (${options.input} is not a bundle as it is: ${verdict.code})` : ''}\n`,
    );
    printWarnings(io, result.manifest.warnings);
    return { ok: true, bytes: result.zip, filename: result.manifest.workflowName, asIs: false, files: t.present, nodes: t.nodes };
  } finally {
    await source.close();
  }
}

function printWarnings(io: CliIO, warnings: ManifestWarning[]): void {
  for (const warning of warnings) io.stderr.write(`  ! ${warning.kind}: ${warning.message}\n`);
}

function bundleFailed(
  io: CliIO,
  input: string,
  errors: BundlerError[] | { code: string; message: string }[],
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

  /** POST /jobs, waiting out SERVER_BUSY/RATE_LIMITED; one Idempotency-Key for every try, so at most one job exists. */
  private async create() {
    const idempotencyKey = `k2p-cli-${crypto.randomUUID()}`;
    const request = {
      filename: this.bundle.filename,
      sizeBytes: this.bundle.bytes.length,
      options: { workbook: this.options.workbook, graph: this.options.graph },
    };
    const created = await this.client.withCapacityRetry(() => this.client.createJob(request, { idempotencyKey, signal: this.signal }), {
      onWait: capacityWaitPrinter(this.out),
      signal: this.signal,
      maxWaitMs: CAPACITY_WAIT_MS,
    });
    this.job = created.job;
    this.out.write(`Job ${created.job.jobId} (${created.job.workflowName})${created.replayed ? ' — resumed' : ''}\n`);
    return created;
  }

  private async upload(ticket: UploadTicket): Promise<void> {
    this.phase = 'upload';
    const progress = new UploadProgressDisplay(this.out, this.clock);
    const started = this.clock.now();
    progress.start(this.bundle.bytes.length);
    for (let attempt = 1; ; attempt++) {
      try {
        await uploadToPresignedPost({ ...ticket }, this.bundle.bytes, {
          signal: this.signal,
          filename: `${this.bundle.filename.replace(/\.zip$/i, '')}.zip`,
          onProgress: ({ loaded, total }) => progress.update(loaded, total),
        });
        break;
      } catch (error) {
        progress.clear();
        if (this.signal.aborted || !(error instanceof UploadError) || !error.isNetwork || attempt >= UPLOAD_ATTEMPTS) throw error;
        const delay = backoffDelay(attempt, 1000, 8000, this.deps.random);
        this.out.write(`! ${error.message} Retrying in ${Math.round(delay / 1000)} s.\n`);
        await this.clock.sleep(delay, this.signal);
      }
    }
    progress.clear();
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

  /** A job whose bundle never arrives holds a capacity slot until its upload window ends: free it now. */
  private async abandonJob(): Promise<string> {
    const id = this.job!.jobId;
    try {
      await this.client.deleteJob(id, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) });
      return `Job ${id} was deleted (nothing was converted).`;
    } catch {
      return `Job ${id} could not be deleted; it expires on its own when its upload window ends.`;
    }
  }
}
