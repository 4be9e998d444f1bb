/**
 * `k2p-web convert` for many workflows: at most `concurrency` of them are
 * between bundling and download at any time (so at most that many of the
 * caller's jobs are in flight on the service, never more than the in-flight
 * limit the service names in a RATE_LIMITED refusal), a refusal for capacity
 * is waited out and retried, never counted as a failure, and every workflow
 * ends as exactly one outcome: a summary row on stdout (or one JSON line).
 * Progress goes to stderr only.
 */
import { join } from 'node:path';
import { ApiError, isCapacityError, type CapacityWait } from '../core/api-client';
import type { JobView } from '../core/api-schemas';
import { formatDuration, plural, statusLabel } from '../core/format';
import { bundleLimitsFromEnv } from '../core/limits';
import { EXIT, type CliIO } from './command';
import { abandonJob, CAPACITY_WAIT_MS, createJobWaitingForCapacity, makeBundle, uploadBundle, type JobRequestOptions } from './conversion';
import { failureCode, displayPath, downloadResult, EXIT_INTERRUPTED, type Connection, type RemoteDeps } from './remote';
import { progressStream, type ProgressOutput } from './terminal';
import type { WorkflowInput } from './workspace';

export const DEFAULT_CONCURRENCY = 3;
/** A bound on --concurrency well above any API key's in-flight limit: a typo should not open hundreds of uploads. */
export const MAX_CONCURRENCY = 50;

export interface WorkspaceOptions extends JobRequestOptions {
  /** Absolute folder the results are written to. */
  outDir: string;
  concurrency: number;
  json: boolean;
}

/** How one workflow ended: a job state, or what happened on this side. */
export type OutcomeState = JobView['status'] | 'ERROR' | 'INTERRUPTED' | 'NOT_STARTED';

export interface WorkflowOutcome {
  ok: boolean;
  workflow: string;
  /** The folder or archive it came from, as given. */
  input: string;
  state: OutcomeState;
  code?: string;
  message?: string;
  jobId?: string;
  nodes?: number;
  /** Nodes knime2py has no implementation for (job result), by count and by name. */
  notConverted?: number;
  notConvertedNames?: string[];
  /** From the start of its bundling to its outcome. */
  seconds: number;
  /** The result file written (SUCCEEDED only). */
  output?: string;
  /** false when the bundle was refused here, before anything was uploaded. */
  uploaded: boolean;
}

/** Converts the workflows and prints the summary; the exit status says whether every one SUCCEEDED. */
export async function convertWorkspace(
  connection: Connection,
  workflows: readonly WorkflowInput[],
  options: WorkspaceOptions,
  io: CliIO,
  deps: RemoteDeps,
  signal: AbortSignal,
): Promise<number> {
  const progress = new WorkspaceProgress(progressStream(io), workflows, connection.clock);
  progress.note(
    `Converting ${plural(workflows.length, 'workflow')}, ${Math.min(options.concurrency, workflows.length)} at a time, into ${displayPath(io.cwd, options.outDir) || '.'}`,
  );
  let limit = options.concurrency;
  const onLimit = (named: number) => {
    if (named < limit) progress.note(`The service allows this API key ${plural(named, 'job')} in flight: converting ${named} at a time.`);
    limit = Math.max(1, Math.min(limit, named));
  };
  const outcomes = await runBounded(
    workflows.length,
    () => limit,
    signal,
    (index) => convertWorkflow(connection, workflows[index]!, index, { options, io, deps, signal, progress, onLimit }),
  );
  progress.stop();
  const all = workflows.map((workflow, index) => outcomes[index] ?? notStarted(workflow));
  printSummary(io, all, options);
  if (signal.aborted) {
    io.stderr.write(`\n${interruptedLines(all).join('\n')}\n`);
    return EXIT_INTERRUPTED;
  }
  return all.every((outcome) => outcome.ok) ? EXIT.ok : EXIT.failed;
}

/**
 * Runs task(0…count-1), at most limit() at once, starting none after the
 * signal is aborted; resolves with each started task's result once all have ended.
 */
export function runBounded<T>(
  count: number,
  limit: () => number,
  signal: AbortSignal,
  task: (index: number) => Promise<T>,
): Promise<(T | undefined)[]> {
  const results: (T | undefined)[] = new Array<T | undefined>(count).fill(undefined);
  let next = 0;
  let running = 0;
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (!signal.aborted && running < limit() && next < count) {
        const index = next++;
        running += 1;
        task(index)
          .then((result) => {
            results[index] = result;
          })
          .catch(reject)
          .finally(() => {
            running -= 1;
            pump();
          });
      }
      if (running === 0 && (next >= count || signal.aborted)) resolve(results);
    };
    pump();
  });
}

interface WorkflowContext {
  options: WorkspaceOptions;
  io: CliIO;
  deps: RemoteDeps;
  signal: AbortSignal;
  progress: WorkspaceProgress;
  onLimit: (limit: number) => void;
}

/** One workflow from bundle to result file; never throws: every ending is an outcome. */
async function convertWorkflow(
  connection: Connection,
  workflow: WorkflowInput,
  index: number,
  context: WorkflowContext,
): Promise<WorkflowOutcome> {
  const { client, clock } = connection;
  const { options, signal, progress } = context;
  const started = clock.now();
  const base = { workflow: workflow.name, input: workflow.label };
  const seconds = () => Math.round((clock.now() - started) / 100) / 10;
  let job: JobView | undefined;
  let phase: 'bundle' | 'create' | 'upload' | 'follow' | 'download' = 'bundle';
  const finish = (outcome: Omit<WorkflowOutcome, 'seconds' | 'input' | 'workflow'>): WorkflowOutcome => {
    const done = { ...base, ...outcome, seconds: seconds() };
    progress.done(index, done);
    return done;
  };
  try {
    progress.update(index, 'Bundling');
    const bundle = await makeBundle(workflow.path, {
      limits: bundleLimitsFromEnv(context.io.env),
      ...(workflow.root !== undefined ? { root: workflow.root } : {}),
    });
    if (!bundle.ok) {
      const first = bundle.errors[0] ?? bundle.verdict;
      return finish({ ok: false, state: 'REJECTED', uploaded: false, ...(first ? { code: first.code, message: first.message } : {}) });
    }
    // Data files left out are the rule in a workspace, not news; anything else is worth a look.
    for (const warning of bundle.warnings.filter((w) => w.kind !== 'FILES_SKIPPED'))
      progress.warn(index, `${warning.kind}: ${warning.message}`);
    phase = 'create';
    progress.update(index, 'Creating the job');
    const created = await createJobWaitingForCapacity(client, bundle, options, signal, (wait) => {
      const details = wait.error.details as { limit?: unknown; period?: unknown } | undefined;
      // Only the in-flight limit bounds concurrency; a daily count (`period`) does not.
      if (wait.code === 'RATE_LIMITED' && typeof details?.limit === 'number' && details.period === undefined)
        context.onLimit(details.limit);
      progress.waiting(index, wait);
    });
    job = created.job;
    if (created.upload) {
      phase = 'upload';
      progress.update(index, `${statusLabel('AWAITING_UPLOAD')} (job ${job.jobId})`);
      await uploadBundle(created.upload, bundle, { signal, clock, ...(context.deps.random ? { random: context.deps.random } : {}) });
    }
    phase = 'follow';
    const final = await client.followJob(job.jobId, {
      signal,
      onUpdate: (update) => {
        job = update;
        if (!update.terminal) progress.update(index, `${statusLabel(update.status)} (job ${update.jobId})`);
      },
    });
    job = final;
    const counts = resultCounts(final, bundle.nodes);
    if (final.status !== 'SUCCEEDED')
      return finish({ ok: false, state: final.status, jobId: final.jobId, uploaded: true, ...counts, ...errorOf(final) });
    phase = 'download';
    const output = join(options.outDir, workflow.resultName);
    const downloaded = await client.withCapacityRetry(
      () =>
        downloadResult(client, final, {
          output,
          cwd: context.io.cwd,
          clock,
          signal,
          ...(context.deps.fetch ? { fetch: context.deps.fetch } : {}),
          ...(context.deps.random ? { random: context.deps.random } : {}),
        }),
      { signal, maxWaitMs: CAPACITY_WAIT_MS, onWait: (wait) => progress.waiting(index, wait) },
    );
    return finish({ ok: true, state: 'SUCCEEDED', jobId: final.jobId, uploaded: true, ...counts, output: downloaded.path });
  } catch (error) {
    const id = job ? { jobId: job.jobId } : {};
    if (signal.aborted) {
      const cleanup = phase === 'upload' && job ? await abandonJob(client, job.jobId) : undefined;
      const message = cleanup ?? interruptedJobMessage(job);
      return finish({ ok: false, state: 'INTERRUPTED', uploaded: phase === 'follow' || phase === 'download', message, ...id });
    }
    const cleanup = phase === 'upload' && job ? ` ${await abandonJob(client, job.jobId)}` : '';
    const hint = error instanceof ApiError ? ` ${error.hint}` : '';
    const gaveUp = isCapacityError(error) ? ` (gave up after waiting up to ${CAPACITY_WAIT_MS / 60_000} minutes)` : '';
    return finish({
      ok: false,
      state: 'ERROR',
      code: failureCode(error),
      message: `${(error as Error).message}${gaveUp}${hint}${cleanup}`,
      uploaded: phase === 'follow' || phase === 'download',
      ...id,
    });
  }
}

function interruptedJobMessage(job: JobView | undefined): string {
  if (!job) return 'Interrupted before a job was created.';
  if (job.terminal) return `Job ${job.jobId} ended ${job.status}; its result was not downloaded.`;
  return `Job ${job.jobId} keeps running on the server (${job.status}).`;
}

function resultCounts(job: JobView, bundleNodes: number): Pick<WorkflowOutcome, 'nodes' | 'notConverted' | 'notConvertedNames'> {
  if (!job.result) return { nodes: bundleNodes };
  return { nodes: job.result.nodes, notConverted: job.result.notImplemented, notConvertedNames: job.result.notImplementedNames };
}

function errorOf(job: JobView): Pick<WorkflowOutcome, 'code' | 'message'> {
  return job.error ? { code: job.error.code, message: job.error.message } : { message: `The job ended ${job.status}.` };
}

function notStarted(workflow: WorkflowInput): WorkflowOutcome {
  return { ok: false, workflow: workflow.name, input: workflow.label, state: 'NOT_STARTED', seconds: 0, uploaded: false };
}

const SUMMARY_HEADERS = ['WORKFLOW', 'STATE', 'CODE', 'NODES', 'NOT CONVERTED', 'TIME'] as const;

/** The table (or JSON lines) on stdout: the run's result, apart from the progress on stderr. */
function printSummary(io: CliIO, outcomes: readonly WorkflowOutcome[], options: WorkspaceOptions): void {
  if (options.json) {
    for (const outcome of outcomes) io.stdout.write(`${JSON.stringify(outcome)}\n`);
    return;
  }
  io.stdout.write(summaryTable(outcomes, io.cwd));
}

export function summaryTable(outcomes: readonly WorkflowOutcome[], cwd: string): string {
  const rows = outcomes.map((o) => [
    o.input,
    o.state,
    o.code ?? '-',
    o.nodes === undefined ? '-' : String(o.nodes),
    o.notConverted === undefined ? '-' : String(o.notConverted),
    o.state === 'NOT_STARTED' ? '-' : formatDuration(o.seconds * 1000),
  ]);
  const widths = SUMMARY_HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  // Counts and times are right-aligned, so their digits line up.
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const succeeded = outcomes.filter((o) => o.ok).length;
  const failed = outcomes.filter((o) => !o.ok && o.state !== 'NOT_STARTED' && o.state !== 'INTERRUPTED').length;
  const written = outcomes.filter((o) => o.output).map((o) => displayPath(cwd, o.output!));
  const footer = [
    `${plural(outcomes.length, 'workflow')}: ${succeeded} succeeded, ${failed} failed${outcomes.length - succeeded - failed > 0 ? `, ${outcomes.length - succeeded - failed} not finished` : ''}.`,
    ...(written.length > 0 ? [`Results: ${written.join(', ')}`] : []),
  ];
  return `${[line(SUMMARY_HEADERS), ...rows.map(line), '', ...footer].join('\n')}\n`;
}

function interruptedLines(outcomes: readonly WorkflowOutcome[]): string[] {
  const inFlight = outcomes.filter((o) => o.state === 'INTERRUPTED');
  const waiting = outcomes.filter((o) => o.state === 'NOT_STARTED').length;
  const lines = [`Interrupted: ${plural(waiting, 'workflow')} not started; ${inFlight.length} in flight:`];
  for (const o of inFlight) {
    const check = o.jobId && !o.message?.includes('was deleted') ? ` — check it with \`k2p-web status ${o.jobId}\`` : '';
    lines.push(`  ${o.input}: ${o.message ?? ''}${check}`);
  }
  return lines;
}

const CLEAR_BELOW = '\x1b[J';
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/**
 * Progress of many workflows on stderr. On a terminal, one live line per
 * workflow in progress, redrawn in place below the finished ones; otherwise
 * one plain line per event ("[2/7] Flow: Converting (job …)").
 */
export class WorkspaceProgress {
  private readonly active = new Map<number, { text: string; since: number }>();
  private readonly lastWait = new Map<number, number>();
  private drawn = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly width: number;

  constructor(
    private readonly out: ProgressOutput,
    private readonly workflows: readonly WorkflowInput[],
    private readonly clock: { now(): number },
  ) {
    this.width = String(workflows.length).length;
  }

  /** A line that is not about one workflow. */
  note(text: string): void {
    this.print([text]);
  }

  update(index: number, text: string): void {
    if (!this.out.isTTY) {
      this.out.write(`${this.prefix(index)} ${text}\n`);
      return;
    }
    // The time shown is the workflow's, from its first step.
    this.active.set(index, { text, since: this.active.get(index)?.since ?? this.clock.now() });
    this.startTicker();
    this.redraw([]);
  }

  /** A capacity wait: counted down live on a terminal, one line per refusal otherwise. */
  waiting(index: number, wait: CapacityWait): void {
    const text = `waiting: ${wait.code}, retrying in ${wait.secondsLeft} s`;
    if (this.out.isTTY) return this.update(index, text);
    if (this.lastWait.get(index) !== wait.attempt) this.update(index, `${wait.code}: ${wait.message} Retrying in ${wait.secondsLeft} s.`);
    this.lastWait.set(index, wait.attempt);
  }

  /** A warning about one workflow: kept on screen, never redrawn away. */
  warn(index: number, text: string): void {
    this.print([`! ${this.prefix(index)} ${text}`]);
  }

  done(index: number, outcome: WorkflowOutcome): void {
    this.active.delete(index);
    const mark = outcome.ok ? this.paint('✔', GREEN) : this.paint('✖', RED);
    const code = outcome.code ? ` ${outcome.code}` : '';
    const job = outcome.jobId ? ` (job ${outcome.jobId})` : '';
    this.print([`${mark} ${this.prefix(index)} ${outcome.state}${code} in ${formatDuration(outcome.seconds * 1000)}${job}`]);
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.active.clear();
    if (this.out.isTTY) this.redraw([]);
  }

  private prefix(index: number): string {
    return `[${String(index + 1).padStart(this.width)}/${this.workflows.length}] ${this.workflows[index]!.label}:`;
  }

  private print(lines: string[]): void {
    if (this.out.isTTY) this.redraw(lines);
    else this.out.write(lines.map((line) => `${line}\n`).join(''));
  }

  /** Moves up over the live block, prints the new permanent lines, then the live block again. */
  private redraw(permanent: string[]): void {
    const now = this.clock.now();
    const live = [...this.active].map(([index, { text, since }]) =>
      this.fit(`⠿ ${this.prefix(index)} ${text} ${formatDuration(now - since)}`),
    );
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\r` : '\r';
    this.out.write(`${up}${CLEAR_BELOW}${[...permanent, ...live].map((line) => `${line}\n`).join('')}`);
    this.drawn = live.length;
  }

  private fit(line: string): string {
    return line.length > this.out.columns - 1 ? `${line.slice(0, this.out.columns - 2)}…` : line;
  }

  private paint(text: string, color: string): string {
    return this.out.color ? `${color}${text}${RESET}` : text;
  }

  private startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.redraw([]), 1000);
    this.ticker.unref?.();
  }
}
