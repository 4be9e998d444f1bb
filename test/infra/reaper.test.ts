import { describe, expect, it } from 'vitest';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LAMBDA_ENV } from '../../core/service-env';
import { JobTable } from '../../lib/job-table';
import { Reaper } from '../../lib/reaper';
import { Storage } from '../../lib/storage';
import { flatten, functionDefaults, logicalIdOf, newStack, statementsOfRole } from './fixtures';

function build(interval?: Duration) {
  const stack = newStack('Reap');
  const storage = new Storage(stack, 'Storage', { corsOrigins: ['https://site.example'] });
  const jobTable = new JobTable(stack, 'JobTable');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')),
  });
  const reaper = new Reaper(stack, 'Reaper', { storage, jobTable, stateMachine, functions: functionDefaults, interval });
  return { stack, reaper, stateMachine, template: Template.fromStack(stack) };
}

describe('Reaper', () => {
  const { stack, reaper, stateMachine, template } = build();
  const fnId = logicalIdOf(stack, reaper.function.fn);

  it('runs every 5 minutes, one sweep at a time', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Id: 'Target0', RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } },
      ],
    });
    const fn = template.toJSON().Resources[fnId].Properties;
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Environment.Variables[LAMBDA_ENV.STATE_MACHINE_ARN]).toEqual({ Ref: logicalIdOf(stack, stateMachine) });
    expect(() => build(Duration.seconds(30))).toThrow(/at least one minute/);
  });

  it('may describe, restart and stop executions, use the table and delete job data', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, reaper.function.role));
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('states:')).sort()).toEqual([
      'states:DescribeExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    const s3 = statements.filter((s) => String(s.Action).startsWith('s3:'));
    expect(s3.map((s) => `${s.Action} ${flatten(s.Resource).replace(/^\$\{[^}]+\}/, '<bucket>')}`).sort()).toEqual([
      's3:DeleteObject <bucket>/bundles/*',
      's3:DeleteObject <bucket>/results/*',
    ]);
  });
});
