/**
 * The key registry (its own table, core/principal.ts KEY_TABLE): one item per
 * API key, keyed by the SHA-256 of the value (core/node/api-key.ts), with the
 * principal it belongs to. The value itself is never stored nor logged. People
 * sign in elsewhere (OpenID Connect); an operator's word on one of them (disabled,
 * or a role other than the token's groups give) is a standing item here.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { hashApiKey } from '../../core/node/api-key';
import { KEY_TABLE, type PrincipalKind, type PrincipalRole } from '../../core/principal';
import { isAwsError, isConditionFailure } from './aws-errors';
import { scanItems } from './dynamodb-client';

export interface KeyRecord {
  keyHash: string;
  principalId: string;
  name: string;
  kind: PrincipalKind;
  role: PrincipalRole;
  enabled: boolean;
  createdAt: string;
  lastUsedAt?: string;
  /**
   * The API Gateway key id the value is also registered as (an operator-made key in a usage plan of its own): the
   * authorizer then names the value itself as the usage-plan key. Without it the key counts against the Programs plan.
   */
  apiGatewayKeyId?: string;
  /** The key this one replaced by a rotation. */
  rotatedFrom?: string;
}

/** What an operator has set for a person, over what their tokens say. */
export interface PersonStanding {
  principalId: string;
  /** false: refused however valid their token. */
  enabled: boolean;
  /** Overrides the role the token's groups give. */
  role?: PrincipalRole;
  updatedAt: string;
}

const personKey = (principalId: string) => ({ [KEY_TABLE.partitionKey]: `${KEY_TABLE.personPrefix}${principalId}` });

const isPersonHash = (keyHash: string) => keyHash.startsWith(KEY_TABLE.personPrefix);
const isPersonItem = (item: Record<string, unknown>) => isPersonHash(String(item[KEY_TABLE.partitionKey]));

function toStanding(item: Record<string, unknown>): PersonStanding {
  const { principalId, enabled, role, updatedAt } = item as unknown as PersonStanding;
  return { principalId, enabled: enabled !== false, ...(role ? { role } : {}), updatedAt };
}

export class KeyRegistry {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The record of a key value, if registered (enabled or not). */
  async lookup(value: string): Promise<KeyRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { [KEY_TABLE.partitionKey]: hashApiKey(value) }, ConsistentRead: true }),
    );
    return out.Item as KeyRecord | undefined;
  }

  /** Registers a key value; false when that value is registered already. */
  async register(value: string, entry: Omit<KeyRecord, 'keyHash'>): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...entry, [KEY_TABLE.partitionKey]: hashApiKey(value) },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Enables or disables a registered key; false when it is not registered. */
  async setEnabled(keyHash: string, enabled: boolean): Promise<boolean> {
    return (await this.updateEnabled(keyHash, enabled)) !== undefined;
  }

  /** As setEnabled, returning the key's record after the change (undefined: no such key). */
  async updateEnabled(keyHash: string, enabled: boolean): Promise<KeyRecord | undefined> {
    if (isPersonHash(keyHash)) return undefined;
    try {
      const out = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY_TABLE.partitionKey]: keyHash },
          UpdateExpression: 'SET enabled = :e',
          ConditionExpression: 'attribute_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
          ExpressionAttributeValues: { ':e': enabled },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as KeyRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Names (or, with null, forgets) the API Gateway key the value also is; false when the key is not registered. */
  async setApiGatewayKeyId(keyHash: string, apiGatewayKeyId: string | null): Promise<boolean> {
    if (isPersonHash(keyHash)) return false;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY_TABLE.partitionKey]: keyHash },
          UpdateExpression: apiGatewayKeyId === null ? 'REMOVE apiGatewayKeyId' : 'SET apiGatewayKeyId = :g',
          ConditionExpression: 'attribute_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
          ...(apiGatewayKeyId === null ? {} : { ExpressionAttributeValues: { ':g': apiGatewayKeyId } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A key's record by its hash (never a person's standing item). */
  async get(keyHash: string): Promise<KeyRecord | undefined> {
    if (isPersonHash(keyHash)) return undefined;
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { [KEY_TABLE.partitionKey]: keyHash }, ConsistentRead: true }),
    );
    return out.Item as KeyRecord | undefined;
  }

  /**
   * Every key (no standing items): of one principal through the byPrincipal index, else a Scan — the registry holds
   * one item per key and per person with a standing, a small table read only by operators.
   */
  async listKeys(principalId?: string): Promise<KeyRecord[]> {
    const items: Record<string, unknown>[] = [];
    if (principalId !== undefined) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await this.ddb.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: KEY_TABLE.principalIndex,
            KeyConditionExpression: '#p = :p',
            ExpressionAttributeNames: { '#p': KEY_TABLE.principalIndexPartitionKey },
            ExpressionAttributeValues: { ':p': principalId },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
    } else {
      for await (const item of scanItems(this.ddb, { TableName: this.tableName })) items.push(item);
    }
    return items.filter((item) => !isPersonItem(item)) as unknown as KeyRecord[];
  }

  /** Every person with a standing (a Scan of the small registry, standing items only). */
  async listStandings(): Promise<PersonStanding[]> {
    const standings: PersonStanding[] = [];
    for await (const item of scanItems(this.ddb, { TableName: this.tableName })) if (isPersonItem(item)) standings.push(toStanding(item));
    return standings;
  }

  /**
   * Replaces a key by a new value in one transaction: the new item (same principal, name, kind, role and enabled,
   * `rotatedFrom` the old hash) is put and the old one deleted, only if the old one still exists. Returns the new
   * record, or undefined when the old key is gone. The new value is no API Gateway key, so it has no apiGatewayKeyId.
   */
  async rotate(oldHash: string, newValue: string, nowIso: string): Promise<KeyRecord | undefined> {
    // A change to the old key between the read and the write (disabled meanwhile) cancels the write: read again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = await this.get(oldHash);
      if (!old) return undefined;
      const { apiGatewayKeyId: _gatewayKey, lastUsedAt: _lastUsed, ...kept } = old;
      const next: KeyRecord = { ...kept, keyHash: hashApiKey(newValue), createdAt: nowIso, rotatedFrom: oldHash };
      try {
        await this.ddb.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: next,
                  ConditionExpression: 'attribute_not_exists(#k)',
                  ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
                },
              },
              {
                Delete: {
                  TableName: this.tableName,
                  Key: { [KEY_TABLE.partitionKey]: oldHash },
                  ConditionExpression: 'attribute_exists(#k) AND enabled = :e',
                  ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
                  ExpressionAttributeValues: { ':e': old.enabled },
                },
              },
            ],
          }),
        );
        return next;
      } catch (error) {
        if (!isAwsError(error, 'TransactionCanceledException')) throw error;
      }
    }
    throw new Error('The key kept changing during its rotation.');
  }

  /** Deletes a key; returns its record as it was (undefined: no such key). */
  async delete(keyHash: string): Promise<KeyRecord | undefined> {
    if (isPersonHash(keyHash)) return undefined;
    const out = await this.ddb.send(
      new DeleteCommand({ TableName: this.tableName, Key: { [KEY_TABLE.partitionKey]: keyHash }, ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes as KeyRecord | undefined;
  }

  /** A person's standing, when an operator has set one. */
  async standingOf(principalId: string): Promise<PersonStanding | undefined> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: personKey(principalId), ConsistentRead: true }));
    return out.Item ? toStanding(out.Item) : undefined;
  }

  /** Sets a person's standing (created if absent); `role: null` removes an override. Returns the standing now. */
  async setStanding(
    principalId: string,
    change: { enabled?: boolean; role?: PrincipalRole | null },
    nowIso: string,
  ): Promise<PersonStanding> {
    const sets = ['principalId = :p', 'updatedAt = :now'];
    const values: Record<string, unknown> = { ':p': principalId, ':now': nowIso };
    if (change.enabled === undefined) {
      sets.push('enabled = if_not_exists(enabled, :true)');
      values[':true'] = true;
    } else {
      sets.push('enabled = :e');
      values[':e'] = change.enabled;
    }
    if (change.role) {
      sets.push('#role = :r');
      values[':r'] = change.role;
    }
    const out = await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: personKey(principalId),
        UpdateExpression: `SET ${sets.join(', ')}${change.role === null ? ' REMOVE #role' : ''}`,
        ...(change.role !== undefined ? { ExpressionAttributeNames: { '#role': 'role' } } : {}),
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toStanding(out.Attributes ?? {});
  }

  /** Records a use (best effort: callers ignore failures). */
  async touch(keyHash: string, nowIso: string): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [KEY_TABLE.partitionKey]: keyHash },
        UpdateExpression: 'SET lastUsedAt = :now',
        ConditionExpression: 'attribute_exists(#k)',
        ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
        ExpressionAttributeValues: { ':now': nowIso },
      }),
    );
  }
}
