/** GET /admin/jobs/counts: jobs created in the range, counted by state and by error code (admin role). */
import { AdminTimeRangeQuerySchema } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { jobStore } from '../runtime/services';
import { countAdminJobs } from '../use-cases/admin-jobs';

const store = jobStore();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = AdminTimeRangeQuerySchema.parse(event.queryStringParameters ?? {});
  return json(200, await countAdminJobs(store, query));
});
