import { describe, expect, it } from 'vitest';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TABLE } from '../../core/service-env';
import { JobTable } from '../../lib/job-table';
import { Webhooks } from '../../lib/webhooks';
import { LAMBDA_ENV } from '../../core/service-env';
import { fullStack, functionDefaults, logicalIdOf, newStack, stateMachineDefinition, statementsOfRole } from './fixtures';

function build(interval?: Duration) {
  const stack = newStack('Hooks');
  const jobTable = new JobTable(stack, 'JobTable');
  const webhooks = new Webhooks(stack, 'Webhooks', { jobTable, functions: functionDefaults, interval });
  return { stack, jobTable, webhooks, template: Template.fromStack(stack) };
}

describe('Webhooks', () => {
  const { stack, jobTable, webhooks, template } = build();
  const fnId = logicalIdOf(stack, webhooks.sender.fn);

  it('sweeps due deliveries every minute; a missed tick is not retried (the next one finds the same jobs)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Id: 'Target0', RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } },
      ],
    });
    expect(() => build(Duration.seconds(30))).toThrow(/at least one minute/);
  });

  it('runs outside any VPC (receivers are on the internet), with a timeout that fits parallel 10 s attempts', () => {
    const fn = template.toJSON().Resources[fnId].Properties;
    expect(fn.VpcConfig).toBeUndefined();
    expect(fn.Timeout).toBe(120);
    expect(fn.Handler).toBe('index.handler');
  });

  it('may use the jobs table and its indexes only (no wildcard beyond the table’s own index ARNs)', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, webhooks.sender.role));
    const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    const tableId = logicalIdOf(stack, jobTable.table);
    for (const statement of dynamo) {
      for (const resource of [statement.Resource].flat()) {
        expect(JSON.stringify(resource)).toContain(tableId);
      }
    }
    const wildcards = statements.filter((s) => [s.Resource].flat().includes('*'));
    expect(wildcards.flatMap((s) => [s.Action].flat()).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('has a sparse byWebhookDue index on the jobs table (queue partition, due time sort key, whole item projected)', () => {
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]!.Properties;
    expect(table.GlobalSecondaryIndexes).toContainEqual({
      IndexName: TABLE.webhookIndex,
      KeySchema: [
        { AttributeName: TABLE.webhookIndexPartitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE.webhookIndexSortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
  });
});

describe('Webhooks in the stack', () => {
  const { stack, template } = fullStack();
  const senderId = logicalIdOf(stack, stack.webhooks.sender.fn);

  it('nudges the sender for the job after RecordOutcome (asynchronously; a failed nudge still ends Done)', () => {
    const states = stateMachineDefinition(template).States;
    expect(states.RecordOutcome).toMatchObject({ Next: 'NotifyFinished' });
    expect(states.NotifyFinished).toMatchObject({
      Type: 'Task',
      Resource: 'arn:${AWS::Partition}:states:::lambda:invoke',
      Parameters: { FunctionName: `\${${senderId}.Arn}`, InvocationType: 'Event', Payload: { 'jobId.$': '$.jobId' } },
      ResultPath: null,
      Next: 'Done',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Done' }],
    });
  });

  it('hands every function the callback policy: https only and no allow-list by default, the operator’s when configured', () => {
    const env = template.toJSON().Resources[senderId].Properties.Environment.Variables;
    expect([env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS], env[LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]]).toEqual(['', 'false']);
    const configured = fullStack({ webhookAllowCidrs: ['10.20.0.0/16'], webhookAllowHttp: true }, 'Configured');
    const createJob = logicalIdOf(configured.stack, configured.stack.api.functions.createJob.fn);
    const vars = configured.template.toJSON().Resources[createJob].Properties.Environment.Variables;
    expect([vars[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS], vars[LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]]).toEqual(['10.20.0.0/16', 'true']);
  });
});
