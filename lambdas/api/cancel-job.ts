/** POST /jobs/{id}/cancel: 200 when the job is CANCELLED, 202 while its task is being stopped (CANCELLING), 409 when it ended otherwise. */
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { capacity, executions, jobObjects, jobStore } from '../runtime/services';
import { cancelJob, type CancelJobDeps } from '../use-cases/job-cancellation';

const deps: CancelJobDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), executions: executions() };

export const handler = apiHandler(async (event) => {
  const { job, stopping } = await cancelJob(deps, ownerOf(event), pathJobId(event));
  const view = toJobView(job);
  return json(stopping ? 202 : 200, view, stopping && view.retryAfterSeconds ? { 'Retry-After': String(view.retryAfterSeconds) } : {});
});
