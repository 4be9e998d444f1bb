/**
 * Cancelling a job, and finishing a cancel once its task has stopped. A job
 * that holds a slot keeps it until no task of it can run any more:
 *   AWAITING_UPLOAD | VALIDATING | QUEUED → CANCELLED at once (no task runs; for QUEUED the
 *       conditional write races PrepareRun's QUEUED → RUNNING, so either the task never starts or we see RUNNING);
 *   RUNNING → CANCELLING, then StopExecution (Step Functions stops the ECS task); when the stopped execution had
 *       not yet asked ECS for its task, no task exists and the cancel finishes at once;
 *   CANCELLING → CANCELLED (DELETED when a DELETE asked for it) only once the task has stopped:
 *       its STOPPED event, RecordOutcome, or the reaper past the cancel deadline.
 * Every move is a conditional write, so a cancel racing the natural finish leaves exactly one terminal state.
 */
import { DomainError } from '../../core/errors';
import { isTerminal } from '../../core/job-states';
import { METRIC } from '../../core/metrics';
import { cancelDeadline } from '../decisions/deadlines';
import { stoppedTaskOf } from '../decisions/task-event';
import type { Executions } from '../storage/executions';
import type { JobObjects } from '../storage/job-objects';
import type { StoredJob } from '../storage/job-store';
import { countMetric, logger, withJob } from '../runtime/observability';
import { requireOwnedJob } from './job-queries';
import { finishJob, type LifecycleDeps } from './job-lifecycle';

/** The cause recorded on a stopped execution. */
export const CANCEL_CAUSE = 'Cancelled by the owner';

/** Conditional moves lost to a concurrent change are retried on the job as it now is, a bounded number of times. */
const MAX_ATTEMPTS = 5;

export interface FinishCancelDeps extends LifecycleDeps {
  objects: JobObjects;
}

export interface CancelJobDeps extends FinishCancelDeps {
  executions: Executions;
  now?: () => number;
}

export interface CancelResult {
  job: StoredJob;
  /** The task is being stopped (CANCELLING): the API answers 202. */
  stopping: boolean;
}

/** Stops the job's execution; a failure is logged, not thrown: the reaper stops it again past the cancel deadline. */
export async function stopExecution(executions: Executions, jobId: string): Promise<'stopped' | 'not-found' | 'failed'> {
  try {
    const outcome = await executions.stop(jobId, CANCEL_CAUSE);
    logger.info('Execution stop requested', { outcome });
    return outcome;
  } catch (error) {
    logger.error('Could not stop the execution; the reaper will retry', { error: error as Error });
    return 'failed';
  }
}

/**
 * Once the execution is stopped: when its history shows it never asked ECS for the task (stopped between PrepareRun
 * and RunTask), no task will ever run nor report STOPPED, so the cancel finishes now instead of at the cancel
 * deadline. Any doubt (history unreadable, or a task requested) leaves it to the STOPPED event as before.
 */
async function finishIfNoTask(deps: CancelJobDeps, job: StoredJob, now: number): Promise<StoredJob> {
  let requested: 'requested' | 'never' | 'unknown';
  try {
    requested = await deps.executions.ecsTaskRequested(job.jobId);
  } catch (error) {
    logger.warn('Could not read the execution history; the task-stopped event finishes the cancel', { error: error as Error });
    return job;
  }
  if (requested !== 'never') return job;
  const finished = await finishCancel(deps, job, now, 'cancel');
  return finished ?? job;
}

/**
 * RUNNING → CANCELLING (optionally remembering a DELETE), then stop the execution; finished at once when its task
 * was never requested. Undefined when the job was no longer RUNNING.
 */
export async function startCancelling(deps: CancelJobDeps, job: StoredJob, deleteRequested: boolean): Promise<StoredJob | undefined> {
  const now = (deps.now ?? Date.now)();
  const moved = await deps.store.transition(job.jobId, 'CANCELLING', {
    from: ['RUNNING'],
    set: {
      cancelRequestedAt: new Date(now).toISOString(),
      deadlineAt: cancelDeadline(now),
      ...(deleteRequested ? { deleteRequested } : {}),
    },
    now,
  });
  if (!moved.ok) return undefined;
  logger.info('Cancel accepted; stopping the task', { deleteRequested });
  if ((await stopExecution(deps.executions, job.jobId)) !== 'stopped') return moved.job;
  return finishIfNoTask(deps, moved.job, now);
}

export async function cancelJob(deps: CancelJobDeps, owner: string, jobId: string): Promise<CancelResult> {
  const now = (deps.now ?? Date.now)();
  let job: StoredJob | undefined = await requireOwnedJob(deps.store, jobId, owner, now);
  withJob(jobId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS && job; attempt++) {
    switch (job.status) {
      case 'CANCELLED':
        return { job, stopping: false };
      case 'CANCELLING':
        // Idempotent: a repeated cancel asks again, which heals a first call that died before StopExecution.
        await stopExecution(deps.executions, jobId);
        return { job, stopping: true };
      case 'AWAITING_UPLOAD':
      case 'VALIDATING':
      case 'QUEUED': {
        const from = job.status;
        const moved = await finishJob(deps, job, 'CANCELLED', {
          from: [from],
          now,
          set: { cancelRequestedAt: new Date(now).toISOString() },
          deleteObjects: ['bundle'],
        });
        if (moved.ok) {
          countMetric(METRIC.jobsCancelled);
          logger.info('Job cancelled before its task started', { previousStatus: from });
          // PrepareRun skips a CANCELLED job anyway; stopping the execution just ends it sooner.
          if (from === 'QUEUED') await stopExecution(deps.executions, jobId);
          return { job: moved.job, stopping: false };
        }
        job = moved.job;
        break;
      }
      case 'RUNNING': {
        const cancelling = await startCancelling(deps, job, false);
        if (cancelling) return { job: cancelling, stopping: cancelling.status === 'CANCELLING' };
        job = await deps.store.get(jobId, now);
        break;
      }
      default:
        throw new DomainError('JOB_ALREADY_ENDED', `The job has already ended (${job.status}), so it cannot be cancelled.`, {
          details: { status: job.status },
        });
    }
  }
  if (!job) throw new DomainError('NOT_FOUND');
  throw new Error(`Cancel kept losing races (status ${job.status})`);
}

/**
 * CANCELLING → CANCELLED, or DELETED when a DELETE asked for it; call only once the task has stopped.
 * The move is conditional on deleteRequested as read, so a DELETE arriving meanwhile is never lost.
 */
export async function finishCancel(deps: FinishCancelDeps, job: StoredJob, nowMs: number, by: string): Promise<StoredJob | undefined> {
  let current: StoredJob | undefined = job;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && current?.status === 'CANCELLING'; attempt++) {
    const to = current.deleteRequested ? 'DELETED' : 'CANCELLED';
    const moved = await finishJob(deps, current, to, {
      from: ['CANCELLING'],
      now: nowMs,
      expected: { deleteRequested: current.deleteRequested ? true : null },
      set: to === 'DELETED' ? { deletedAt: new Date(nowMs).toISOString() } : {},
      deleteObjects: ['bundle', 'result', 'report', 'log'],
    });
    if (moved.ok) {
      countMetric(to === 'DELETED' ? METRIC.jobsDeleted : METRIC.jobsCancelled);
      logger.info('Task stopped; cancel finished', { status: to, by });
      return moved.job;
    }
    current = moved.job;
  }
  // Ended by someone else: its slot must be free all the same (release is idempotent).
  if (current && isTerminal(current.status)) await deps.capacity.release(current.jobId, current.owner);
  return current;
}

export interface TaskStoppedOutput {
  jobId?: string;
  status?: string;
  action: 'finished' | 'ignored';
}

/** EventBridge: an ECS task of our cluster stopped. A CANCELLING job is finished; a RUNNING one is RecordOutcome's. */
export async function onTaskStopped(deps: FinishCancelDeps & { now?: () => number }, event: unknown): Promise<TaskStoppedOutput> {
  const task = stoppedTaskOf(event);
  if (!task) {
    logger.warn('Task state change without a job, or not STOPPED; ignored');
    return { action: 'ignored' };
  }
  const now = (deps.now ?? Date.now)();
  withJob(task.jobId);
  const job = await deps.store.get(task.jobId, now);
  if (job?.status !== 'CANCELLING') {
    logger.info('Task stopped; nothing to finish', { status: job?.status, stopCode: task.stopCode });
    return { jobId: task.jobId, status: job?.status, action: 'ignored' };
  }
  const finished = await finishCancel(deps, job, now, 'task-stopped');
  return { jobId: task.jobId, status: finished?.status, action: 'finished' };
}
