/** GET /health (no API key): service and converter versions. */
import type { HealthResponse } from '../../core/api-schemas';
import { versionInfo } from '../runtime/config';
import { apiHandler, json } from '../runtime/http';

const info = versionInfo();

export const handler = apiHandler(async () => {
  const body: HealthResponse = { status: 'ok', ...info };
  return json(200, body);
});
