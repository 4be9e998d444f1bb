/** GET /admin/usage: jobs per principal created in the range, by outcome and per day (admin role). */
import { AdminUsageQuerySchema } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { jobStore, keyRegistry } from '../runtime/services';
import { principalUsage } from '../use-cases/admin-usage';

const deps = { store: jobStore(), registry: keyRegistry() };

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = AdminUsageQuerySchema.parse(event.queryStringParameters ?? {});
  return json(200, await principalUsage(deps, query));
});
