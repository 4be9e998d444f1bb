/**
 * TransactWriteItems on dynalite (local/stand-ins/dynamodb-transactions.ts), through the AWS SDK as the functions
 * call it: every item applied, or — when one condition is refused — none, with DynamoDB's cancellation reasons; and
 * a request arriving meanwhile never sees half a transaction.
 */
import { BatchGetCommand, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_TABLE } from '../../../core/principal';
import { startLocalAws, type LocalAws } from '../../support/local-aws';

let aws: LocalAws;
const key = (id: string) => ({ [KEY_TABLE.partitionKey]: id });

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws?.stop();
});

const get = async (id: string) =>
  (await aws.ddb.send(new GetCommand({ TableName: aws.keyTableName, Key: key(id), ConsistentRead: true }))).Item;

function replace(oldId: string, newId: string, condition = 'attribute_exists(#k)') {
  return new TransactWriteCommand({
    TransactItems: [
      {
        Put: {
          TableName: aws.keyTableName,
          Item: { ...key(newId), principalId: 'p', name: newId },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
        },
      },
      {
        Delete: {
          TableName: aws.keyTableName,
          Key: key(oldId),
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
        },
      },
    ],
  });
}

describe('TransactWriteItems on the local DynamoDB', () => {
  it('applies every item when every condition holds', async () => {
    await aws.ddb.send(new PutCommand({ TableName: aws.keyTableName, Item: { ...key('a1'), principalId: 'p', name: 'old' } }));
    await aws.ddb.send(replace('a1', 'a2'));
    expect(await get('a1')).toBeUndefined();
    expect(await get('a2')).toMatchObject({ name: 'a2' });
  });

  it('applies none when one condition is refused, with a reason per item', async () => {
    const error = await aws.ddb.send(replace('missing', 'b2')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    // The Put that went first was taken back.
    expect(await get('b2')).toBeUndefined();
    // An item the transaction changed and had to restore is as it was.
    await aws.ddb.send(new PutCommand({ TableName: aws.keyTableName, Item: { ...key('c1'), principalId: 'p', name: 'kept' } }));
    const overwrite = new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: aws.keyTableName, Item: { ...key('c1'), principalId: 'p', name: 'changed' } } },
        { ConditionCheck: { TableName: aws.keyTableName, Key: key('nothing'), ConditionExpression: 'attribute_exists(principalId)' } },
      ],
    });
    expect(await aws.ddb.send(overwrite).catch((e: { name: string }) => e.name)).toBe('TransactionCanceledException');
    expect(await get('c1')).toMatchObject({ name: 'kept' });
    expect(await get('nothing')).toBeUndefined();
  });

  it('is seen whole or not at all by requests running beside it', async () => {
    await aws.ddb.send(new PutCommand({ TableName: aws.keyTableName, Item: { ...key('d0'), principalId: 'p', name: 'd0' } }));
    const seen: [boolean, boolean][] = [];
    let current = 'd0';
    for (let i = 1; i <= 20; i++) {
      const next = `d${i}`;
      // One request reads both items: it runs wholly before or wholly after the transaction.
      const both = new BatchGetCommand({ RequestItems: { [aws.keyTableName]: { Keys: [key(current), key(next)], ConsistentRead: true } } });
      const [, read] = await Promise.all([aws.ddb.send(replace(current, next)), aws.ddb.send(both)]);
      const ids = (read.Responses?.[aws.keyTableName] ?? []).map((item) => item[KEY_TABLE.partitionKey]);
      seen.push([ids.includes(current), ids.includes(next)]);
      current = next;
    }
    // Exactly one of the two items existed each time.
    for (const [oldThere, newThere] of seen) expect(oldThere !== newThere).toBe(true);
  });
});
