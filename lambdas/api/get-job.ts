/** GET /jobs/{id}: the job as its owner sees it; Retry-After while it is still moving. */
import { createDocumentClient } from '../shared/aws/dynamodb';
import { tableConfig } from '../shared/config';
import { apiHandler, json, ownerOf, pathJobId } from '../shared/http';
import { requireOwnedJob } from '../shared/job-queries';
import { JobStore } from '../shared/job-store';
import { toJobView } from '../shared/job-view';

const store = new JobStore(createDocumentClient(), tableConfig().tableName);

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const job = await requireOwnedJob(store, pathJobId(event), owner);
  const view = toJobView(job);
  return json(200, view, view.retryAfterSeconds ? { 'Retry-After': String(view.retryAfterSeconds) } : {});
});
