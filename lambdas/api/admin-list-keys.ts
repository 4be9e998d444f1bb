/** GET /admin/keys: registered keys, newest first, paged, with their principals' usage — never a value (admin role). */
import { AdminListKeysQuerySchema, DEFAULT_LIST_LIMIT } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { capacity, keyRegistry } from '../runtime/services';
import { listKeys } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), capacity: capacity() };

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = AdminListKeysQuerySchema.parse(event.queryStringParameters ?? {});
  return json(200, await listKeys(deps, { ...query, limit: query.limit ?? DEFAULT_LIST_LIMIT }));
});
