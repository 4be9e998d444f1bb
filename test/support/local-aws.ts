/**
 * Real-protocol local stand-ins for the handlers' tests, all on 127.0.0.1:
 * dynalite (DynamoDB), s3rver (S3) behind the POST-policy proxy, and the
 * Step Functions API server. Handlers reach them only through the SDK's
 * standard env (AWS_ENDPOINT_URL_*) and dummy credentials.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { KEY_TABLE } from '../../core/principal';
import { AUDIT_TABLE, LAMBDA_ENV, TABLE } from '../../core/service-env';
import { addWriteTransactions } from '../../local/stand-ins/dynamodb-transactions';
import { startS3Proxy, type S3Proxy } from '../../local/stand-ins/s3/proxy';
import { startSfnServer, type SfnServer } from '../../local/stand-ins/step-functions/api-server';

export const TEST_REGION = 'us-east-1';
/** s3rver knows exactly one key pair; dynalite and the SFN server accept anything. */
export const TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const TEST_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:k2p-conversion';

export interface LocalAws {
  env: Record<string, string>;
  tableName: string;
  /** The key registry table (KEY_TABLE_NAME in env): the admin key routes write it, an authorizer given it reads it. */
  keyTableName: string;
  bucket: string;
  endpoints: { dynamodb: string; s3: string; s3rver: string; sfn: string };
  sfn: SfnServer;
  proxy: S3Proxy;
  /** S3 events s3rver emitted, in order (ObjectCreated and ObjectRemoved). */
  s3Events: S3Event[];
  /** Waits for the next ObjectCreated event for `key`. */
  nextCreated(key: string, timeoutMs?: number): Promise<S3Event>;
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
  /** Creates a fresh, empty jobs table and audit table (and uses them from now on); returns the jobs table's name. */
  freshTable(): Promise<string>;
  stop(): Promise<void>;
}

let tableCounter = 0;

/** The jobs table's GSIs as lib/job-table.ts declares them: [name, partition key, sort key], all projecting everything. */
const JOB_TABLE_INDEXES: readonly [string, string, string][] = [
  [TABLE.ownerIndex, TABLE.ownerIndexPartitionKey, TABLE.ownerIndexSortKey],
  [TABLE.webhookIndex, TABLE.webhookIndexPartitionKey, TABLE.webhookIndexSortKey],
  [TABLE.statusIndex, TABLE.statusIndexPartitionKey, TABLE.statusIndexSortKey],
  [TABLE.codeIndex, TABLE.codeIndexPartitionKey, TABLE.codeIndexSortKey],
  [TABLE.monthIndex, TABLE.monthIndexPartitionKey, TABLE.monthIndexSortKey],
];

async function createJobsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const attributes = new Set([TABLE.partitionKey, ...JOB_TABLE_INDEXES.flatMap(([, pk, sk]) => [pk, sk])]);
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: JOB_TABLE_INDEXES.map(([name, pk, sk]) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: pk, KeyType: 'HASH' },
          { AttributeName: sk, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
}

/** The audit trail table (core/service-env.ts AUDIT_TABLE) as lib/audit-trail.ts declares it. */
async function createAuditTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: AUDIT_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: AUDIT_TABLE.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
}

/** A key registry table (core/principal.ts KEY_TABLE) in the local DynamoDB. */
export async function createKeyRegistryTable(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  await (client as unknown as DynamoDBClient).send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEY_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: KEY_TABLE.principalIndexPartitionKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: KEY_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: KEY_TABLE.principalIndex,
          KeySchema: [{ AttributeName: KEY_TABLE.principalIndexPartitionKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
}

export async function startLocalAws(): Promise<LocalAws> {
  const bucket = 'k2p-test-data';
  const directory = mkdtempSync(join(tmpdir(), 'k2p-s3rver-'));

  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  addWriteTransactions(dynamo);
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamodbEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;

  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const s3rverAddress = (await s3rver.run()) as AddressInfo;
  const s3rverEndpoint = `http://127.0.0.1:${s3rverAddress.port}`;
  const s3Events: S3Event[] = [];
  const waiters: { key: string; resolve: (event: S3Event) => void }[] = [];
  s3rver.on('event', (event: S3Event) => {
    s3Events.push(event);
    const record = event.Records[0];
    if (!record?.eventName.startsWith('ObjectCreated:')) return;
    for (const waiter of waiters.filter((w) => w.key === record.s3.object.key)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  });

  const proxy = await startS3Proxy(0, {
    upstream: { host: '127.0.0.1', port: s3rverAddress.port },
    secretFor: (id) => (id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined),
    allowedOrigins: [],
    maxBodyBytes: 512 * 1024 * 1024,
  });
  const sfn = await startSfnServer({ stateMachineArns: [TEST_STATE_MACHINE_ARN] });

  const clientConfig = { region: TEST_REGION, credentials: TEST_CREDENTIALS };
  const dynamoClient = new DynamoDBClient({ ...clientConfig, endpoint: dynamodbEndpoint });
  const ddb = DynamoDBDocumentClient.from(dynamoClient);
  const s3 = new S3Client({ ...clientConfig, endpoint: proxy.endpoint, forcePathStyle: true });

  let tableName = '';
  const keyTableName = `k2p-keys-${process.pid}-${++tableCounter}`;
  await createKeyRegistryTable(ddb, keyTableName);
  const env: Record<string, string> = { [LAMBDA_ENV.KEY_TABLE_NAME]: keyTableName };
  const local: LocalAws = {
    env,
    get tableName() {
      return tableName;
    },
    keyTableName,
    bucket,
    endpoints: { dynamodb: dynamodbEndpoint, s3: proxy.endpoint, s3rver: s3rverEndpoint, sfn: sfn.endpoint },
    sfn,
    proxy,
    s3Events,
    nextCreated(key, timeoutMs = 5000) {
      const seen = s3Events.find(
        (event) => event.Records[0]?.eventName.startsWith('ObjectCreated:') && event.Records[0].s3.object.key === key,
      );
      if (seen) {
        s3Events.splice(s3Events.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No ObjectCreated event for ${key}`)), timeoutMs);
        waiters.push({
          key,
          resolve: (event) => {
            clearTimeout(timer);
            s3Events.splice(s3Events.indexOf(event), 1);
            resolve(event);
          },
        });
      });
    },
    ddb,
    s3,
    async freshTable() {
      tableName = `k2p-jobs-${process.pid}-${++tableCounter}`;
      await createJobsTable(dynamoClient, tableName);
      env[LAMBDA_ENV.JOBS_TABLE_NAME] = tableName;
      const auditTableName = `k2p-audit-${process.pid}-${tableCounter}`;
      await createAuditTable(dynamoClient, auditTableName);
      env[LAMBDA_ENV.AUDIT_TABLE_NAME] = auditTableName;
      return tableName;
    },
    async stop() {
      dynamoClient.destroy();
      s3.destroy();
      await Promise.allSettled([sfn.close(), proxy.close(), s3rver.close(), new Promise<void>((resolve) => dynamo.close(() => resolve()))]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
  Object.assign(env, {
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    AWS_ENDPOINT_URL_S3: proxy.endpoint,
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [LAMBDA_ENV.DATA_BUCKET_NAME]: bucket,
    [LAMBDA_ENV.STATE_MACHINE_ARN]: TEST_STATE_MACHINE_ARN,
    [LAMBDA_ENV.SERVICE_VERSION]: '0.1.0-test',
    [LAMBDA_ENV.CONVERTER_IMAGE]: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11',
    [LAMBDA_ENV.CONVERTER_VERSION]: '0.1.11',
    POWERTOOLS_LOG_LEVEL: process.env.K2P_TEST_LOG_LEVEL ?? 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_METRICS_NAMESPACE: 'K2pWebTest',
  });
  await local.freshTable();
  return local;
}
