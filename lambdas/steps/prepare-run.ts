/** State PrepareRun: QUEUED → RUNNING and the runner's presigned URLs; skip when the job is gone. */
import { createDocumentClient } from '../shared/aws/dynamodb';
import { createS3Client } from '../shared/aws/s3';
import { bucketName, tableConfig } from '../shared/config';
import { prepareRun, type PrepareRunDeps, type PrepareRunOutput } from '../shared/conversion-steps';
import { eventHandler } from '../shared/event-handler';
import { JobStore } from '../shared/job-store';
import { PrepareRunInputSchema } from '../shared/step-schemas';

const { tableName, limits } = tableConfig();
const deps: PrepareRunDeps = { store: new JobStore(createDocumentClient(), tableName), s3: createS3Client(), bucket: bucketName(), limits };

export const handler = eventHandler<unknown, PrepareRunOutput>(async (event) => {
  const { jobId } = PrepareRunInputSchema.parse(event);
  return prepareRun(deps, jobId);
});
