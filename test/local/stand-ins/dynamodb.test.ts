import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { TableModel } from '../../../local/model/stack-model';
import { LOCAL_CREDENTIALS } from '../../../local/stand-ins/credentials';
import { startDynamo } from '../../../local/stand-ins/dynamodb';

const dir = mkdtempSync(join(tmpdir(), 'k2p-dynamo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: TableModel = {
  logicalId: 'JobsTable',
  name: 'k2p-jobs',
  keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  attributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  globalSecondaryIndexes: [],
} as unknown as TableModel;

const withIndex: TableModel = {
  ...base,
  attributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
    { AttributeName: 'createdAt', AttributeType: 'S' },
  ],
  globalSecondaryIndexes: [
    {
      IndexName: 'byStatus',
      KeySchema: [
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
} as unknown as TableModel;

describe('local DynamoDB', () => {
  it('rebuilds a kept table that lacks an index of the template, keeping its items', async () => {
    const first = await startDynamo({ directory: dir, port: 0, region: 'us-east-1', tables: [base] });
    const client = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    const before = client(first.endpoint);
    await before.send(
      new PutItemCommand({ TableName: 'k2p-jobs', Item: { pk: { S: 'JOB#1' }, status: { S: 'FAILED' }, createdAt: { S: '2026-12-06' } } }),
    );
    before.destroy();
    await first.close();

    const second = await startDynamo({ directory: dir, port: 0, region: 'us-east-1', tables: [withIndex] });
    const after = client(second.endpoint);
    try {
      const found = await after.send(
        new QueryCommand({
          TableName: 'k2p-jobs',
          IndexName: 'byStatus',
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'FAILED' } },
        }),
      );
      expect(found.Items?.map((item) => item.pk?.S)).toEqual(['JOB#1']);
    } finally {
      after.destroy();
      await second.close();
    }
  });
});
