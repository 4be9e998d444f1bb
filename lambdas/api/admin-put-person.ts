/** PUT /admin/people/{principalId}: disable or enable a person, or override their token's role, within 60 s; audited (admin role). */
import { AdminPutPersonRequestSchema } from '../../core/api-schemas';
import { apiHandler, json, jsonBody, pathPrincipalId, requireRole } from '../runtime/http';
import { auditLog, keyRegistry } from '../runtime/services';
import { putPerson } from '../use-cases/admin-keys';

const deps = { registry: keyRegistry(), audit: auditLog() };

export const handler = apiHandler(async (event) => {
  const admin = requireRole(event, 'admin');
  const principalId = pathPrincipalId(event);
  const change = AdminPutPersonRequestSchema.parse(jsonBody(event));
  return json(200, { person: await putPerson(deps, admin, principalId, change) });
});
