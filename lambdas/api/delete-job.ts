/** DELETE /jobs/{id}: delete the bundle and result now, mark the job DELETED, free its slot (202 CANCELLING first while its task runs). Idempotent. */
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { capacity, executions, jobObjects, jobStore } from '../runtime/services';
import { deleteJob, type DeleteJobDeps } from '../use-cases/job-deletion';

const deps: DeleteJobDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), executions: executions() };

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const { job, stopping } = await deleteJob(deps, owner, pathJobId(event));
  return json(stopping ? 202 : 200, toJobView(job));
});
