/**
 * The scheduled reaper: the safety net that guarantees every job ends and
 * every slot is freed, whatever crashed.
 *   AWAITING_UPLOAD past the upload window (+ 2 min), nothing uploaded → EXPIRED
 *   AWAITING_UPLOAD past the deadline (window + 15 min) → EXPIRED
 *   VALIDATING past its deadline (every retry died)   → FAILED INTERNAL_ERROR
 *   RUNNING whose execution ended or is gone (any time) → its outcome recorded now (a crashed host, a stopped execution)
 *   QUEUED/RUNNING past the deadline                  → ask Step Functions:
 *       execution ended     → record its outcome (as RecordOutcome would have)
 *       execution missing   → QUEUED: start it once more; otherwise FAILED
 *       execution running   → FAILED INTERNAL_ERROR (the deadline is well past every state-machine timeout)
 *   CANCELLING past the cancel deadline (the task's stop timeout + a margin: it has stopped by then)
 *       execution ended or missing → CANCELLED (DELETED if a DELETE asked for it), slot freed
 *       execution running          → StopExecution again; finished on a later run
 *   SUCCEEDED past resultExpiresAt                    → EXPIRED (result deleted)
 * Then the capacity ledgers are made to match the jobs actually in flight.
 */
import { ERRORS } from '../../core/errors';
import { IN_FLIGHT_STATUSES, isInFlight, isTerminal, type JobStatus } from '../../core/job-states';
import type { ServiceLimits } from '../../core/limits';
import type { Capacity } from '../storage/capacity';
import { planCapacityRepair, type InFlightJob } from '../decisions/capacity-plan';
import { recordOutcome, type RecordOutcomeDeps } from './conversion-steps';
import { ADMISSION_GRACE_SECONDS, MAX_EXECUTION_RESTARTS, deadlineOf, runDeadline } from '../decisions/deadlines';
import type { Executions } from '../storage/executions';
import { jobIdTime } from '../decisions/ids';
import { finishJob } from './job-lifecycle';
import { expireIfAbandoned, expireUpload } from './abandoned-uploads';
import { finishCancel, stopExecution } from './job-cancellation';
import type { JobObjects } from '../storage/job-objects';
import type { JobStore, StoredJob } from '../storage/job-store';
import { METRIC } from '../../core/metrics';
import { countByCode, countMetric, logger } from '../runtime/observability';

export interface ReaperDeps {
  store: JobStore;
  capacity: Capacity;
  objects: JobObjects;
  executions: Executions;
  limits: ServiceLimits;
  now?: () => number;
}

export interface ReaperSummary {
  scanned: number;
  expiredUploads: number;
  failedValidations: number;
  recordedOutcomes: number;
  restartedExecutions: number;
  failedRuns: number;
  expiredResults: number;
  /** CANCELLING jobs finished because no task-stopped event or RecordOutcome did. */
  finishedCancels: number;
  releasedSlots: number;
  restoredSlots: number;
  inFlight: number;
  /** Jobs the sweep could not handle this time (logged; retried on the next run). */
  errors: number;
}

type JobAction = keyof Omit<ReaperSummary, 'scanned' | 'releasedSlots' | 'restoredSlots' | 'inFlight' | 'errors'> | 'none';

export async function reap(deps: ReaperDeps): Promise<ReaperSummary> {
  const now = deps.now ?? Date.now;
  const summary: ReaperSummary = {
    scanned: 0,
    expiredUploads: 0,
    failedValidations: 0,
    recordedOutcomes: 0,
    restartedExecutions: 0,
    failedRuns: 0,
    expiredResults: 0,
    finishedCancels: 0,
    releasedSlots: 0,
    restoredSlots: 0,
    inFlight: 0,
    errors: 0,
  };
  const inFlight: InFlightJob[] = [];
  for await (const job of deps.store.scanByStatus([...IN_FLIGHT_STATUSES, 'SUCCEEDED'])) {
    summary.scanned++;
    let action: JobAction = 'none';
    try {
      action = await reapJob(deps, job, now());
    } catch (error) {
      // One bad job must not stop the sweep; it is retried on the next run.
      summary.errors++;
      logger.error('Reaper could not handle a job', { jobId: job.jobId, status: job.status, error: error as Error });
    }
    if (action !== 'none') {
      summary[action]++;
      countMetric(METRIC.reaperInterventions);
    }
    const current = action === 'none' || action === 'restartedExecutions' ? job.status : undefined;
    if (current && isInFlight(current)) inFlight.push({ jobId: job.jobId, owner: job.owner });
  }
  const repaired = await repairCapacity(deps, inFlight, now());
  summary.releasedSlots = repaired.released;
  summary.restoredSlots = repaired.restored;
  summary.inFlight = inFlight.length;
  countMetric(METRIC.inFlightJobs, inFlight.length);
  if (summary.errors) countMetric(METRIC.reaperErrors, summary.errors);
  if (repaired.released + repaired.restored) countMetric(METRIC.capacityRepairs, repaired.released + repaired.restored);
  logger.info('Reaper run finished', { ...summary });
  return summary;
}

async function reapJob(deps: ReaperDeps, job: StoredJob, nowMs: number): Promise<JobAction> {
  if (job.status === 'SUCCEEDED') {
    if (!job.resultExpiresAt || Date.parse(job.resultExpiresAt) > nowMs) return 'none';
    const moved = await finishJob(deps, job, 'EXPIRED', {
      from: ['SUCCEEDED'],
      now: nowMs,
      set: { expiredReason: 'RESULT_RETENTION', finishedAt: job.finishedAt },
      deleteObjects: ['result', 'report', 'bundle', 'log'],
    });
    return moved.ok ? 'expiredResults' : 'none';
  }
  if (await expireIfAbandoned(deps, job, nowMs)) return 'expiredUploads';
  if (deadlineOf(job, deps.limits) > nowMs) return job.status === 'RUNNING' ? reapEndedRun(deps, job, nowMs) : 'none';
  const log = { jobId: job.jobId, status: job.status, deadlineAt: job.deadlineAt };

  switch (job.status) {
    case 'AWAITING_UPLOAD':
      // Past the full deadline even a bundle that arrived was never validated: expire it all the same.
      return (await expireUpload(deps, job, nowMs)).ok ? 'expiredUploads' : 'none';
    case 'VALIDATING': {
      const moved = await failJob(deps, job, nowMs, {
        message: 'The bundle could not be validated (the validation did not finish).',
        details: { stage: 'validation', attempts: job.validationAttempts ?? 1 },
        deleteObjects: ['bundle'],
      });
      if (moved) logger.error('Validation never finished; job failed', log);
      return moved ? 'failedValidations' : 'none';
    }
    case 'QUEUED':
    case 'RUNNING':
      return reapRun(deps, job, nowMs);
    case 'CANCELLING':
      return reapCancel(deps, job, nowMs);
    default:
      return 'none';
  }
}

async function reapRun(deps: ReaperDeps, job: StoredJob, nowMs: number): Promise<JobAction> {
  const log = { jobId: job.jobId, status: job.status };
  const execution = await deps.executions.describe(job.jobId);
  if (!execution) {
    const restarts = job.executionRestarts ?? 0;
    if (job.status === 'QUEUED' && restarts < MAX_EXECUTION_RESTARTS) {
      // Queued, but the start was lost with a crashed invocation: start it now, once.
      const updated = await deps.store.updateIf(
        job.jobId,
        'QUEUED',
        { executionRestarts: job.executionRestarts ?? null },
        { executionRestarts: restarts + 1, deadlineAt: runDeadline(nowMs, deps.limits) },
        nowMs,
      );
      if (!updated) return 'none';
      await deps.executions.start(job.jobId);
      logger.warn('Queued job had no execution; started it', log);
      return 'restartedExecutions';
    }
    const moved = await failJob(deps, job, nowMs, {
      message: 'The conversion could not be started.',
      details: { stage: job.status === 'QUEUED' ? 'start' : 'run', execution: 'missing' },
      deleteObjects: ['bundle', 'result'],
    });
    if (moved) logger.error('Job had no execution past its deadline; failed', log);
    return moved ? 'failedRuns' : 'none';
  }
  if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') {
    const moved = await failJob(deps, job, nowMs, {
      message: 'The conversion did not finish in time.',
      details: { stage: 'run', execution: execution.status },
      deleteObjects: ['bundle', 'result'],
    });
    if (moved) logger.error('Execution still running long past the deadline; job failed', log);
    return moved ? 'failedRuns' : 'none';
  }
  // The execution ended but the job did not: RecordOutcome never ran (or kept failing). Do its work.
  const taskError =
    execution.status === 'SUCCEEDED'
      ? undefined
      : {
          Error: execution.status === 'TIMED_OUT' ? 'States.Timeout' : (execution.error ?? `Execution.${execution.status}`),
          Cause: execution.cause,
        };
  const recordDeps: RecordOutcomeDeps = { ...deps, now: () => nowMs };
  const outcome = await recordOutcome(recordDeps, job.jobId, taskError);
  logger.warn('Execution had ended without recording its outcome; recorded it', {
    ...log,
    execution: execution.status,
    outcome: outcome.status,
  });
  return 'recordedOutcomes';
}

/**
 * A RUNNING job before its deadline: once its execution has ended (or no longer exists: Step Functions
 * keeps an ended one for 90 days, so only a lost host loses it) nothing else will record its outcome.
 */
async function reapEndedRun(deps: ReaperDeps, job: StoredJob, nowMs: number): Promise<JobAction> {
  const execution = await deps.executions.describe(job.jobId);
  if (execution?.status === 'RUNNING' || execution?.status === 'PENDING_REDRIVE') return 'none';
  if (execution) return reapRun(deps, job, nowMs);
  const taskError = {
    Error: 'Execution.MISSING',
    Cause: JSON.stringify({ StoppedReason: 'The execution running this job no longer exists (the host running it stopped)' }),
  };
  await recordOutcome({ ...deps, now: () => nowMs }, job.jobId, taskError);
  logger.warn('Running job had no execution; recorded its outcome', { jobId: job.jobId });
  return 'recordedOutcomes';
}

async function reapCancel(deps: ReaperDeps, job: StoredJob, nowMs: number): Promise<JobAction> {
  const execution = await deps.executions.describe(job.jobId);
  if (execution?.status === 'RUNNING' || execution?.status === 'PENDING_REDRIVE') {
    // The cancel's StopExecution was lost: ask again; the task stops within its stop timeout.
    await stopExecution(deps.executions, job.jobId);
    logger.warn('Cancelled job still had a running execution; stopped it again', { jobId: job.jobId });
    return 'none';
  }
  // Past the deadline ECS has SIGKILLed the task (also when the execution was stopped before RunTask: no STOPPED event).
  const finished = await finishCancel(deps, job, nowMs, 'reaper');
  logger.warn('Cancel finished by the reaper', { jobId: job.jobId, status: finished?.status, execution: execution?.status ?? 'missing' });
  return finished && finished.status !== 'CANCELLING' ? 'finishedCancels' : 'none';
}

async function failJob(
  deps: ReaperDeps,
  job: StoredJob,
  nowMs: number,
  options: { message: string; details: Record<string, unknown>; deleteObjects: ('bundle' | 'result')[] },
): Promise<boolean> {
  const moved = await finishJob(deps, job, 'FAILED', {
    now: nowMs,
    error: { code: 'INTERNAL_ERROR', message: options.message || ERRORS.INTERNAL_ERROR.message, details: options.details },
    deleteObjects: options.deleteObjects,
  });
  if (moved.ok) countByCode(METRIC.jobsFailed, 'INTERNAL_ERROR');
  return moved.ok;
}

/**
 * Makes every ledger hold exactly the jobs in flight. Each discrepancy is
 * re-read before it is acted on, so jobs admitted or ended during the sweep
 * are left alone; a holder without any job record is freed only once its
 * admission must have finished.
 */
async function repairCapacity(deps: ReaperDeps, inFlight: InFlightJob[], nowMs: number): Promise<{ released: number; restored: number }> {
  const ledgers = await deps.capacity.readAll();
  const plan = planCapacityRepair(ledgers, inFlight);
  let released = 0;
  let restored = 0;
  const statusCache = new Map<string, JobStatus | 'MISSING'>();
  const statusOf = async (jobId: string) => {
    if (!statusCache.has(jobId)) statusCache.set(jobId, (await deps.store.get(jobId, nowMs))?.status ?? 'MISSING');
    return statusCache.get(jobId)!;
  };
  for (const holder of plan.unexplained) {
    const status = await statusOf(holder.jobId);
    if (status !== 'MISSING' && !isTerminal(status)) continue;
    if (status === 'MISSING') {
      const born = jobIdTime(holder.jobId);
      if (born !== undefined && nowMs - born < ADMISSION_GRACE_SECONDS * 1000) continue;
    }
    if (await deps.capacity.give(holder.pk, holder.jobId)) {
      released++;
      logger.warn('Freed a leaked capacity slot', { ledger: holder.pk, jobId: holder.jobId, jobStatus: status });
    }
  }
  for (const missing of plan.missing) {
    const status = await statusOf(missing.jobId);
    if (status === 'MISSING' || !isInFlight(status)) continue;
    const attributes =
      missing.scope === 'owner' ? { scope: missing.scope, capacityOwner: missing.capacityOwner } : { scope: missing.scope };
    if (await deps.capacity.restore(missing.pk, missing.jobId, attributes)) {
      restored++;
      logger.warn('Restored a missing capacity slot', { ledger: missing.pk, jobId: missing.jobId });
    }
  }
  if (released + restored === 0) {
    for (const ledger of plan.miscounted) await deps.capacity.fixCount(ledger);
  } else {
    for (const ledger of await deps.capacity.readAll()) await deps.capacity.fixCount(ledger);
  }
  return { released, restored };
}
