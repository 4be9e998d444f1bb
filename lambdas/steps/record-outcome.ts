/** State RecordOutcome: read report.json, end the job terminal, free its slot (idempotent on retries). */
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { Capacity } from '../storage/capacity';
import { bucketName, tableConfig } from '../runtime/config';
import { recordOutcome, type RecordOutcomeDeps, type RecordOutcomeOutput } from '../use-cases/conversion-steps';
import { eventHandler } from '../runtime/event-handler';
import { JobObjects } from '../storage/job-objects';
import { JobStore } from '../storage/job-store';
import { RecordOutcomeInputSchema } from './step-schemas';

const ddb = createDocumentClient();
const { tableName, limits } = tableConfig();
const deps: RecordOutcomeDeps = {
  store: new JobStore(ddb, tableName),
  capacity: new Capacity(ddb, tableName),
  objects: new JobObjects(createS3Client(), bucketName()),
  limits,
};

export const handler = eventHandler<unknown, RecordOutcomeOutput>(async (event) => {
  const { jobId, taskError } = RecordOutcomeInputSchema.parse(event);
  return recordOutcome(deps, jobId, taskError);
});
