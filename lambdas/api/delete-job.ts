/** DELETE /jobs/{id}: delete the bundle and result now, mark the job DELETED, free its slot. Idempotent. */
import { createDocumentClient } from '../shared/aws/dynamodb';
import { createS3Client } from '../shared/aws/s3';
import { Capacity } from '../shared/capacity';
import { bucketName, tableConfig } from '../shared/config';
import { apiHandler, json, ownerOf, pathJobId } from '../shared/http';
import { deleteJob, type DeleteJobDeps } from '../shared/job-deletion';
import { JobObjects } from '../shared/job-objects';
import { JobStore } from '../shared/job-store';
import { toJobView } from '../shared/job-view';

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
