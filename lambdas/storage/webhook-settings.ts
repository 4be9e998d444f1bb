/**
 * A principal's webhook settings, one item per principal (today the API key
 * id): `WEBHOOK#<principal>` with the default callback URL and the signing
 * secret (plus, for a while after a rotation, the previous one). The item has
 * no `owner`/`createdAt` pair, so it never reaches the byOwner index.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';

export const WEBHOOK_SETTINGS_PREFIX = 'WEBHOOK#';
export const webhookSettingsPk = (principal: string) => `${WEBHOOK_SETTINGS_PREFIX}${principal}`;

export interface StoredWebhookSettings {
  principal: string;
  url?: string;
  secret?: string;
  secretCreatedAt?: string;
  previousSecret?: string;
  previousSecretValidUntil?: string;
  updatedAt: string;
}

export class WebhookSettingsStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(principal: string): Promise<StoredWebhookSettings | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: webhookSettingsPk(principal) }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, ...settings } = out.Item;
    return settings as StoredWebhookSettings;
  }

  /** Sets (or, for null, clears) the default callback URL. */
  async putUrl(principal: string, url: string | null, nowIso: string): Promise<StoredWebhookSettings> {
    const out = await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: webhookSettingsPk(principal) },
        UpdateExpression: `SET principal = :p, updatedAt = :now${url === null ? ' REMOVE #url' : ', #url = :url'}`,
        ExpressionAttributeNames: { '#url': 'url' },
        ExpressionAttributeValues: { ':p': principal, ':now': nowIso, ...(url === null ? {} : { ':url': url }) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const { pk: _pk, ...settings } = out.Attributes!;
    return settings as StoredWebhookSettings;
  }

  /**
   * Replaces the secret if it is still `expectedSecret` (undefined: none yet),
   * keeping the old one as `previousSecret` until `previousValidUntil`. False
   * when a concurrent rotation won (the caller reads again and retries).
   */
  async rotateSecret(
    principal: string,
    expectedSecret: string | undefined,
    secret: string,
    nowIso: string,
    previousValidUntil: string,
  ): Promise<boolean> {
    const keepPrevious = expectedSecret !== undefined;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: webhookSettingsPk(principal) },
          UpdateExpression: keepPrevious
            ? 'SET principal = :p, secret = :new, secretCreatedAt = :now, updatedAt = :now, previousSecret = :old, previousSecretValidUntil = :until'
            : 'SET principal = :p, secret = :new, secretCreatedAt = :now, updatedAt = :now REMOVE previousSecret, previousSecretValidUntil',
          ConditionExpression: keepPrevious ? 'secret = :old' : 'attribute_not_exists(secret)',
          ExpressionAttributeValues: {
            ':p': principal,
            ':new': secret,
            ':now': nowIso,
            ...(keepPrevious ? { ':old': expectedSecret, ':until': previousValidUntil } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
