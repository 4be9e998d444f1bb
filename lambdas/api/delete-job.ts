/** DELETE /jobs/{id}: delete the bundle and result now, mark the job DELETED, free its slot. Idempotent. */
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { capacity, jobObjects, jobStore } from '../runtime/services';
import { deleteJob, type DeleteJobDeps } from '../use-cases/job-deletion';

const deps: DeleteJobDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects() };

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const job = await deleteJob(deps, owner, pathJobId(event));
  return json(200, toJobView(job));
});
