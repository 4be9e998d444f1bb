/** POST /admin/keys/{keyId}/enable: the key is accepted again within the authorizer's cache bound, audited (admin role). */
import { apiHandler, json, pathKeyId, requireRole } from '../runtime/http';
import { auditLog, capacity, keyRegistry } from '../runtime/services';
import { setKeyEnabled } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), capacity: capacity(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  return json(200, { key: await setKeyEnabled(deps, admin, pathKeyId(event), true) });
});
