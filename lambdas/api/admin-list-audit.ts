/** GET /admin/audit: the audit trail of admin actions in the range, newest first, paged (admin role). */
import { AdminListAuditQuerySchema, DEFAULT_LIST_LIMIT } from '../../core/api-schemas';
import { apiHandler, json, requireRole } from '../runtime/http';
import { auditLog } from '../runtime/services';
import { listAudit } from '../use-cases/admin-actions';

const audit = auditLog();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  const query = AdminListAuditQuerySchema.parse(event.queryStringParameters ?? {});
  return json(200, await listAudit(audit, { ...query, limit: query.limit ?? DEFAULT_LIST_LIMIT }));
});
