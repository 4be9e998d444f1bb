import { describe, expect, it } from 'vitest';
import { flatten, fullStack, logicalIdOf, resourcesOf } from './fixtures';

describe('Monitoring', () => {
  const { stack, template } = fullStack();
  const topicId = logicalIdOf(stack, stack.monitoring.alarmTopic);
  const alarms: Record<string, Record<string, unknown>> = Object.fromEntries(
    resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, a]) => [a.Properties.AlarmName as string, a.Properties]),
  );

  it('publishes every alarm (and its recovery) to the alarm topic', () => {
    expect(Object.keys(alarms).sort()).toEqual(
      ['Api5xxRate', 'ExecutionsFailed', 'ExecutionsTimedOut', 'InFlightAtLimit', 'ReaperFoundStuckJobs', 'ValidationFailures']
        .map((n) => `K2pWeb-${n}`)
        .sort(),
    );
    for (const alarm of Object.values(alarms)) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });

  it('alarms on the API 5xx rate, failed and timed-out executions, a non-empty DLQ, reaper interventions and in-flight at the limit for 15 minutes', () => {
    expect(alarms['K2pWeb-Api5xxRate']).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Threshold: 0.05,
      EvaluationPeriods: 3,
    });
    expect(alarms['K2pWeb-ExecutionsFailed']).toMatchObject({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed', Threshold: 1 });
    expect(alarms['K2pWeb-ExecutionsTimedOut']).toMatchObject({ Namespace: 'AWS/States', MetricName: 'ExecutionsTimedOut', Threshold: 1 });
    expect(alarms['K2pWeb-ValidationFailures']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(stack, stack.validation.failureQueue), 'QueueName'] } }],
      Threshold: 1,
    });
    expect(alarms['K2pWeb-ReaperFoundStuckJobs']).toMatchObject({ Namespace: 'K2pWeb', MetricName: 'ReaperInterventions', Threshold: 1 });
    expect(alarms['K2pWeb-InFlightAtLimit']).toMatchObject({
      Namespace: 'K2pWeb',
      MetricName: 'InFlightJobs',
      Statistic: 'Maximum',
      Threshold: 20,
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('requires TLS to publish to the topic, and subscribes the alarm e-mail only when configured', () => {
    const [, policy] = resourcesOf(template, 'AWS::SNS::TopicPolicy')[0]!;
    expect(policy!.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const withEmail = fullStack({ alarmEmail: 'ops@example.com' }).template;
    withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('builds one dashboard covering routes, jobs, conversions, functions, the state machine, the DLQ and the Fargate tasks', () => {
    const dashboards = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = flatten(dashboards[0]![1].Properties.DashboardBody);
    for (const expected of [
      'GET /jobs/{id}/result',
      'POST /jobs',
      '"K2pWeb","JobsCreated"',
      '"K2pWeb","JobsCancelled"',
      'POST /jobs/{id}/cancel',
      'task-stopped',
      'MetricName=\\"JobsRejected\\"',
      'MetricName=\\"JobsFailed\\"',
      'ConversionDuration',
      'ValidationDuration',
      'InFlightJobs',
      '"K2pWeb","WebhooksDelivered"',
      '"K2pWeb","WebhookAttemptsFailed"',
      '"K2pWeb","WebhooksFailed"',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ApproximateNumberOfMessagesVisible',
      'ECS/ContainerInsights',
      'CpuUtilized',
      'MemoryUtilized',
      'Throttles',
      'validate-upload',
      'record-outcome',
      'reaper',
    ]) {
      expect(body).toContain(expected);
    }
  });
});
