/** The admin routes' guard: the caller's principal when its role is admin; else 403 FORBIDDEN (401 without one). */
import { DomainError } from '../../core/errors';
import type { Principal } from '../../core/principal';
import { principalOf, type ApiEvent } from './http';
import { logger } from './observability';

export function requireAdmin(event: ApiEvent): Principal {
  const principal = principalOf(event);
  if (principal.role !== 'admin') {
    logger.info('Refused: role', { principalId: principal.id, role: principal.role, required: ['admin'] });
    throw new DomainError('FORBIDDEN', undefined, { details: { requiredRoles: ['admin'] } });
  }
  return principal;
}
