/** GET /jobs/{id}: the job as its owner sees it; Retry-After while it is still moving. */
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { jobStore } from '../runtime/services';
import { requireOwnedJob } from '../use-cases/job-queries';

const store = jobStore();

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const job = await requireOwnedJob(store, pathJobId(event), owner);
  const view = toJobView(job);
  return json(200, view, view.retryAfterSeconds ? { 'Retry-After': String(view.retryAfterSeconds) } : {});
});
