/** POST /admin/jobs/{id}/cancel: cancel any owner's job as its owner would (200/202/409), audited (admin role). */
import { apiHandler, json, pathJobId, requireRole } from '../runtime/http';
import { auditLog, capacity, executions, jobObjects, jobStore } from '../runtime/services';
import { adminCancelJob } from '../use-cases/admin-actions';
import { toAdminJobView } from '../use-cases/admin-jobs';

const deps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), executions: executions(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  const { job, stopping } = await adminCancelJob(deps, admin, pathJobId(event));
  const view = toAdminJobView(job);
  return json(stopping ? 202 : 200, view, stopping && view.retryAfterSeconds ? { 'Retry-After': String(view.retryAfterSeconds) } : {});
});
