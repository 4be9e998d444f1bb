/**
 * How `k2p-web convert|status|jobs` show jobs: the stage lines (Uploading →
 * Validating → Queued → Converting → Done) with elapsed times, the upload
 * progress bar, the capacity countdown, the result report and errors with
 * what to do. On a TTY lines are redrawn in place; otherwise every line is
 * printed once, so logs stay readable.
 */
import type { CapacityWait, Clock, FollowRetry } from '../core/api-client';
import type { JobView } from '../core/api-schemas';
import { ERRORS, isErrorCode } from '../core/errors';
import { formatBytes, formatDuration, PROGRESS_STAGES } from '../core/format';
import type { ComponentSummary } from '../core/types';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

const LABEL_WIDTH = Math.max(...PROGRESS_STAGES.map((s) => s.label.length)) + 2;
const BAR_WIDTH = 24;
/** Redraws at most this often: enough to look live, cheap over ssh. */
const REDRAW_MS = 100;
const CLEAR_LINE = '\r\x1b[2K';

/** Which server duration measures each stage. */
const STAGE_DURATION: Partial<Record<JobView['status'], keyof JobView['durationsMs']>> = {
  AWAITING_UPLOAD: 'upload',
  VALIDATING: 'validation',
  QUEUED: 'queue',
  RUNNING: 'conversion',
};

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago": stable for tests, no time zone involved. */
export function formatAge(iso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

function stageIndex(status: JobView['status']): number {
  return PROGRESS_STAGES.findIndex((s) => s.status === status);
}

function label(text: string): string {
  return text.padEnd(LABEL_WIDTH);
}

/** A report row's name, padded so the values line up. */
export function field(name: string): string {
  return `  ${name.padEnd(16)}`;
}

/**
 * The stage lines of one job. `update` is fed every status the server reports;
 * stages the polls skipped over are completed with the server's durations.
 */
export class StageDisplay {
  private current: number;
  private stageStartedAt: number;
  private readonly startedAt: number;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private liveText = '';
  /** The stage a plain (non-TTY) line was last printed for. */
  private announced = -1;

  constructor(
    private readonly out: Output,
    private readonly clock: Pick<Clock, 'now'>,
    options: { startStatus?: JobView['status']; startedAt?: number } = {},
  ) {
    this.current = Math.max(0, stageIndex(options.startStatus ?? 'AWAITING_UPLOAD'));
    this.startedAt = options.startedAt ?? clock.now();
    this.stageStartedAt = clock.now();
  }

  /** Marks the client-side upload done (the server still says AWAITING_UPLOAD until S3's event arrives). */
  uploadDone(bytes: number, ms: number): void {
    this.clearLive();
    this.out.write(`✔ ${label('Uploading')}${formatBytes(bytes)} in ${formatDuration(ms)}\n`);
    this.current = 1;
    this.stageStartedAt = this.clock.now();
    this.showLive();
  }

  update(job: JobView): void {
    const index = stageIndex(job.status);
    if (job.status === 'SUCCEEDED') return this.finish(job);
    if (job.terminal) return this.fail(job);
    if (index > this.current) this.completeUpTo(index, job);
    this.showLive();
  }

  /** A poll failed and will be retried: said out loud, never hidden. */
  retry(retry: FollowRetry): void {
    this.clearLive();
    this.out.write(`! ${retry.error.message} Retrying in ${formatDuration(retry.delayMs)} (attempt ${retry.attempt + 1}).\n`);
    this.showLive();
  }

  stop(): void {
    this.clearLive();
  }

  private completeUpTo(index: number, job: JobView): void {
    this.clearLive();
    for (let stage = this.current; stage < index; stage++) {
      const status = PROGRESS_STAGES[stage]!.status;
      const key = STAGE_DURATION[status];
      const serverMs = key ? job.durationsMs[key] : undefined;
      // Only the stage we watched has a local measure; skipped ones rely on the server.
      const ms = serverMs ?? (stage === this.current ? this.clock.now() - this.stageStartedAt : undefined);
      this.out.write(`✔ ${label(PROGRESS_STAGES[stage]!.label)}${ms !== undefined ? formatDuration(ms) : ''}\n`);
    }
    this.current = index;
    this.stageStartedAt = this.clock.now();
  }

  private finish(job: JobView): void {
    this.completeUpTo(PROGRESS_STAGES.length - 1, job);
    const total = job.durationsMs.total ?? this.clock.now() - this.startedAt;
    this.out.write(`✔ ${label('Done')}${job.status} in ${formatDuration(total)}\n`);
  }

  private fail(job: JobView): void {
    this.clearLive();
    const stage = PROGRESS_STAGES[Math.min(this.current, PROGRESS_STAGES.length - 2)]!.label;
    const after = job.durationsMs.total ?? this.clock.now() - this.startedAt;
    this.out.write(`✖ ${label(stage)}${job.status} after ${formatDuration(after)}\n`);
  }

  /** On a TTY, the current stage ticks its elapsed time; in a log, one line says what we wait for. */
  private showLive(): void {
    const stage = PROGRESS_STAGES[this.current]!.label;
    if (!this.out.isTTY) {
      if (this.announced !== this.current) this.out.write(`… ${stage}\n`);
      this.announced = this.current;
      return;
    }
    if (this.ticker) return;
    const render = () => {
      this.liveText = `⠿ ${label(stage)}${formatDuration(this.clock.now() - this.stageStartedAt)}`;
      this.out.write(`${CLEAR_LINE}${this.liveText}`);
    };
    render();
    this.ticker = setInterval(render, 1000);
    this.ticker.unref?.();
  }

  private clearLive(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.out.isTTY && this.liveText) this.out.write(CLEAR_LINE);
    this.liveText = '';
  }
}

/** The upload's progress: a redrawn bar on a TTY, a few plain lines otherwise. */
export class UploadProgressDisplay {
  private lastDraw = 0;
  private lastQuarter = 0;

  constructor(
    private readonly out: Output,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  start(total: number): void {
    if (!this.out.isTTY) this.out.write(`… ${label('Uploading')}${formatBytes(total)}\n`);
  }

  update(loaded: number, total: number): void {
    if (this.out.isTTY) return this.draw(loaded, total);
    // Big uploads get a line per quarter so a log shows they move.
    const quarter = total > 0 ? Math.floor((loaded / total) * 4) : 4;
    if (quarter > this.lastQuarter && quarter < 4 && total >= 1024 * 1024) this.out.write(`  ${label('')}${quarter * 25}%\n`);
    this.lastQuarter = Math.max(this.lastQuarter, quarter);
  }

  clear(): void {
    if (this.out.isTTY) this.out.write(CLEAR_LINE);
  }

  private draw(loaded: number, total: number): void {
    const now = this.clock.now();
    if (now - this.lastDraw < REDRAW_MS && loaded < total) return;
    this.lastDraw = now;
    this.out.write(`${CLEAR_LINE}${progressLine(loaded, total)}`);
  }
}

export function progressLine(loaded: number, total: number): string {
  const fraction = total > 0 ? Math.min(1, loaded / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `↑ ${label('Uploading')}${bar} ${percent}  ${formatBytes(loaded)} / ${formatBytes(total)}`;
}

/** The capacity countdown: redrawn each second on a TTY, one line per wait otherwise. */
export function capacityWaitPrinter(out: Output): (wait: CapacityWait) => void {
  let lastAttempt = 0;
  return (wait) => {
    const text = `⏳ ${wait.code}: ${wait.message} Retrying in ${wait.secondsLeft} s…`;
    if (out.isTTY) out.write(`${CLEAR_LINE}${text}${wait.secondsLeft === 1 ? '\n' : ''}`);
    else if (wait.attempt !== lastAttempt) out.write(`${text}\n`);
    lastAttempt = wait.attempt;
  };
}

/** A terminal job's error: code, message, the entry or missing file it is about, and what to do. */
export function errorLines(job: JobView): string[] {
  const error = job.error;
  if (!error) return [`✖ ${job.status}${job.expiredReason ? ` (${expiredText(job.expiredReason)})` : ''}`, `  job: ${job.jobId}`];
  const lines = [`✖ ${job.status}: ${error.code}`, `  ${error.message}`];
  const entry = error.details?.entry;
  if (typeof entry === 'string') lines.push(`  ${error.code === 'SETTINGS_MISSING' ? 'missing file' : 'entry'}: ${entry}`);
  const exitCode = error.details?.exitCode;
  if (typeof exitCode === 'number') lines.push(`  converter exit code: ${exitCode}`);
  const hint = error.hint ?? (isErrorCode(error.code) ? ERRORS[error.code].hint : undefined);
  if (hint) lines.push(`  what to do: ${hint}`);
  lines.push(`  job: ${job.jobId}`);
  return lines;
}

function expiredText(reason: NonNullable<JobView['expiredReason']>): string {
  return reason === 'UPLOAD_NOT_RECEIVED' ? 'the upload never arrived' : 'the result was removed after its retention period';
}

/** The conversion report: components, node counts, nodes not converted by name. */
export function resultLines(job: JobView, components?: ComponentSummary[]): string[] {
  const r = job.result;
  if (!r) return [];
  const lines = [
    `${field('Components')}${r.components}`,
    `${field('Nodes')}${r.nodes} (${r.edges} edges, ${r.idle} idle, ${r.notImplemented} not implemented)`,
  ];
  if (components && components.length > 1) {
    for (const c of components) {
      const missing = c.notImplementedNames.length > 0 ? `: ${countedNames(c.notImplementedNames)}` : '';
      lines.push(
        `${field('')}${c.workflowId}: ${c.nodes} nodes, ${c.edges} edges, ${c.idle} idle, ${c.notImplementedCount} not implemented${missing}`,
      );
    }
  }
  if (r.notImplementedNames.length > 0) lines.push(`${field('Not implemented')}${countedNames(r.notImplementedNames)}`);
  if (r.files.length > 0) lines.push(`${field('Files')}${r.files.join(', ')}`);
  return lines;
}

/** "Line Plot (×2), Normalizer (Apply)": each name once, in first-seen order. */
export function countedNames(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} (×${n})` : name)).join(', ');
}

/** The durations the server measured, in stage order. */
export function durationsLine(job: JobView): string {
  const d = job.durationsMs;
  const parts: string[] = [];
  const add = (name: string, ms: number | undefined) => {
    if (ms !== undefined) parts.push(`${name} ${formatDuration(ms)}`);
  };
  add('upload', d.upload);
  add('validation', d.validation);
  add('queue', d.queue);
  add('conversion', d.conversion);
  add('total', d.total);
  return parts.join(' · ');
}
