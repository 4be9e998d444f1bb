/**
 * The HTTP side of the API handlers: one middy stack (Powertools logger and
 * metrics, then the error envelope), request helpers and JSON responses.
 *
 * Every error leaves as `{error: {code, message, details?, requestId}}`:
 * DomainError with its own status (and Retry-After), zod errors as 400
 * INVALID_REQUEST with the failing fields, anything else as 500
 * INTERNAL_ERROR without internals.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { JOB_ID_PATTERN, JOB_WAIT_HEADER, KeyIdSchema } from '../../core/api-schemas';
import { DomainError, ERRORS, type ErrorCode } from '../../core/errors';
import { principalFromContext, type Principal, type PrincipalRole } from '../../core/principal';
import { LAMBDA_ENV } from '../../core/service-env';
import { flushMetrics, logger } from './observability';

export type ApiEvent = APIGatewayProxyEvent;
export type ApiResult = APIGatewayProxyResult;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** Browser origins allowed to read responses (the site, plus development origins). */
const corsOrigins = new Set(
  (process.env[LAMBDA_ENV.CORS_ALLOW_ORIGINS] ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean),
);

function baseHeaders(): Record<string, string> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
}

/** Echoes an allowed Origin so the page can read the response (also error responses). */
function cors(): MiddlewareObj<ApiEvent, ApiResult> {
  const addHeaders = (request: { event: ApiEvent; response?: ApiResult | null }) => {
    const origin = request.event ? header(request.event, 'origin') : undefined;
    if (!request.response || !origin || !corsOrigins.has(origin)) return;
    request.response.headers = {
      ...request.response.headers,
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Expose-Headers': `Retry-After, Location, Idempotent-Replayed, ${JOB_WAIT_HEADER}`,
      Vary: 'Origin',
    };
  };
  return { after: addHeaders, onError: addHeaders };
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { statusCode, headers: { ...baseHeaders(), ...headers }, body: JSON.stringify(body) };
}

/** A plain-text answer (UTF-8). */
export function text(statusCode: number, body: string): ApiResult {
  return { statusCode, headers: { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8' }, body };
}

export function redirect(location: string): ApiResult {
  const { 'Content-Type': _json, ...headers } = baseHeaders();
  return { statusCode: 302, headers: { ...headers, Location: location }, body: '' };
}

/** The caller's principal, as the API's authorizer established it (every method but GET /health has one). */
export function principalOf(event: ApiEvent): Principal {
  const principal = principalFromContext(event.requestContext?.authorizer);
  if (!principal) throw new DomainError('UNAUTHORIZED');
  return principal;
}

/**
 * The caller's principal if its role is one of `roles`; else 403 FORBIDDEN (401 without a principal). Admin routes
 * start with `requireRole(event, 'admin')`.
 */
export function requireRole(event: ApiEvent, ...roles: [PrincipalRole, ...PrincipalRole[]]): Principal {
  const principal = principalOf(event);
  if (!roles.includes(principal.role)) {
    logger.info('Refused: role', { principalId: principal.id, role: principal.role, required: roles });
    throw new DomainError('FORBIDDEN', undefined, { details: { requiredRoles: roles } });
  }
  return principal;
}

/** The owner of the caller's jobs and settings: its principal id (for keys registered from API Gateway keys, the old key id). */
export function ownerOf(event: ApiEvent): string {
  return principalOf(event).id;
}

export function header(event: ApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

/** The JSON body (an empty body is `{}`); malformed JSON is INVALID_REQUEST. */
export function jsonBody(event: ApiEvent): unknown {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError('INVALID_REQUEST', 'The request body is not valid JSON.');
  }
}

interface SchemaError {
  issues: { path: PropertyKey[]; message: string }[];
}

/** zod (classic or mini) validation errors. */
function isSchemaError(error: unknown): error is SchemaError {
  const name = (error as { name?: string })?.name;
  return (name === 'ZodError' || name === '$ZodError') && Array.isArray((error as SchemaError).issues);
}

function requestIdOf(event: ApiEvent | undefined, context: Context | undefined): string {
  return event?.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}

function envelope(code: ErrorCode, message: string, requestId: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}), requestId } };
}

/** The error envelope middleware: last in the stack, so it sees the error before the logger clears its keys. */
export function errorEnvelope(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    onError: async (request) => {
      const error = request.error;
      const requestId = requestIdOf(request.event, request.context);
      if (error instanceof DomainError) {
        const headers: Record<string, string> = error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : {};
        if (error.httpStatus >= 500 && error.code !== 'SERVER_BUSY') logger.error('Request failed', { code: error.code, error });
        else logger.info('Request refused', { code: error.code, status: error.httpStatus });
        request.response = json(error.httpStatus, envelope(error.code, error.message, requestId, error.details), headers);
        return;
      }
      if (isSchemaError(error)) {
        const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
        logger.info('Invalid request', { issues });
        request.response = json(400, envelope('INVALID_REQUEST', ERRORS.INVALID_REQUEST.message, requestId, { issues }));
        return;
      }
      logger.error('Unexpected error', { error: error as Error });
      request.response = json(500, envelope('INTERNAL_ERROR', ERRORS.INTERNAL_ERROR.message, requestId));
    },
  };
}

/** Attaches the request id to every log line of this invocation. */
function requestKeys(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    before: (request) => {
      logger.appendKeys({ requestId: requestIdOf(request.event, request.context) });
    },
  };
}

/** Wraps an API handler in the shared stack. */
export function apiHandler(handler: ApiHandler) {
  return middy<ApiEvent, ApiResult>()
    .use(cors())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics())
    .use(requestKeys())
    .use(errorEnvelope())
    .handler(handler);
}

/** The `{id}` path parameter; anything that cannot be a job id is simply not found. */
export function pathJobId(event: ApiEvent): string {
  const id = event.pathParameters?.id;
  if (!id || !JOB_ID_PATTERN.test(id)) throw new DomainError('NOT_FOUND');
  return id;
}

/** The `{keyId}` path parameter (a key's SHA-256 hex); anything else is simply no such key. */
export function pathKeyId(event: ApiEvent): string {
  const keyId = event.pathParameters?.keyId;
  if (!keyId || !KeyIdSchema.safeParse(keyId).success) throw new DomainError('NOT_FOUND', 'No such key.');
  return keyId;
}

/** The `{principalId}` path parameter, as API Gateway decoded it (1–256 characters, as principal ids are). */
export function pathPrincipalId(event: ApiEvent): string {
  const principalId = event.pathParameters?.principalId;
  if (!principalId || principalId.length > 256) {
    throw new DomainError('INVALID_REQUEST', 'principalId must be 1 to 256 characters.', { details: { field: 'principalId' } });
  }
  return principalId;
}
