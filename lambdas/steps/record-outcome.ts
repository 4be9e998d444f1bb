/** State RecordOutcome: read report.json, end the job terminal, free its slot (idempotent on retries). */
import { createDocumentClient } from '../shared/aws/dynamodb';
import { createS3Client } from '../shared/aws/s3';
import { Capacity } from '../shared/capacity';
import { bucketName, tableConfig } from '../shared/config';
import { recordOutcome, type RecordOutcomeDeps, type RecordOutcomeOutput } from '../shared/conversion-steps';
import { eventHandler } from '../shared/event-handler';
import { JobObjects } from '../shared/job-objects';
import { JobStore } from '../shared/job-store';
import { RecordOutcomeInputSchema } from '../shared/step-schemas';

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
