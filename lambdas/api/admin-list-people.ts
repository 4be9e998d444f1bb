/** GET /admin/people: every person an operator has set a standing for, paged (admin role). */
import { DEFAULT_LIST_LIMIT, ListJobsQuerySchema } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { keyRegistry } from '../runtime/services';
import { listPeople } from '../use-cases/admin-keys';

const registry = keyRegistry();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = ListJobsQuerySchema.parse(event.queryStringParameters ?? {});
  return json(200, await listPeople(registry, { ...query, limit: query.limit ?? DEFAULT_LIST_LIMIT }));
});
