/**
 * The conversion state machine's executions, one per job, named by the job id
 * (so a duplicate start is recognisable and harmless).
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { isAwsError } from './aws-errors';

export interface ExecutionState {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | string;
  error?: string;
  cause?: string;
}

/** ARN of the execution named `name` of `stateMachineArn` (arn:…:stateMachine:X → arn:…:execution:X:name). */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Events that end an execution: after one, the history is complete. */
const END_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);
/** Pages of history read at most (an execution of the conversion state machine has a few dozen events). */
const MAX_HISTORY_PAGES = 5;

/**
 * Whether an execution's history says it asked ECS for a task: 'never' only when the history is complete (it has
 * ended) and holds no ECS TaskScheduled; 'unknown' when it has not ended or is longer than we read.
 */
export function ecsTaskRequested(events: readonly HistoryEvent[], complete: boolean): 'requested' | 'never' | 'unknown' {
  if (events.some((event) => event.type === 'TaskScheduled' && event.taskScheduledEventDetails?.resourceType === 'ecs')) return 'requested';
  return complete && events.some((event) => END_EVENTS.has(event.type ?? '')) ? 'never' : 'unknown';
}

export class Executions {
  constructor(
    private readonly sfn: SFNClient,
    readonly stateMachineArn: string,
  ) {}

  arnOf(jobId: string): string {
    return executionArnFor(this.stateMachineArn, jobId);
  }

  /** Starts the job's execution; an execution that already exists counts as started. */
  async start(jobId: string): Promise<'started' | 'already-exists'> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: jobId, input: JSON.stringify({ jobId }) }),
      );
      return 'started';
    } catch (error) {
      if (isAwsError(error, 'ExecutionAlreadyExists')) return 'already-exists';
      throw error;
    }
  }

  /** The execution's state, or undefined when it was never started. */
  async describe(jobId: string): Promise<ExecutionState | undefined> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn: this.arnOf(jobId) }));
      return { status: out.status ?? 'UNKNOWN', error: out.error, cause: out.cause };
    } catch (error) {
      if (isAwsError(error, 'ExecutionDoesNotExist')) return undefined;
      throw error;
    }
  }

  /** Whether the job's (ended) execution ever asked ECS for the conversion task; see ecsTaskRequested. */
  async ecsTaskRequested(jobId: string): Promise<'requested' | 'never' | 'unknown'> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
      const out = await this.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: this.arnOf(jobId), maxResults: 1000, includeExecutionData: false, nextToken }),
      );
      events.push(...(out.events ?? []));
      nextToken = out.nextToken;
      if (!nextToken) return ecsTaskRequested(events, true);
    }
    return ecsTaskRequested(events, false);
  }

  /**
   * Stops the job's execution (Step Functions then stops its ECS task: SIGTERM, SIGKILL after the stop timeout).
   * 'not-found' when it was never started; stopping an execution that already ended changes nothing.
   */
  async stop(jobId: string, cause: string): Promise<'stopped' | 'not-found'> {
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn: this.arnOf(jobId), error: 'Cancelled', cause }));
      return 'stopped';
    } catch (error) {
      if (isAwsError(error, 'ExecutionDoesNotExist')) return 'not-found';
      throw error;
    }
  }
}
