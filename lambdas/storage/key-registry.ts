/**
 * The key registry (its own table, core/principal.ts KEY_TABLE): one item per
 * API key, keyed by the SHA-256 of the value (core/node/api-key.ts), with the
 * principal it belongs to. The value itself is never stored nor logged. People
 * sign in elsewhere (OpenID Connect); an operator's word on one of them (disabled,
 * or a role other than the token's groups give) is a standing item here.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { hashApiKey } from '../../core/node/api-key';
import { KEY_TABLE, type PrincipalKind, type PrincipalRole } from '../../core/principal';
import { isConditionFailure } from './aws-errors';

export interface KeyRecord {
  keyHash: string;
  principalId: string;
  name: string;
  kind: PrincipalKind;
  role: PrincipalRole;
  enabled: boolean;
  createdAt: string;
  lastUsedAt?: string;
  /** The API Gateway key id the value maps to (usage plans), when it has one. */
  apiGatewayKeyId?: string;
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
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY_TABLE.partitionKey]: keyHash },
          UpdateExpression: 'SET enabled = :e',
          ConditionExpression: 'attribute_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY_TABLE.partitionKey },
          ExpressionAttributeValues: { ':e': enabled },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A person's standing, when an operator has set one. */
  async standingOf(principalId: string): Promise<PersonStanding | undefined> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: personKey(principalId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { principalId: id, enabled, role, updatedAt } = out.Item as PersonStanding;
    return { principalId: id, enabled: enabled !== false, ...(role ? { role } : {}), updatedAt };
  }

  /** Sets a person's standing (created if absent); `role: null` removes an override. */
  async setStanding(principalId: string, change: { enabled?: boolean; role?: PrincipalRole | null }, nowIso: string): Promise<void> {
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
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: personKey(principalId),
        UpdateExpression: `SET ${sets.join(', ')}${change.role === null ? ' REMOVE #role' : ''}`,
        ...(change.role !== undefined ? { ExpressionAttributeNames: { '#role': 'role' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
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
