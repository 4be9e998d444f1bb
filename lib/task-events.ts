/**
 * Task-stopped events: an EventBridge rule on the conversion cluster's "ECS
 * Task State Change" events with lastStatus STOPPED, targeting a function
 * that finishes a CANCELLING job (CANCELLED, or DELETED when a DELETE asked
 * for it) and frees its slot, only once its task has really stopped.
 */
import { Duration } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { JobTable } from './job-table';
import { type FunctionDefaults, ServiceFunction } from './service-function';
import type { Storage } from './storage';

/** What EventBridge matches: a task of `cluster` reached STOPPED. */
export function taskStoppedPattern(cluster: ecs.ICluster): events.EventPattern {
  return {
    source: ['aws.ecs'],
    detailType: ['ECS Task State Change'],
    detail: { clusterArn: [cluster.clusterArn], lastStatus: ['STOPPED'] },
  };
}

export interface TaskStopEventsProps {
  readonly cluster: ecs.ICluster;
  readonly jobTable: JobTable;
  readonly storage: Storage;
  readonly functions: FunctionDefaults;
}

export class TaskStopEvents extends Construct {
  readonly function: ServiceFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: TaskStopEventsProps) {
    super(scope, id);
    this.function = new ServiceFunction(this, 'TaskStopped', {
      handler: 'taskStopped',
      defaults: props.functions,
      description: "Finishes a cancelled job once its converter task has stopped, and frees the job's slot",
      timeout: Duration.seconds(30),
    });
    const fn = this.function.fn;
    props.jobTable.grantReadWrite(fn);
    // A cancelled job keeps no data: its bundle and whatever the stopped runner uploaded go.
    props.storage.grantDeleteBundles(fn);
    props.storage.grantDeleteResults(fn);

    this.rule = new events.Rule(this, 'Rule', {
      description: 'k2p-web: a converter task stopped',
      eventPattern: taskStoppedPattern(props.cluster),
      // Finishing is idempotent; a lost event is covered by the reaper past the cancel deadline.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 8, maxEventAge: Duration.hours(1) })],
    });
  }
}
