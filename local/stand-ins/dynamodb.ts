/**
 * Local DynamoDB: dynalite on 127.0.0.1 keeping its data in the data
 * directory, with the template's tables (created on the first start; they
 * survive restarts). A kept table whose indexes differ from the template's is
 * rebuilt with its items (dynalite cannot add an index to a table). Write
 * transactions come from dynamodb-transactions.ts (dynalite has none).
 */
import type { Server } from 'node:http';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
  type AttributeValue,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { closeServer, listen } from '../host/ports';
import type { TableModel } from '../model/stack-model';
import { LOCAL_CREDENTIALS } from './credentials';
import { addWriteTransactions } from './dynamodb-transactions';

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

export interface DynamoOptions {
  /** Where dynalite keeps the tables. */
  directory: string;
  port: number;
  region: string;
  tables: TableModel[];
}

function tableInput(table: TableModel): CreateTableCommandInput {
  return {
    TableName: table.name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: table.attributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: table.keySchema as CreateTableCommandInput['KeySchema'],
    ...(table.globalSecondaryIndexes.length
      ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'] }
      : {}),
  };
}

/** Whether the kept table has exactly the template's indexes. */
async function hasIndexes(client: DynamoDBClient, table: TableModel): Promise<boolean> {
  const described = await client.send(new DescribeTableCommand({ TableName: table.name }));
  const names = (described.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort();
  return JSON.stringify(names) === JSON.stringify(table.globalSecondaryIndexes.map((index) => index.IndexName).sort());
}

/** Waits (briefly: dynalite changes state on its next tick) until the table is in `status`, or gone for undefined. */
async function settled(client: DynamoDBClient, name: string, status: 'ACTIVE' | undefined): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const current = await client
      .send(new DescribeTableCommand({ TableName: name }))
      .then((out) => out.Table?.TableStatus)
      .catch((error: { name?: string }) => {
        if (error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      });
    if (current === status) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Local table ${name} did not become ${status ?? 'deleted'}`);
}

/** Re-creates a kept table with the template's indexes, keeping its items (local data is small: one Scan). */
async function rebuild(client: DynamoDBClient, table: TableModel): Promise<void> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table.name, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  await client.send(new DeleteTableCommand({ TableName: table.name }));
  await settled(client, table.name, undefined);
  await client.send(new CreateTableCommand(tableInput(table)));
  await settled(client, table.name, 'ACTIVE');
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table.name]: batch } }));
  }
}

async function createTables(endpoint: string, region: string, tables: TableModel[]): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of tables) {
      if (!existing.has(table.name)) await client.send(new CreateTableCommand(tableInput(table)));
      else if (!(await hasIndexes(client, table))) await rebuild(client, table);
    }
  } finally {
    client.destroy();
  }
}

export async function startDynamo(options: DynamoOptions): Promise<LocalDynamo> {
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  addWriteTransactions(server);
  const port = await listen(server, options.port, 'local DynamoDB (dynalite)');
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await createTables(endpoint, options.region, options.tables);
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  return { endpoint, close: () => closeServer(server) };
}
