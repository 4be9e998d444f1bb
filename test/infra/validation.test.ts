import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BUNDLE_PREFIX, LAMBDA_ENV } from '../../core/service-env';
import { JobTable } from '../../lib/job-table';
import { Storage } from '../../lib/storage';
import { UploadValidation } from '../../lib/validation';
import { flatten, functionDefaults, logicalIdOf, newStack, resourcesOf, statementsOfRole } from './fixtures';

function build(props: Partial<ConstructorParameters<typeof UploadValidation>[2]> = {}) {
  const stack = newStack('Val');
  const storage = new Storage(stack, 'Storage', { corsOrigins: ['https://site.example'] });
  const jobTable = new JobTable(stack, 'JobTable');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')),
  });
  const validation = new UploadValidation(stack, 'Validation', { storage, jobTable, stateMachine, functions: functionDefaults, ...props });
  return { stack, validation, stateMachine, template: Template.fromStack(stack) };
}

describe('UploadValidation', () => {
  const { stack, validation, stateMachine, template } = build();
  const fnId = logicalIdOf(stack, validation.function.fn);

  it('runs with bounded (reserved) concurrency and knows the state machine', () => {
    const fn = template.toJSON().Resources[fnId].Properties;
    expect(fn.ReservedConcurrentExecutions).toBe(5);
    expect(fn.Environment.Variables[LAMBDA_ENV.STATE_MACHINE_ARN]).toEqual({ Ref: logicalIdOf(stack, stateMachine) });
    expect(fn.Environment.Variables.SHARED_ENV).toBe('shared');
    expect(build({ reservedConcurrency: 2 }).template.toJSON().Resources[fnId].Properties.ReservedConcurrentExecutions).toBe(2);
  });

  it('is triggered by ObjectCreated under bundles/ only', () => {
    const [, notifications] = resourcesOf(template, 'Custom::S3BucketNotifications')[0]!;
    expect(notifications!.Properties.NotificationConfiguration.LambdaFunctionConfigurations).toEqual([
      {
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: BUNDLE_PREFIX }] } },
        LambdaFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      },
    ]);
  });

  it('retries a failed invocation twice, then sends the event to an encrypted, TLS-only failure queue', () => {
    const queueId = logicalIdOf(stack, validation.failureQueue);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    const [, policy] = resourcesOf(template, 'AWS::SQS::QueuePolicy')[0]!;
    expect(policy!.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
    expect(() => build({ retryAttempts: 3 })).toThrow(/retryAttempts/);
  });

  it('may read, list and delete bundles, use the job table and start executions — nothing more', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, validation.function.role));
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions.filter((a: string) => a.startsWith('s3:'))).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket']);
    expect(
      statements.filter((s) => String(s.Action).startsWith('s3:') && s.Action !== 's3:ListBucket').map((s) => flatten(s.Resource)),
    ).toEqual([expect.stringMatching(/\/bundles\/\*$/), expect.stringMatching(/\/bundles\/\*$/)]);
    expect(actions).toContain('states:StartExecution');
    expect(actions.filter((a: string) => a.startsWith('states:'))).toEqual(['states:StartExecution']);
    expect(actions.some((a: string) => a.includes('*'))).toBe(false);
  });
});
