/**
 * The state machine's two Lambda steps around the Fargate task:
 *   PrepareRun    QUEUED → RUNNING, then the runner's presigned URLs;
 *                 skip when the job is no longer QUEUED/RUNNING (deleted).
 *   RecordOutcome read report.json, end the job (SUCCEEDED / FAILED / TIMED_OUT),
 *                 release the slot; every path ends terminal, and retries are
 *                 harmless (conditional moves, idempotent release). A job
 *                 cancelled meanwhile (CANCELLING) ends CANCELLED instead: the
 *                 task has stopped by the time this step runs.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_WORKFLOW_NAME } from '../../core/api-schemas';
import { isTerminal, type JobStatus } from '../../core/job-states';
import type { ServiceLimits } from '../../core/limits';
import type { ConversionOptions } from '../../core/types';
import { resultExpiry, runDeadline, runnerUrlSeconds } from '../decisions/deadlines';
import { finishJob, type LifecycleDeps } from './job-lifecycle';
import { finishCancel } from './job-cancellation';
import type { JobObjects } from '../storage/job-objects';
import type { JobStore, StoredJob } from '../storage/job-store';
import { METRIC } from '../../core/metrics';
import { countByCode, countMetric, durationMetric, logger, withJob } from '../runtime/observability';
import { decideOutcome, type TaskError } from '../decisions/outcome';
import { runnerUrls } from '../storage/presign-download';
import { MAX_REPORT_BYTES, parseReport, summaryFromReport, type ReportRead } from '../decisions/report';

export interface PrepareRunDeps {
  store: JobStore;
  s3: S3Client;
  bucket: string;
  limits: ServiceLimits;
  now?: () => number;
}

/** The state's output; RunConverter passes these to the container as env. */
export interface PrepareRunOutput {
  jobId: string;
  skip: boolean;
  inputUrl: string;
  inputSha256: string;
  resultUrl: string;
  reportUrl: string;
  logUrl: string;
  workflowName: string;
  workbook: ConversionOptions['workbook'] | '';
  graph: ConversionOptions['graph'] | '';
}

function skipped(jobId: string): PrepareRunOutput {
  return {
    jobId,
    skip: true,
    inputUrl: '',
    inputSha256: '',
    resultUrl: '',
    reportUrl: '',
    logUrl: '',
    workflowName: '',
    workbook: '',
    graph: '',
  };
}

export async function prepareRun(deps: PrepareRunDeps, jobId: string): Promise<PrepareRunOutput> {
  const now = deps.now ?? Date.now;
  withJob(jobId);
  let job = await deps.store.get(jobId, now());
  if (job?.status === 'QUEUED') {
    const moved = await deps.store.transition(jobId, 'RUNNING', {
      from: ['QUEUED'],
      set: { startedAt: new Date(now()).toISOString(), deadlineAt: runDeadline(now(), deps.limits) },
      now: now(),
    });
    job = moved.job;
  }
  // RUNNING already: a retry of this step after it had moved the job.
  if (!job || job.status !== 'RUNNING' || !job.bundle?.sha256) {
    logger.info('Job is no longer queued; skipping the conversion', { status: job?.status });
    return skipped(jobId);
  }
  const urls = await runnerUrls(deps.s3, deps.bucket, jobId, runnerUrlSeconds(deps.limits));
  logger.info('Conversion prepared');
  return {
    jobId,
    skip: false,
    ...urls,
    inputSha256: job.bundle.sha256,
    workflowName: job.workflowName ?? DEFAULT_WORKFLOW_NAME,
    workbook: job.options.workbook,
    graph: job.options.graph,
  };
}

export interface RecordOutcomeDeps extends LifecycleDeps {
  objects: JobObjects;
  limits: ServiceLimits;
  now?: () => number;
}

export interface RecordOutcomeOutput {
  jobId: string;
  status: JobStatus | 'UNKNOWN';
}

async function readReport(objects: JobObjects, jobId: string): Promise<ReportRead> {
  const read = await objects.read(jobId, 'report', MAX_REPORT_BYTES);
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'too-large') return { kind: 'invalid', reason: 'report.json is too large' };
  return parseReport(read.bytes, jobId);
}

export async function recordOutcome(deps: RecordOutcomeDeps, jobId: string, taskError?: TaskError): Promise<RecordOutcomeOutput> {
  const now = deps.now ?? Date.now;
  withJob(jobId);
  const job = await deps.store.get(jobId, now());
  if (!job) {
    logger.warn('Outcome for an unknown job');
    return { jobId, status: 'UNKNOWN' };
  }
  if (isTerminal(job.status)) return settleEnded(deps, job);
  if (job.status === 'CANCELLING') return settleCancelled(deps, job, now());

  const report = await readReport(deps.objects, jobId);
  const resultBytes = report.kind === 'ok' && report.report.outcome === 'SUCCEEDED' ? await deps.objects.size(jobId, 'result') : undefined;
  const decision = decideOutcome({ jobStatus: job.status, report, resultBytes, taskError });
  const finishedMs = now();
  const converter =
    report.kind === 'ok'
      ? { image: report.report.converter?.image ?? undefined, version: report.report.converter?.version ?? null }
      : undefined;

  const moved =
    decision.status === 'SUCCEEDED' && report.kind === 'ok'
      ? await finishJob(deps, job, 'SUCCEEDED', {
          now: finishedMs,
          set: { result: summaryFromReport(report.report, resultBytes), resultExpiresAt: resultExpiry(finishedMs, deps.limits), converter },
          deleteObjects: ['bundle'],
        })
      : await finishJob(deps, job, decision.status, {
          now: finishedMs,
          error: decision.status === 'SUCCEEDED' ? undefined : decision.error,
          set: converter ? { converter } : {},
          deleteObjects: ['bundle', 'result'],
        });

  if (!moved.ok && moved.job?.status === 'CANCELLING') return settleCancelled(deps, moved.job, now());
  if (!moved.ok) return moved.job ? settleEnded(deps, moved.job) : { jobId, status: 'UNKNOWN' };

  const convertMs = report.kind === 'ok' ? report.report.durationsMs?.convert : undefined;
  durationMetric(METRIC.conversionDuration, convertMs ?? (job.startedAt ? finishedMs - Date.parse(job.startedAt) : Number.NaN));
  if (decision.status === 'SUCCEEDED') {
    countMetric(METRIC.jobsSucceeded);
    logger.info('Conversion succeeded');
  } else {
    countByCode(METRIC.jobsFailed, decision.error.code);
    logger.warn('Conversion did not succeed', { status: decision.status, code: decision.error.code, details: decision.error.details });
  }
  return { jobId, status: decision.status };
}

/** A job that ended already: make sure its slot is free and a deleted job keeps nothing the runner uploaded late. */
async function settleEnded(deps: RecordOutcomeDeps, job: StoredJob): Promise<RecordOutcomeOutput> {
  if (!isTerminal(job.status)) {
    logger.error('Outcome could not be recorded: the job is in an unexpected state', { status: job.status });
    return { jobId: job.jobId, status: job.status };
  }
  await deps.capacity.release(job.jobId, job.owner);
  if (job.status === 'DELETED' || job.status === 'EXPIRED' || job.status === 'CANCELLED')
    await deps.objects.delete(job.jobId, ['bundle', 'result', 'report', 'log']);
  logger.info('Outcome for a job that had already ended', { status: job.status });
  return { jobId: job.jobId, status: job.status };
}

/** Cancel won (or met) the natural finish: the task has stopped, so the cancel can finish now. */
async function settleCancelled(deps: RecordOutcomeDeps, job: StoredJob, nowMs: number): Promise<RecordOutcomeOutput> {
  const finished = await finishCancel(deps, job, nowMs, 'record-outcome');
  return { jobId: job.jobId, status: finished?.status ?? 'UNKNOWN' };
}
