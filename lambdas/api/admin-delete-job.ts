/** DELETE /admin/jobs/{id}: delete any owner's job as its owner would (200, or 202 while its task stops), audited (admin role). */
import { apiHandler, json, pathJobId, requireRole } from '../runtime/http';
import { auditLog, capacity, executions, jobObjects, jobStore } from '../runtime/services';
import { adminDeleteJob } from '../use-cases/admin-actions';
import { toAdminJobView } from '../use-cases/admin-jobs';

const deps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), executions: executions(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  const { job, stopping } = await adminDeleteJob(deps, admin, pathJobId(event));
  return json(stopping ? 202 : 200, toAdminJobView(job));
});
