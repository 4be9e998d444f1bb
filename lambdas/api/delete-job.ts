/** DELETE /jobs/{id}: delete the bundle and result now, mark the job DELETED, free its slot. Idempotent. */
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { Capacity } from '../storage/capacity';
import { bucketName, tableConfig } from '../runtime/config';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { deleteJob, type DeleteJobDeps } from '../use-cases/job-deletion';
import { JobObjects } from '../storage/job-objects';
import { JobStore } from '../storage/job-store';
import { toJobView } from '../decisions/job-view';

const ddb = createDocumentClient();
const { tableName } = tableConfig();
const deps: DeleteJobDeps = {
  store: new JobStore(ddb, tableName),
  capacity: new Capacity(ddb, tableName),
  objects: new JobObjects(createS3Client(), bucketName()),
};

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const job = await deleteJob(deps, owner, pathJobId(event));
  return json(200, toJobView(job));
});
