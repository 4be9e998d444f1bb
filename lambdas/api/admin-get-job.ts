/** GET /admin/jobs/{id}: one job of any owner in full — owner, timeline, validation, converter, report, log (admin role). */
import { apiHandler, json, pathJobId, requireRole } from '../runtime/http';
import { jobObjects, jobStore } from '../runtime/services';
import { adminJobDetail } from '../use-cases/admin-jobs';

const store = jobStore();
const objects = jobObjects();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  return json(200, await adminJobDetail(store, objects, pathJobId(event)));
});
