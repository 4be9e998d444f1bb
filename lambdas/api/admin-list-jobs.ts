/** GET /admin/jobs: jobs of every owner, newest first, filtered by state, error code, owner and time range (admin role). */
import { AdminListJobsQuerySchema, DEFAULT_LIST_LIMIT } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { jobStore } from '../runtime/services';
import { listAdminJobs, toAdminJobView } from '../use-cases/admin-jobs';

const store = jobStore();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = AdminListJobsQuerySchema.parse(event.queryStringParameters ?? {});
  const page = await listAdminJobs(store, { ...query, limit: query.limit ?? DEFAULT_LIST_LIMIT });
  return json(200, {
    jobs: page.jobs.map(toAdminJobView),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    since: page.range.since,
    until: page.range.until,
  });
});
