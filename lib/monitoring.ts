/**
 * The operating picture: one CloudWatch dashboard (cdk-monitoring-constructs
 * for the API, functions, state machine and queue; custom widgets for the
 * service's own metrics and the one-off Fargate tasks) and the alarms that
 * need a human, published to an SNS topic with an optional e-mail subscriber.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DefaultDashboardFactory, MonitoringFacade } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { ERROR_CODE_DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../core/metrics';

export interface MonitoredRoute {
  /** HTTP method, e.g. GET. */
  readonly method: string;
  /** Resource path as API Gateway names it, e.g. /jobs/{id}. */
  readonly path: string;
}

export interface MonitoringProps {
  readonly api: apigw.RestApi;
  /** Routes charted one by one (requests, 4xx, 5xx, latency). */
  readonly routes: readonly MonitoredRoute[];
  /** Functions charted (errors, throttles, duration), by display name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly stateMachine: sfn.IStateMachine;
  /** The validator's on-failure destination. */
  readonly failureQueue: sqs.IQueue;
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.TaskDefinition;
  /** The admission limit the in-flight gauge is compared with. */
  readonly globalInFlightLimit: number;
  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription (subscribe to the topic yourself)
   */
  readonly alarmEmail?: string;
  /**
   * Share of API requests answered 5xx that raises the alarm (0–1).
   * @default 0.05
   */
  readonly api5xxRateThreshold?: number;
}

export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: Readonly<
    Record<
      'api5xxRate' | 'executionsFailed' | 'executionsTimedOut' | 'failureQueueNotEmpty' | 'reaperInterventions' | 'inFlightAtLimit',
      cloudwatch.Alarm
    >
  >;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: `k2p-web alarms (${stackName})`, enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.alarms = this.createAlarms(props);
    this.dashboard = this.createDashboard(props);
  }

  private createAlarms(props: MonitoringProps): Monitoring['alarms'] {
    const stackName = Stack.of(this).stackName;
    const action = new cwActions.SnsAction(this.alarmTopic);
    const alarm = (id: string, description: string, p: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>) => {
      const a = new cloudwatch.Alarm(this, id, { alarmName: `${stackName}-${id}`, alarmDescription: description, ...p });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    const five = Duration.minutes(5);
    const apiDims = { ApiName: props.api.restApiName, Stage: props.api.deploymentStage.stageName };

    return {
      api5xxRate: alarm('Api5xxRate', 'More than 5 % of API requests failed with 5xx for 15 minutes', {
        // 5XXError is 0 or 1 per request: its average is the error rate.
        metric: new cloudwatch.Metric({
          namespace: 'AWS/ApiGateway',
          metricName: '5XXError',
          dimensionsMap: apiDims,
          statistic: 'Average',
          period: five,
        }),
        threshold: props.api5xxRateThreshold ?? 0.05,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      executionsFailed: alarm('ExecutionsFailed', 'A conversion execution failed: its job was left to the reaper', {
        metric: props.stateMachine.metricFailed({ period: five, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      executionsTimedOut: alarm('ExecutionsTimedOut', 'A conversion execution hit the state machine timeout', {
        metric: props.stateMachine.metricTimedOut({ period: five, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      failureQueueNotEmpty: alarm('ValidationFailures', 'Upload events the validator failed on are waiting in its failure queue', {
        metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      reaperInterventions: alarm('ReaperFoundStuckJobs', 'The reaper had to finish or repair stuck jobs', {
        metric: serviceMetric(METRIC.reaperInterventions, 'Sum', five),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      inFlightAtLimit: alarm('InFlightAtLimit', `Jobs in flight stayed at the limit (${props.globalInFlightLimit}) for 15 minutes`, {
        metric: serviceMetric(METRIC.inFlightJobs, 'Maximum', five),
        threshold: props.globalInFlightLimit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
  }

  private createDashboard(props: MonitoringProps): cloudwatch.Dashboard {
    const stackName = Stack.of(this).stackName;
    const factory = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: `${stackName}-k2p-web`,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
      detailDashboardRange: Duration.hours(24),
    });
    const facade = new MonitoringFacade(this, 'Facade', {
      dashboardFactory: factory,
      alarmFactoryDefaults: { alarmNamePrefix: stackName, actionsEnabled: false },
      metricFactoryDefaults: {},
    });
    const five = Duration.minutes(5);

    facade.addLargeHeader('k2p-web: jobs');
    facade.monitorCustom({
      humanReadableName: 'Jobs',
      alarmFriendlyName: 'Jobs',
      metricGroups: [
        {
          title: 'Jobs by outcome',
          metrics: [
            serviceMetric(METRIC.jobsCreated, 'Sum', five, 'created'),
            serviceMetric(METRIC.jobsQueued, 'Sum', five, 'queued'),
            serviceMetric(METRIC.jobsSucceeded, 'Sum', five, 'succeeded'),
            byCodeTotal(METRIC.jobsRejected, 'rejected', five),
            byCodeTotal(METRIC.jobsFailed, 'failed / timed out', five),
            serviceMetric(METRIC.jobsExpired, 'Sum', five, 'expired'),
            serviceMetric(METRIC.jobsCancelled, 'Sum', five, 'cancelled'),
          ],
        },
        { title: 'Rejected by code', metrics: [byCode(METRIC.jobsRejected, five)] },
        { title: 'Failed by code', metrics: [byCode(METRIC.jobsFailed, five)] },
        { title: 'Admission refused by code', metrics: [byCode(METRIC.admissionRejected, five)] },
        {
          title: 'Conversion duration (ms)',
          metrics: [
            serviceMetric(METRIC.conversionDuration, 'p50', five, 'p50'),
            serviceMetric(METRIC.conversionDuration, 'p90', five, 'p90'),
            serviceMetric(METRIC.conversionDuration, 'Maximum', five, 'max'),
          ],
        },
        {
          title: 'Validation duration (ms)',
          metrics: [
            serviceMetric(METRIC.validationDuration, 'p50', five, 'p50'),
            serviceMetric(METRIC.validationDuration, 'p90', five, 'p90'),
            serviceMetric(METRIC.validationDuration, 'Maximum', five, 'max'),
          ],
        },
        {
          title: `In-flight jobs (limit ${props.globalInFlightLimit})`,
          metrics: [serviceMetric(METRIC.inFlightJobs, 'Maximum', five, 'in flight')],
          horizontalAnnotations: [{ value: props.globalInFlightLimit, label: 'limit', color: '#d62728' }],
        },
        {
          title: 'Reaper',
          metrics: [
            serviceMetric(METRIC.reaperInterventions, 'Sum', five, 'jobs finished/repaired'),
            serviceMetric(METRIC.capacityRepairs, 'Sum', five, 'slots repaired'),
          ],
        },
        {
          title: 'Webhooks',
          metrics: [
            serviceMetric(METRIC.webhooksDelivered, 'Sum', five, 'delivered'),
            serviceMetric(METRIC.webhookAttemptsFailed, 'Sum', five, 'attempts failed (retrying)'),
            serviceMetric(METRIC.webhooksFailed, 'Sum', five, 'given up'),
          ],
        },
      ],
    });

    facade.addLargeHeader('API per route');
    for (const route of props.routes) {
      facade.monitorApiGateway({
        api: props.api,
        apiStage: props.api.deploymentStage.stageName,
        apiMethod: route.method,
        apiResource: route.path,
        humanReadableName: `${route.method} ${route.path}`,
        alarmFriendlyName: `${route.method}${route.path}`.replace(/[^A-Za-z0-9]/g, ''),
      });
    }

    facade.addLargeHeader('Conversion');
    facade.monitorStepFunction({
      stateMachine: props.stateMachine,
      humanReadableName: 'Conversion state machine',
      alarmFriendlyName: 'StateMachine',
    });
    // cdk-monitoring-constructs has no monitor for one-off tasks: Container Insights by task family.
    const taskDims = { ClusterName: props.cluster.clusterName, TaskDefinitionFamily: props.taskDefinition.family };
    const insights = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'ECS/ContainerInsights', metricName, dimensionsMap: taskDims, statistic, period: five, label });
    facade.monitorCustom({
      humanReadableName: 'Fargate converter tasks',
      alarmFriendlyName: 'ConverterTasks',
      metricGroups: [
        {
          title: 'Task CPU (units)',
          metrics: [
            insights('CpuUtilized', 'Average', 'avg'),
            insights('CpuUtilized', 'Maximum', 'max'),
            insights('CpuReserved', 'Maximum', 'reserved'),
          ],
        },
        {
          title: 'Task memory (MiB)',
          metrics: [
            insights('MemoryUtilized', 'Average', 'avg'),
            insights('MemoryUtilized', 'Maximum', 'max'),
            insights('MemoryReserved', 'Maximum', 'reserved'),
          ],
        },
        { title: 'Running tasks', metrics: [insights('TaskCount', 'Maximum', 'tasks')] },
      ],
    });
    facade.monitorSqsQueue({ queue: props.failureQueue, humanReadableName: 'Validation failure queue', alarmFriendlyName: 'FailureQueue' });

    facade.addLargeHeader('Functions');
    for (const [name, fn] of Object.entries(props.functions)) {
      facade.monitorLambdaFunction({ lambdaFunction: fn, humanReadableName: name, alarmFriendlyName: name.replace(/[^A-Za-z0-9]/g, '') });
    }

    const dashboard = factory.dashboard;
    if (!dashboard) throw new Error('Monitoring: the dashboard factory created no dashboard');
    return dashboard;
  }
}

/** A metric the handlers emit through Powertools (namespace K2pWeb, dimension service=k2p-web). */
export function serviceMetric(metricName: string, statistic: string, period: Duration, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
    label,
  });
}

function searchByCode(metricName: string, period: Duration): string {
  return `SEARCH('{${METRICS_NAMESPACE},${ERROR_CODE_DIMENSION},service} service="${SERVICE_NAME}" MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`;
}

/** One line per error code. */
function byCode(metricName: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: searchByCode(metricName, period), label: '', period });
}

/** The sum over every error code. */
function byCodeTotal(metricName: string, label: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: `SUM(${searchByCode(metricName, period)})`, label, period });
}
