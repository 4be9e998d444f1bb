/**
 * Local DynamoDB: dynalite on 127.0.0.1 keeping its data in the data
 * directory, with the template's tables (created on the first start; they
 * survive restarts).
 */
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { closeServer, listen } from '../host/ports';
import type { TableModel } from '../model/stack-model';
import { LOCAL_CREDENTIALS } from './credentials';

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

async function createTables(endpoint: string, region: string, tables: TableModel[]): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of tables) {
      if (existing.has(table.name)) continue;
      const input: CreateTableCommandInput = {
        TableName: table.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: table.attributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        KeySchema: table.keySchema as CreateTableCommandInput['KeySchema'],
        ...(table.globalSecondaryIndexes.length
          ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'] }
          : {}),
      };
      await client.send(new CreateTableCommand(input));
    }
  } finally {
    client.destroy();
  }
}

export async function startDynamo(options: DynamoOptions): Promise<LocalDynamo> {
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
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
