/** S3 ObjectCreated on bundles/: validate the upload, then queue (and start) or reject the job. */
import type { S3Event } from 'aws-lambda';
import { validateBundle } from '../../core/node/validate-bundle';
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { createSfnClient } from '../storage/sfn-client';
import { Capacity } from '../storage/capacity';
import { bucketName, bundleLimits, stateMachineArn, tableConfig } from '../runtime/config';
import { eventHandler } from '../runtime/event-handler';
import { Executions } from '../storage/executions';
import { JobObjects } from '../storage/job-objects';
import { JobStore } from '../storage/job-store';
import { handleUploadRecord, type UploadOutcome, type UploadValidationDeps } from '../use-cases/upload-validation';

const ddb = createDocumentClient();
const { tableName, limits } = tableConfig();
const deps: UploadValidationDeps = {
  store: new JobStore(ddb, tableName),
  capacity: new Capacity(ddb, tableName),
  objects: new JobObjects(createS3Client(), bucketName()),
  executions: new Executions(createSfnClient(), stateMachineArn()),
  validate: (zip, bundle) => validateBundle(zip, bundle),
  limits,
  bundleLimits: bundleLimits(),
};

export const handler = eventHandler<S3Event, { outcomes: UploadOutcome[] }>(async (event) => {
  const outcomes: UploadOutcome[] = [];
  // One at a time: a failure re-delivers the whole event, and every record is idempotent.
  for (const record of event.Records ?? []) outcomes.push(await handleUploadRecord(deps, record));
  return { outcomes };
});
