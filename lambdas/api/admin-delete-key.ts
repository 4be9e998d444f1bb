/** DELETE /admin/keys/{keyId}: the key leaves the registry (its principal's jobs stay); answers it as it was; audited (admin role). */
import { apiHandler, json, pathKeyId, requireRole } from '../runtime/http';
import { auditLog, capacity, keyRegistry } from '../runtime/services';
import { deleteKey } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), capacity: capacity(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  return json(200, { key: await deleteKey(deps, admin, pathKeyId(event)) });
});
