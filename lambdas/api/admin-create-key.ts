/** POST /admin/keys: a new program key, its value in this answer only (201), audited (admin role). */
import { AdminCreateKeyRequestSchema } from '../../core/api-schemas';
import { apiHandler, json, jsonBody, requireRole } from '../runtime/http';
import { auditLog, capacity, keyRegistry } from '../runtime/services';
import { createKey } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), capacity: capacity(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  const request = AdminCreateKeyRequestSchema.parse(jsonBody(event));
  return json(201, await createKey(deps, admin, request));
});
