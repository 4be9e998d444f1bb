/**
 * Webhook delivery: the sender function (outside any VPC — receivers are on
 * the internet, and the isolated subnets have no route there), an EventBridge
 * rule running it every minute over the due jobs (the outbox in the jobs
 * table, index byWebhookDue), and its grants: read and conditionally update
 * jobs and read principals' webhook settings in the one table. The state
 * machine also invokes it asynchronously for a job right after RecordOutcome.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { JobTable } from './job-table';
import { type FunctionDefaults, ServiceFunction } from './service-function';

export interface WebhooksProps {
  readonly jobTable: JobTable;
  readonly functions: FunctionDefaults;
  /**
   * How often due deliveries are swept.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
}

export class Webhooks extends Construct {
  readonly sender: ServiceFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(1);
    if (interval.toMinutes({ integral: false }) < 1) {
      throw new Error(`Webhooks: interval must be at least one minute, got ${interval.toHumanString()}`);
    }
    this.sender = new ServiceFunction(this, 'Sender', {
      handler: 'deliverWebhooks',
      defaults: props.functions,
      description: 'Delivers signed job.finished webhooks from the outbox, with retries',
      memorySize: 256,
      // A sweep runs parallel attempts of at most 10 s each and stops starting new ones near the end.
      timeout: Duration.minutes(2),
    });
    const fn = this.sender.fn;
    props.jobTable.grantReadWrite(fn);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'k2p-web webhook deliveries due',
      schedule: events.Schedule.rate(interval),
      // A missed tick is harmless: the next one finds the same due jobs.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
