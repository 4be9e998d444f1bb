/** POST /admin/keys/{keyId}/rotate: a new value for the key's principal (201, shown once); the old one is refused; audited (admin role). */
import { apiHandler, json, pathKeyId, requireRole } from '../runtime/http';
import { auditLog, capacity, keyRegistry } from '../runtime/services';
import { rotateKey } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), capacity: capacity(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  return json(201, await rotateKey(deps, admin, pathKeyId(event)));
});
