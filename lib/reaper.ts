/**
 * The reaper: every few minutes it finishes jobs that can no longer finish by
 * themselves (uploads that never came, executions that died) and recomputes
 * the in-flight counters, so no job and no capacity slot stays stuck.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../core/service-env';
import type { JobTable } from './job-table';
import { acknowledge, executionsWildcardFinding } from './nag';
import { type FunctionDefaults, ServiceFunction } from './service-function';
import type { Storage } from './storage';

export interface ReaperProps {
  readonly storage: Storage;
  readonly jobTable: JobTable;
  /** Executions of stuck jobs are described (and missing ones started) by the reaper. */
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: FunctionDefaults;
  /**
   * How often the reaper runs.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
}

export class Reaper extends Construct {
  readonly function: ServiceFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: ReaperProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    if (interval.toMinutes({ integral: false }) < 1) {
      throw new Error(`Reaper: interval must be at least one minute, got ${interval.toHumanString()}`);
    }

    this.function = new ServiceFunction(this, 'Reaper', {
      handler: 'reaper',
      defaults: props.functions,
      description: 'Finishes stuck and expired jobs and recomputes the in-flight counters',
      environment: { [LAMBDA_ENV.STATE_MACHINE_ARN]: props.stateMachine.stateMachineArn },
      memorySize: 512,
      timeout: Duration.minutes(2),
      // One sweep at a time: overlapping sweeps would race on the counters.
      reservedConcurrentExecutions: 1,
    });
    const fn = this.function.fn;
    props.jobTable.grantReadWrite(fn);
    // A QUEUED job whose execution never started is started again (execution name = job id).
    props.stateMachine.grantStartExecution(fn);
    // A CANCELLING job whose execution still runs past the cancel deadline is stopped again.
    props.stateMachine.grantExecution(fn, 'states:DescribeExecution', 'states:StopExecution');
    acknowledge(
      this.function.role,
      executionsWildcardFinding(props.stateMachine),
      'states:DescribeExecution and StopExecution on executions of the conversion state machine only; execution names are job ids, known only at run time.',
    );
    // The data of jobs it ends (expired uploads and results, failed runs) goes with them.
    props.storage.grantDeleteBundles(fn);
    props.storage.grantDeleteResults(fn);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'k2p-web reaper sweep',
      schedule: events.Schedule.rate(interval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });
  }
}
