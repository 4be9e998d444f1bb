/**
 * What a finished conversion means for the job: a pure decision from the
 * runner's report (if any), the result's presence, and the task error the
 * state machine caught (if any).
 */
import { ERRORS, isErrorCode, type ErrorCode, type ErrorInfo } from '../../core/errors';
import type { JobStatus } from '../../core/job-states';
import type { ReportRead } from './report';

/** The error a Step Functions Catch hands over: `{Error, Cause}`. */
export interface TaskError {
  Error?: string;
  Cause?: string;
}

export interface OutcomeInput {
  /** The job's status when the outcome is recorded (QUEUED means PrepareRun never got it running). */
  jobStatus: JobStatus;
  report: ReportRead;
  /** Size of result.zip, undefined when it is not there. */
  resultBytes?: number;
  taskError?: TaskError;
}

export type OutcomeDecision = { status: 'SUCCEEDED' } | { status: 'FAILED' | 'TIMED_OUT'; error: ErrorInfo };

const TIMEOUT_ERRORS = new Set(['States.Timeout', 'States.HeartbeatTimeout']);
const MAX_DETAIL = 300;

function info(code: ErrorCode, details?: Record<string, unknown>, message: string = ERRORS[code].message): ErrorInfo {
  return { code, message, ...(details && Object.keys(details).length ? { details } : {}) };
}

/** A short, URL-free string: the task's description can contain container env (presigned URLs). */
function safeText(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  const cleaned = value.replace(/https?:\/\/\S+/g, '[url]');
  return cleaned.length > MAX_DETAIL ? `${cleaned.slice(0, MAX_DETAIL)}…` : cleaned;
}

/**
 * The few facts worth keeping from a task error: its name, the ECS stop reason
 * and code, and the container's exit code. Never the raw Cause, which holds the
 * task's overrides (including presigned URLs).
 */
export function taskErrorDetails(taskError: TaskError | undefined): Record<string, unknown> {
  if (!taskError) return {};
  const details: Record<string, unknown> = {};
  const error = safeText(taskError.Error);
  if (error) details.taskError = error;
  let cause: unknown;
  try {
    cause = taskError.Cause ? JSON.parse(taskError.Cause) : undefined;
  } catch {
    cause = undefined;
  }
  if (cause && typeof cause === 'object') {
    const c = cause as Record<string, unknown>;
    const stoppedReason = safeText(c.StoppedReason ?? c.stoppedReason);
    const stopCode = safeText(c.StopCode ?? c.stopCode);
    const containers = (c.Containers ?? c.containers) as Record<string, unknown>[] | undefined;
    const exitCode = Array.isArray(containers) ? (containers[0]?.ExitCode ?? containers[0]?.exitCode) : undefined;
    const errorMessage = safeText(c.errorMessage ?? c.ErrorMessage);
    if (stoppedReason) details.stoppedReason = stoppedReason;
    if (stopCode) details.stopCode = stopCode;
    if (typeof exitCode === 'number') details.exitCode = exitCode;
    if (errorMessage) details.message = errorMessage;
  }
  return details;
}

export function decideOutcome(input: OutcomeInput): OutcomeDecision {
  const { report, taskError } = input;
  if (report.kind === 'ok') {
    const r = report.report;
    if (r.outcome === 'SUCCEEDED') {
      if (input.resultBytes === undefined) {
        return { status: 'FAILED', error: info('RUNNER_FAILED', { reason: 'report.json says SUCCEEDED but result.zip is missing' }) };
      }
      return { status: 'SUCCEEDED' };
    }
    // What the converter printed (already trimmed and with scratch paths rewritten by the runner) tells the user why.
    const stderrTail = safeText(r.stderrTail);
    const output = stderrTail ? { stderrTail } : {};
    if (r.outcome === 'TIMED_OUT' || r.error?.code === 'CONVERTER_TIMEOUT') {
      return { status: 'TIMED_OUT', error: info('CONVERTER_TIMEOUT', { ...(r.error?.details ?? {}), ...output }) };
    }
    const code = r.error && isErrorCode(r.error.code) && ERRORS[r.error.code].family === 'conversion' ? r.error.code : 'CONVERTER_FAILED';
    const details = { ...(r.error?.details ?? {}), ...(typeof r.exitCode === 'number' ? { exitCode: r.exitCode } : {}), ...output };
    const message = code === r.error?.code && r.error.message ? (safeText(r.error.message) ?? ERRORS[code].message) : ERRORS[code].message;
    return { status: 'FAILED', error: info(code, details, message) };
  }
  if (taskError?.Error && TIMEOUT_ERRORS.has(taskError.Error)) {
    return { status: 'TIMED_OUT', error: info('CONVERTER_TIMEOUT', taskErrorDetails(taskError)) };
  }
  if (input.jobStatus === 'QUEUED') {
    // PrepareRun failed: the converter never had a chance.
    return { status: 'FAILED', error: info('INTERNAL_ERROR', { stage: 'prepare-run', ...taskErrorDetails(taskError) }) };
  }
  const details: Record<string, unknown> = { ...taskErrorDetails(taskError) };
  details.reason =
    report.kind === 'invalid'
      ? report.reason
      : taskError
        ? 'the conversion task failed without a report'
        : 'the conversion task ended without a report';
  return { status: 'FAILED', error: info('RUNNER_FAILED', details) };
}
