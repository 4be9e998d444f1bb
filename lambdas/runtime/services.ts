/**
 * The clients, stores and settings a handler takes: each is built on first
 * request and then shared by everything in the container (one DynamoDB client
 * behind JobStore, Capacity and IdempotencyStore). Each is its own exported
 * function, not a property of one object, so a handler's bundle holds only
 * what it asks for (get-job carries no S3 or Step Functions client, nor the
 * limits parser). Handlers ask at module scope, so env is read and clients
 * are built during init, as before.
 */
import { AuditLog } from '../storage/audit-log';
import { Capacity } from '../storage/capacity';
import { createDocumentClient } from '../storage/dynamodb-client';
import { Executions } from '../storage/executions';
import { IdempotencyStore } from '../storage/idempotency';
import { JobObjects } from '../storage/job-objects';
import { JobStore } from '../storage/job-store';
import { KeyRegistry } from '../storage/key-registry';
import { createS3Client } from '../storage/s3-client';
import { createSfnClient } from '../storage/sfn-client';
import { WebhookSettingsStore } from '../storage/webhook-settings';
import * as config from './config';

/** Builds once, on the first call; `@__PURE__` lets esbuild drop a service no handler calls. */
function once<T extends object | string>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

export const tableName = /* @__PURE__ */ once(config.tableName);
export const limits = /* @__PURE__ */ once(config.serviceLimits);
export const bundleLimits = /* @__PURE__ */ once(config.bundleLimits);
export const bucket = /* @__PURE__ */ once(config.bucketName);
export const stateMachineArn = /* @__PURE__ */ once(config.stateMachineArn);
export const callbackPolicy = /* @__PURE__ */ once(config.callbackPolicy);

export const documentClient = /* @__PURE__ */ once(createDocumentClient);
export const s3Client = /* @__PURE__ */ once(createS3Client);
export const sfnClient = /* @__PURE__ */ once(createSfnClient);

export const jobStore = /* @__PURE__ */ once(() => new JobStore(documentClient(), tableName()));
export const capacity = /* @__PURE__ */ once(() => new Capacity(documentClient(), tableName()));
export const idempotencyStore = /* @__PURE__ */ once(() => new IdempotencyStore(documentClient(), tableName()));
export const jobObjects = /* @__PURE__ */ once(() => new JobObjects(s3Client(), bucket()));
export const executions = /* @__PURE__ */ once(() => new Executions(sfnClient(), stateMachineArn()));
export const webhookSettings = /* @__PURE__ */ once(() => new WebhookSettingsStore(documentClient(), tableName()));
export const keyTableName = /* @__PURE__ */ once(config.keyTableName);
export const keyRegistry = /* @__PURE__ */ once(() => new KeyRegistry(documentClient(), keyTableName()));
export const auditTableName = /* @__PURE__ */ once(config.auditTableName);
export const auditLog = /* @__PURE__ */ once(() => new AuditLog(documentClient(), auditTableName()));
