/**
 * Local mode's principals: every start registers the local API keys in the
 * template's key registry table (dynalite), so the same authorizer that runs
 * in AWS admits them. Principal ids are the keys' API Gateway ids, as for
 * keys registered from existing API Gateway keys, so jobs made before keep
 * their owner; each record names that id as its apiGatewayKeyId, so the key
 * stays in its own usage plan (the page's key keeps its plan's blocks). Only
 * hashes reach the table.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { hashApiKey } from '../../core/node/api-key';
import { KEY_TABLE, type Principal } from '../../core/principal';
import type { TableModel } from '../model/stack-model';
import { LOCAL_CREDENTIALS } from '../stand-ins/credentials';

export interface SeededKey {
  value: string;
  principal: Principal;
  /** The local API Gateway key the value is (its usage plan throttles it). */
  apiGatewayKeyId: string;
}

/** The template's key registry table (keyed by the key hash); undefined when the template has none. */
export function keyRegistryTable(tables: TableModel[]): TableModel | undefined {
  return tables.find((t) => t.keySchema.length === 1 && t.keySchema[0]!.AttributeName === KEY_TABLE.partitionKey);
}

/** Registers (or re-registers, enabled) each key with its principal. */
export async function seedKeys(options: {
  endpoint: string;
  region: string;
  tableName: string;
  keys: SeededKey[];
  now: Date;
}): Promise<void> {
  const client = new DynamoDBClient({ endpoint: options.endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  try {
    for (const { value, principal, apiGatewayKeyId } of options.keys) {
      await client.send(
        new PutItemCommand({
          TableName: options.tableName,
          Item: {
            [KEY_TABLE.partitionKey]: { S: hashApiKey(value) },
            principalId: { S: principal.id },
            name: { S: principal.name },
            kind: { S: principal.kind },
            role: { S: principal.role },
            enabled: { BOOL: true },
            createdAt: { S: options.now.toISOString() },
            apiGatewayKeyId: { S: apiGatewayKeyId },
          },
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
