/** GET /me: the caller's principal as the authorizer established it (who a key or a sign-in belongs to). */
import type { MeResponse } from '../../core/api-schemas';
import { apiHandler, json, principalOf } from '../runtime/http';

export const handler = apiHandler(async (event) => {
  const { id, name, kind, role } = principalOf(event);
  return json(200, { id, name, kind, role } satisfies MeResponse);
});
