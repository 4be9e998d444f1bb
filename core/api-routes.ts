/**
 * The HTTP API's route contract: every route's method, path template,
 * handler and operation name, and the stage the API is served under. lib/
 * builds API Gateway from it (local mode serves what lib built), and
 * scripts/build-openapi.ts documents each route in docs/openapi.yaml.
 *
 * Browser-safe: no node: imports.
 */
import type { HandlerName } from './service-env';

/** API Gateway stage: the last part of the API's base URL, on AWS and in local mode. */
export const API_STAGE = 'v1';

/** The API's routes: handler, method and path (API_ROUTES is what the tests, local mode and the OpenAPI generator walk). */
export const API_ROUTES = [
  { handler: 'createJob', method: 'POST', path: '/jobs', id: 'CreateJob' },
  { handler: 'listJobs', method: 'GET', path: '/jobs', id: 'ListJobs' },
  { handler: 'getJob', method: 'GET', path: '/jobs/{id}', id: 'GetJob' },
  { handler: 'deleteJob', method: 'DELETE', path: '/jobs/{id}', id: 'DeleteJob' },
  { handler: 'getResult', method: 'GET', path: '/jobs/{id}/result', id: 'GetResult' },
  { handler: 'health', method: 'GET', path: '/health', id: 'Health' },
  { handler: 'getWebhook', method: 'GET', path: '/webhook', id: 'GetWebhook' },
  { handler: 'putWebhook', method: 'PUT', path: '/webhook', id: 'PutWebhook' },
  { handler: 'rotateWebhookSecret', method: 'POST', path: '/webhook/secret', id: 'RotateWebhookSecret' },
  { handler: 'cancelJob', method: 'POST', path: '/jobs/{id}/cancel', id: 'CancelJob' },
  { handler: 'getLogs', method: 'GET', path: '/jobs/{id}/logs', id: 'GetLogs' },
  { handler: 'getMe', method: 'GET', path: '/me', id: 'GetMe' },
  { handler: 'adminListJobs', method: 'GET', path: '/admin/jobs', id: 'AdminListJobs' },
  { handler: 'adminJobCounts', method: 'GET', path: '/admin/jobs/counts', id: 'AdminJobCounts' },
  { handler: 'adminGetJob', method: 'GET', path: '/admin/jobs/{id}', id: 'AdminGetJob' },
  { handler: 'adminCancelJob', method: 'POST', path: '/admin/jobs/{id}/cancel', id: 'AdminCancelJob' },
  { handler: 'adminDeleteJob', method: 'DELETE', path: '/admin/jobs/{id}', id: 'AdminDeleteJob' },
  { handler: 'adminListAudit', method: 'GET', path: '/admin/audit', id: 'AdminListAudit' },
  { handler: 'adminGetJobLog', method: 'GET', path: '/admin/jobs/{id}/logs', id: 'AdminGetJobLog' },
  { handler: 'adminListKeys', method: 'GET', path: '/admin/keys', id: 'AdminListKeys' },
  { handler: 'adminCreateKey', method: 'POST', path: '/admin/keys', id: 'AdminCreateKey' },
  { handler: 'adminDisableKey', method: 'POST', path: '/admin/keys/{keyId}/disable', id: 'AdminDisableKey' },
  { handler: 'adminEnableKey', method: 'POST', path: '/admin/keys/{keyId}/enable', id: 'AdminEnableKey' },
  { handler: 'adminRotateKey', method: 'POST', path: '/admin/keys/{keyId}/rotate', id: 'AdminRotateKey' },
  { handler: 'adminDeleteKey', method: 'DELETE', path: '/admin/keys/{keyId}', id: 'AdminDeleteKey' },
  { handler: 'adminListPeople', method: 'GET', path: '/admin/people', id: 'AdminListPeople' },
  { handler: 'adminPutPerson', method: 'PUT', path: '/admin/people/{principalId}', id: 'AdminPutPerson' },
  { handler: 'adminUsage', method: 'GET', path: '/admin/usage', id: 'AdminUsage' },
] as const satisfies readonly { handler: HandlerName; method: string; path: string; id: string }[];

export type ApiRoute = (typeof API_ROUTES)[number];

/** The `{name}` parameters of a route's path template, in order (`/admin/keys/{keyId}/rotate` → `['keyId']`). */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}
export type ApiHandlerName = ApiRoute['handler'];

/** The one route callable without an API key. */
export const PUBLIC_HANDLERS: ReadonlySet<ApiHandlerName> = new Set<ApiHandlerName>(['health']);

/** Routes only the admin role may call (every route under /admin): anyone else gets 403 FORBIDDEN. */
export const ADMIN_HANDLERS: ReadonlySet<ApiHandlerName> = new Set<ApiHandlerName>(
  API_ROUTES.filter((route) => route.path.startsWith('/admin/')).map((route) => route.handler),
);
