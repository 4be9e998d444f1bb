/**
 * The Fargate runner (docs/architecture.md "knime2py contract"):
 * download the bundle, check its sha256, re-validate it, extract the accepted
 * files, run knime2py under limits, package result.zip, upload it (on success)
 * and report.json (always) through presigned URLs.
 *
 * Exit code: 0 whenever report.json was uploaded (the report carries the
 * outcome), 1 only when it could not be — then the state machine records the
 * failure itself.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { converterExitCodeToError, DomainError, ERRORS, type ErrorInfo } from '../core/errors';
import { RUNNER_ENV } from '../core/service-env';
import { DEFAULT_CONVERSION_OPTIONS, type ComponentSummary, type ConversionReport } from '../core/types';
import { validateBundle } from '../core/node/validate-bundle';
import { ConfigError, readConfig, safeWorkflowName, type RunnerConfig } from './config';
import { converterArgv, converterEnv, runConverter, type ConverterRun } from './convert';
import { downloadCapped, putBytes, TooLargeError } from './http';
import { headTailCollector, renderJobLog } from './job-log';
import { createLogger, redactUrl, stderrSink, type Logger, type LogSink } from './log';
import { assertNoScratchPaths, collectOutputs, componentsFromStdout, flagStrays, resultEntries } from './package-result';
import { serializeReport, summarize } from './report';
import { buildZip } from './result-zip';
import { scratchRewriter, type ScratchRewriter } from './rewrite';
import { readConverterVersion } from './version';
import { createWorkspace, removeWorkspace, writeBundleFiles, type Workspace } from './workspace';

type Env = Record<string, string | undefined>;

/** Bytes of converter stderr kept in report.json. */
const REPORT_STDERR_BYTES = 8 * 1024;

export interface RunOptions {
  /** Where log lines go (stderr by default). */
  logSink?: LogSink;
  /** Aborting stops the converter (the task received SIGTERM); the report is still uploaded. */
  signal?: AbortSignal;
}

/** What one run learned so far; the report is built from it whatever step failed. */
interface RunState {
  /** The runner's environment (passed on to the converter minus the runner's own variables). */
  env: Env;
  startedAt: Date;
  durations: { download: number; validate: number; convert: number; package: number };
  version: Promise<string | null>;
  exitCode: number | null;
  stderrTail?: string;
  components: ComponentSummary[];
  files: string[];
  resultBytes?: number;
  ws?: Workspace;
  rewriter?: ScratchRewriter;
  /** What goes into log.txt: the runner's lines, the converter's stderr as it comes, then how it ended. */
  log: {
    runner: ReturnType<typeof headTailCollector>;
    stderr: ReturnType<typeof headTailCollector>;
    run?: ConverterRun;
  };
}

async function timed<T>(state: RunState, step: keyof RunState['durations'], work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    state.durations[step] += Date.now() - started;
  }
}

async function download(config: RunnerConfig, log: Logger): Promise<Uint8Array> {
  try {
    const bytes = await downloadCapped(config.inputUrl, config.bundleLimits.maxUploadBytes, config.httpTimeoutMs);
    log.info('bundle downloaded', { source: redactUrl(config.inputUrl), bytes: bytes.byteLength });
    return bytes;
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new DomainError('BUNDLE_TOO_LARGE', `The bundle is larger than ${err.maxBytes} bytes.`);
    }
    throw new DomainError('RUNNER_FAILED', `Could not download the bundle: ${(err as Error).message}.`);
  }
}

function checkSha256(bytes: Uint8Array, expected: string): void {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected) {
    throw new DomainError('RUNNER_FAILED', 'The bundle does not match the one that was validated (sha256 mismatch).', {
      details: { expectedSha256: expected, actualSha256: actual },
    });
  }
}

/** Re-validates the bundle and returns only the accepted files (the validator's verdict is final). */
async function revalidate(bytes: Uint8Array, config: RunnerConfig, log: Logger): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const verdict = await validateBundle(bytes, config.bundleLimits, { onFile: (path, data) => files.set(path, data) });
  if (!verdict.ok) {
    log.warn('bundle rejected on re-validation', { code: verdict.code, entry: verdict.entry });
    throw new DomainError(verdict.code, verdict.message, verdict.entry ? { details: { entry: verdict.entry } } : {});
  }
  log.info('bundle re-validated', { files: files.size, nodes: verdict.stats.nodes });
  return files;
}

/** Maps how the converter ended to the job's error, or undefined when it succeeded. */
export function converterError(run: ConverterRun, config: RunnerConfig): DomainError | undefined {
  const details = { exitCode: run.exitCode, signal: run.signal };
  if (run.spawnError) {
    return new DomainError('RUNNER_FAILED', `The converter command could not be started (${run.spawnError}).`);
  }
  switch (run.stopped) {
    case 'timeout':
      return new DomainError(
        'CONVERTER_TIMEOUT',
        `${ERRORS.CONVERTER_TIMEOUT.message} (limit: ${config.serviceLimits.converterTimeoutSeconds} s)`,
        {
          details: { ...details, timeoutSeconds: config.serviceLimits.converterTimeoutSeconds },
        },
      );
    case 'stdout-limit':
      return new DomainError('CONVERTER_FAILED', 'knime2py wrote far more to its standard output than a summary and was stopped.', {
        details,
      });
    case 'output-limit':
      return new DomainError(
        'CONVERTER_FAILED',
        `knime2py wrote more than ${config.serviceLimits.maxOutputBytes} bytes of output and was stopped.`,
        {
          details: { ...details, maxOutputBytes: config.serviceLimits.maxOutputBytes },
        },
      );
    case 'cancelled':
      return new DomainError('RUNNER_FAILED', 'The conversion task was stopped before knime2py finished.', { details });
  }
  if (run.exitCode === null) {
    return new DomainError('CONVERTER_FAILED', `knime2py was terminated by ${run.signal ?? 'a signal'}.`, { details });
  }
  const code = converterExitCodeToError(run.exitCode);
  return code ? new DomainError(code, ERRORS[code].message, { details }) : undefined;
}

async function convert(state: RunState, config: RunnerConfig, ws: Workspace, log: Logger, signal?: AbortSignal) {
  const argv = converterArgv(config.command, ws, config.options);
  const run = await runConverter(argv, converterEnv(state.env, ws), ws, {
    timeoutMs: config.serviceLimits.converterTimeoutSeconds * 1000,
    killGraceMs: config.killGraceMs,
    maxOutputBytes: config.serviceLimits.maxOutputBytes,
    signal,
    onStderr: (chunk) => state.log.stderr.push(chunk),
  });
  state.log.run = run;
  state.exitCode = run.exitCode;
  state.stderrTail = run.stderrTail;
  log.info('converter finished', {
    exitCode: run.exitCode,
    signal: run.signal,
    stopped: run.stopped ?? null,
    spawnError: run.spawnError ?? null,
    stdoutBytes: run.stdoutBytes,
    stderrBytes: run.stderrBytes,
    ms: run.durationMs,
  });
  const error = converterError(run, config);
  if (error) throw error;
  return run;
}

function buildReport(state: RunState, config: RunnerConfig, version: string | null, error?: ErrorInfo): ConversionReport {
  const finishedAt = new Date();
  const stderrTail = state.stderrTail ? tail(state.rewriter ? state.rewriter.text(state.stderrTail) : state.stderrTail) : undefined;
  const outcome = !error ? 'SUCCEEDED' : error.code === 'CONVERTER_TIMEOUT' ? 'TIMED_OUT' : 'FAILED';
  return {
    schemaVersion: 1,
    jobId: config.jobId,
    workflow: config.workflowName,
    inputSha256: config.inputSha256,
    outcome,
    ...(error ? { error } : {}),
    exitCode: state.exitCode,
    converter: { command: config.command.join(' '), version, image: config.converterImage },
    options: config.options,
    components: state.components,
    summary: summarize(state.components, state.files, state.resultBytes),
    ...(stderrTail ? { stderrTail } : {}),
    durationsMs: { ...state.durations, total: finishedAt.getTime() - state.startedAt.getTime() },
    startedAt: state.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

function tail(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= REPORT_STDERR_BYTES ? text : '…' + bytes.subarray(bytes.length - REPORT_STDERR_BYTES).toString('utf8');
}

/** Steps 1–5: from the presigned GET to result.zip in memory. Throws DomainError on any failure. */
async function produceResult(state: RunState, config: RunnerConfig, log: Logger, signal?: AbortSignal): Promise<Uint8Array> {
  const ws = await createWorkspace(config.scratchDir, config.workflowName);
  state.ws = ws;
  state.rewriter = scratchRewriter(ws);
  state.version = config.converterVersion
    ? Promise.resolve(config.converterVersion)
    : readConverterVersion(config.versionCommand, converterEnv(state.env, ws));

  const bytes = await timed(state, 'download', () => download(config, log));
  const files = await timed(state, 'validate', async () => {
    checkSha256(bytes, config.inputSha256);
    const accepted = await revalidate(bytes, config, log);
    await writeBundleFiles(ws.workflowDir, accepted);
    return accepted;
  });
  const run = await timed(state, 'convert', () => convert(state, config, ws, log, signal));
  return timed(state, 'package', async () => {
    await flagStrays(ws, new Set([...files.keys()].map((p) => `${config.workflowName}/${p}`)), log);
    const outputs = await collectOutputs(ws, state.rewriter as ScratchRewriter, log);
    const components = componentsFromStdout(run.stdout, ws, outputs);
    state.components = components;
    state.files = ['README.md', 'report.json', ...outputs.map((o) => o.name)];
    const entries = resultEntries(buildReport(state, config, await state.version), outputs);
    assertNoScratchPaths(entries, state.rewriter as ScratchRewriter);
    const zip = buildZip(entries);
    log.info('result packaged', { files: entries.length, bytes: zip.byteLength, components: components.length });
    return zip;
  });
}

function toErrorInfo(err: unknown, log: Logger): ErrorInfo {
  if (err instanceof DomainError) return err.toInfo();
  log.error('runner failure', { error: (err as Error).message });
  return { code: 'RUNNER_FAILED', message: ERRORS.RUNNER_FAILED.message };
}

async function upload(url: string, body: Uint8Array, contentType: string, config: RunnerConfig, what: string, log: Logger) {
  const status = await putBytes(url, body, { contentType, timeoutMs: config.httpTimeoutMs });
  log.info(`${what} uploaded`, { bytes: body.byteLength, status });
}

/** Runs one job; resolves with the process exit code. */
export async function runJob(env: Env, options: RunOptions = {}): Promise<number> {
  const sink = options.logSink ?? stderrSink;
  let config: RunnerConfig;
  try {
    config = readConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return reportMisconfiguration(env, err, createLogger(env[RUNNER_ENV.JOB_ID], sink));
  }
  const runnerLines = headTailCollector();
  const log = createLogger(config.jobId, (line) => {
    runnerLines.push(`${line}\n`);
    sink(line);
  });
  log.info('runner started', { workflow: config.workflowName, options: config.options, image: config.converterImage });
  const state: RunState = {
    env,
    startedAt: new Date(),
    durations: { download: 0, validate: 0, convert: 0, package: 0 },
    version: Promise.resolve(null),
    exitCode: null,
    components: [],
    files: [],
    log: { runner: runnerLines, stderr: headTailCollector() },
  };

  let error: ErrorInfo | undefined;
  try {
    const zip = await produceResult(state, config, log, options.signal);
    try {
      await upload(config.resultUrl, zip, 'application/zip', config, 'result.zip', log);
      state.resultBytes = zip.byteLength;
    } catch (err) {
      state.files = [];
      throw new DomainError('RUNNER_FAILED', `Could not upload result.zip: ${(err as Error).message}.`);
    }
  } catch (err) {
    error = toErrorInfo(err, log);
  }
  return finish(state, config, log, error);
}

async function finish(state: RunState, config: RunnerConfig, log: Logger, error: ErrorInfo | undefined): Promise<number> {
  const report = buildReport(state, config, await state.version, error);
  log.info('job finished', { outcome: report.outcome, code: error?.code ?? null, durationsMs: report.durationsMs });
  if (state.ws) await removeWorkspace(state.ws).catch((err) => log.warn('scratch cleanup failed', { error: (err as Error).message }));
  // Before the report: once RecordOutcome has read the report, the job's log is already there.
  await upload(config.logUrl, jobLog(state, config), 'text/plain; charset=utf-8', config, 'log.txt', log).catch((err) =>
    log.warn('could not upload log.txt', { error: (err as Error).message }),
  );
  try {
    await upload(config.reportUrl, serializeReport(report), 'application/json', config, 'report.json', log);
    return 0;
  } catch (err) {
    log.error('could not upload report.json', { error: (err as Error).message });
    return 1;
  }
}

function jobLog(state: RunState, config: RunnerConfig): Uint8Array {
  const run = state.log.run;
  return renderJobLog(
    {
      jobId: config.jobId,
      workflowName: config.workflowName,
      runner: state.log.runner.text(),
      ...(run
        ? {
            argv: run.argv,
            stderr: state.log.stderr.text(),
            stderrBytes: run.stderrBytes,
            stdout: run.stdout,
            stdoutBytes: run.stdoutBytes,
            ending: converterEnding(run),
          }
        : {}),
    },
    (text) => (state.rewriter ? state.rewriter.text(text) : text),
  );
}

/** How the converter ended, in words, for the log. */
function converterEnding(run: ConverterRun): string {
  const after = `after ${run.durationMs} ms`;
  if (run.spawnError) return `could not be started (${run.spawnError})`;
  if (run.stopped) return `was stopped (${run.stopped}) ${after}`;
  return run.exitCode === null ? `was terminated by ${run.signal ?? 'a signal'} ${after}` : `exited with code ${run.exitCode} ${after}`;
}

/** A broken environment still deserves a report when there is somewhere to send it. */
async function reportMisconfiguration(env: Env, err: ConfigError, log: Logger): Promise<number> {
  log.error('runner misconfigured', { problems: err.problems });
  const reportUrl = env[RUNNER_ENV.REPORT_URL]?.trim();
  if (!reportUrl || !/^https?:\/\//i.test(reportUrl)) return 1;
  const now = new Date().toISOString();
  const report: ConversionReport = {
    schemaVersion: 1,
    jobId: env[RUNNER_ENV.JOB_ID] ?? '',
    workflow: safeWorkflowName(env[RUNNER_ENV.WORKFLOW_NAME]),
    inputSha256: env[RUNNER_ENV.INPUT_SHA256] ?? '',
    outcome: 'FAILED',
    error: { code: 'RUNNER_FAILED', message: 'The conversion sandbox is misconfigured.', details: { problems: err.problems } },
    exitCode: null,
    converter: { command: env[RUNNER_ENV.K2P_COMMAND] ?? 'k2p', version: null, image: env[RUNNER_ENV.CONVERTER_IMAGE] ?? null },
    options: DEFAULT_CONVERSION_OPTIONS,
    components: [],
    summary: summarize([], []),
    durationsMs: { download: 0, validate: 0, convert: 0, package: 0, total: 0 },
    startedAt: now,
    finishedAt: now,
  };
  try {
    await putBytes(reportUrl, serializeReport(report), { contentType: 'application/json', timeoutMs: 30_000 });
    return 0;
  } catch (uploadErr) {
    log.error('could not upload report.json', { error: (uploadErr as Error).message });
    return 1;
  }
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const controller = new AbortController();
  // ECS sends SIGTERM before SIGKILL when the task is stopped: stop the converter, still report.
  process.once('SIGTERM', () => controller.abort());
  runJob(process.env, { signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      createLogger(process.env[RUNNER_ENV.JOB_ID]).error('runner crashed', { error: (err as Error).message });
      process.exitCode = 1;
    },
  );
}
