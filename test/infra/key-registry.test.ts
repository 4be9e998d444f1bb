import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KEY_TABLE } from '../../core/principal';
import { KeyRegistry } from '../../lib/key-registry';
import { newStack } from './fixtures';

describe('KeyRegistry', () => {
  it('is on demand, keyed by the key hash, KMS-encrypted, with point-in-time recovery and deletion protection', () => {
    const stack = newStack();
    new KeyRegistry(stack, 'KeyRegistry');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: KEY_TABLE.partitionKey, KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('grants the authorizer GetItem and UpdateItem on the table itself, not its indexes', () => {
    const stack = newStack();
    const registry = new KeyRegistry(stack, 'KeyRegistry');
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'x.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
    });
    registry.grantAuthorize(fn);
    const policy = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0]!;
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string[]; Resource: unknown }[];
    expect(statements).toHaveLength(1);
    expect([...statements[0]!.Action].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(JSON.stringify(statements[0]!.Resource)).not.toContain('*');
  });
});
