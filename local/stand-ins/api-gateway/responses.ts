/**
 * What the local API Gateway answers: a gateway error rendered from the
 * template's gateway responses (status, headers, the $context template), or a
 * Lambda proxy result mapped to status, headers and body as API Gateway maps
 * it, a malformed result being refused like API Gateway refuses it.
 */
import type { ApiModel } from '../../model/stack-model';

/** $context variables of one request, by name without the `$context.` prefix. */
export type ContextValues = Record<string, string | number | null | undefined>;

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Status API Gateway answers for each response type when the template does not override it. */
const DEFAULT_STATUS: Record<string, number> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_BODY: 400,
  BAD_REQUEST_PARAMETERS: 400,
  EXPIRED_TOKEN: 403,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  INVALID_SIGNATURE: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  RESOURCE_NOT_FOUND: 404,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  WAF_FILTERED: 403,
};

/** $context.error.message and x-amzn-ErrorType of each gateway error. */
const ERROR_INFO: Record<string, [message: string, errorType: string]> = {
  INVALID_API_KEY: ['Forbidden', 'ForbiddenException'],
  UNAUTHORIZED: ['Unauthorized', 'UnauthorizedException'],
  ACCESS_DENIED: ['User is not authorized to access this resource', 'AccessDeniedException'],
  AUTHORIZER_FAILURE: ['Internal server error', 'AuthorizerFailureException'],
  AUTHORIZER_CONFIGURATION_ERROR: ['Internal server error', 'AuthorizerConfigurationException'],
  MISSING_AUTHENTICATION_TOKEN: ['Missing Authentication Token', 'MissingAuthenticationTokenException'],
  THROTTLED: ['Too Many Requests', 'TooManyRequestsException'],
  QUOTA_EXCEEDED: ['Limit Exceeded', 'LimitExceededException'],
  REQUEST_TOO_LARGE: ['Request Too Long', 'RequestTooLongException'],
  INTEGRATION_TIMEOUT: ['Endpoint request timed out', 'InternalServerErrorException'],
  DEFAULT_5XX: ['Internal server error', 'InternalServerErrorException'],
};

/** Fills `$context.x.y` variables; unknown ones become empty, like API Gateway. */
export function renderTemplate(template: string, context: ContextValues): string {
  return template.replace(/\$context\.[A-Za-z]+(?:\.[A-Za-z]+)*/g, (name) => {
    const value = context[name.slice('$context.'.length)];
    return value === undefined || value === null ? '' : String(value);
  });
}

export interface GatewayErrorDetails {
  status?: number;
  message?: string;
  validation?: string;
}

/** The gateway response of type `type`; its $context.error.* go into `context` (the template and the access log read them). */
export function gatewayError(api: ApiModel, context: ContextValues, type: string, extra: GatewayErrorDetails = {}): HttpResponse {
  const [defaultMessage, errorType] = ERROR_INFO[type] ?? ['Error', 'BadRequestException'];
  const message = extra.message ?? defaultMessage;
  const baseStatus = extra.status ?? DEFAULT_STATUS[type] ?? 500;
  const spec = api.gatewayResponses[type] ?? api.gatewayResponses[baseStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
  const status = api.gatewayResponses[type]?.statusCode ?? baseStatus;
  context['error.message'] = message;
  context['error.messageString'] = JSON.stringify(message);
  context['error.responseType'] = type;
  context['error.validationErrorString'] = extra.validation ?? '';
  const template = spec?.templates['application/json'];
  const body = template === undefined ? JSON.stringify({ message }) : renderTemplate(template, context);
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': errorType, ...(spec?.headers ?? {}) },
    body: Buffer.from(body),
  };
}

class ProxyResultError extends Error {}

/** Lambda proxy result → status, headers, body; throws when the function returned something API Gateway rejects. */
function readProxyResult(result: unknown): { statusCode: number; headers: Record<string, string | string[]>; body: Buffer } {
  if (!result || typeof result !== 'object') throw new ProxyResultError('Malformed Lambda proxy response');
  const r = result as Record<string, unknown>;
  const statusCode = Number(r.statusCode ?? 200);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) throw new ProxyResultError('Malformed Lambda proxy response');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries((r.headers ?? {}) as Record<string, unknown>)) headers[name] = String(value);
  for (const [name, values] of Object.entries((r.multiValueHeaders ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(values)) throw new ProxyResultError('Malformed Lambda proxy response');
    headers[name] = values.map(String);
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') throw new ProxyResultError('Malformed Lambda proxy response');
  const text = (r.body as string | undefined | null) ?? '';
  return { statusCode, headers, body: r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') };
}

/** The client's response to a function's proxy result (JSON unless the function set a Content-Type); 502 when it is malformed. */
export function proxyResponse(api: ApiModel, context: ContextValues, result: unknown): HttpResponse {
  let response: ReturnType<typeof readProxyResult>;
  try {
    response = readProxyResult(result);
  } catch {
    return gatewayError(api, context, 'DEFAULT_5XX', { status: 502 });
  }
  const hasContentType = Object.keys(response.headers).some((h) => h.toLowerCase() === 'content-type');
  return {
    status: response.statusCode,
    headers: { ...(hasContentType ? {} : { 'Content-Type': 'application/json' }), ...response.headers },
    body: response.body,
  };
}
