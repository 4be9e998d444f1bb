import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { RemovalPolicy } from 'aws-cdk-lib';
import { TABLE } from '../../core/service-env';
import { JobTable } from '../../lib/job-table';
import { newStack } from './fixtures';

/** The admin listing's indexes: status, error code (sparse), creation month; each sorted by createdAt. */
const ADMIN_INDEXES = (
  [
    [TABLE.statusIndex, TABLE.statusIndexPartitionKey, TABLE.statusIndexSortKey],
    [TABLE.codeIndex, TABLE.codeIndexPartitionKey, TABLE.codeIndexSortKey],
    [TABLE.monthIndex, TABLE.monthIndexPartitionKey, TABLE.monthIndexSortKey],
  ] as const
).map(([name, pk, sk]) => ({
  IndexName: name,
  KeySchema: [
    { AttributeName: pk, KeyType: 'HASH' },
    { AttributeName: sk, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'ALL' },
}));

describe('JobTable', () => {
  it('is on demand with the pk key, point-in-time recovery and TTL on expiresAt', () => {
    const stack = newStack();
    new JobTable(stack, 'JobTable');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has the byOwner index on owner + createdAt, and the sparse byWebhookDue index', () => {
    const stack = newStack();
    new JobTable(stack, 'JobTable');
    const table = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'))[0]!;
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: TABLE.ownerIndex,
        KeySchema: [
          { AttributeName: TABLE.ownerIndexPartitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.ownerIndexSortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: TABLE.webhookIndex,
        KeySchema: [
          { AttributeName: TABLE.webhookIndexPartitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.webhookIndexSortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      ...ADMIN_INDEXES,
    ]);
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE.ownerIndexPartitionKey, AttributeType: 'S' },
        { AttributeName: TABLE.ownerIndexSortKey, AttributeType: 'S' },
      ]),
    );
  });

  it('has the admin indexes: byStatus on status, the sparse byErrorCode on errorCode, byCreatedMonth; all sorted by createdAt', () => {
    const stack = newStack();
    new JobTable(stack, 'JobTable');
    const table = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'))[0]!;
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(expect.arrayContaining(ADMIN_INDEXES));
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        [TABLE.statusIndexPartitionKey, TABLE.codeIndexPartitionKey, TABLE.monthIndexPartitionKey].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
      ),
    );
  });

  it('gains the admin indexes one per deploy when asked (CloudFormation adds one GSI per table update)', () => {
    const names = (adminIndexes: number) => {
      const stack = newStack();
      new JobTable(stack, 'JobTable', { adminIndexes });
      const table = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'))[0]!;
      return (table.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).map((index) => index.IndexName);
    };
    expect(names(0)).toEqual([TABLE.ownerIndex, TABLE.webhookIndex]);
    expect(names(1)).toEqual([TABLE.ownerIndex, TABLE.webhookIndex, TABLE.statusIndex]);
    expect(names(2)).toEqual([TABLE.ownerIndex, TABLE.webhookIndex, TABLE.statusIndex, TABLE.codeIndex]);
  });

  it('can be destroyed with the stack when asked', () => {
    const stack = newStack();
    new JobTable(stack, 'JobTable', { removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });
});
