/** State PrepareRun: QUEUED → RUNNING and the runner's presigned URLs; skip when the job is gone. */
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { bucketName, tableConfig } from '../runtime/config';
import { prepareRun, type PrepareRunDeps, type PrepareRunOutput } from '../use-cases/conversion-steps';
import { eventHandler } from '../runtime/event-handler';
import { JobStore } from '../storage/job-store';
import { PrepareRunInputSchema } from './step-schemas';

const { tableName, limits } = tableConfig();
const deps: PrepareRunDeps = { store: new JobStore(createDocumentClient(), tableName), s3: createS3Client(), bucket: bucketName(), limits };

export const handler = eventHandler<unknown, PrepareRunOutput>(async (event) => {
  const { jobId } = PrepareRunInputSchema.parse(event);
  return prepareRun(deps, jobId);
});
