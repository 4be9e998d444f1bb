/** GET /jobs/{id}: the job as its owner sees it; Retry-After while it is still moving. */
import { createDocumentClient } from '../storage/dynamodb-client';
import { tableConfig } from '../runtime/config';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { requireOwnedJob } from '../use-cases/job-queries';
import { JobStore } from '../storage/job-store';
import { toJobView } from '../decisions/job-view';

const store = new JobStore(createDocumentClient(), tableConfig().tableName);

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const job = await requireOwnedJob(store, pathJobId(event), owner);
  const view = toJobView(job);
  return json(200, view, view.retryAfterSeconds ? { 'Retry-After': String(view.retryAfterSeconds) } : {});
});
