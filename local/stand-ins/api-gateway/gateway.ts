/**
 * A local REST API Gateway built from the template's API model: the stage
 * path, routes → Lambda proxy events in the real APIGatewayProxyEvent shape,
 * API keys from the x-api-key header, usage-plan throttling (token buckets
 * per key, per-method overrides, the stage limit) and quotas, CORS preflight
 * from the MOCK methods, the 10 MB payload limit, and every gateway error
 * rendered from the template's gateway responses (the project's JSON envelope).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { closeServer, listen } from '../../host/ports';
import type { ApiModel, RouteModel, ThrottleModel, UsagePlanModel } from '../../model/stack-model';
import { Quota, TokenBucket } from './throttle';

/** API Gateway's REST payload limit. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** API Gateway's default (and maximum) integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export interface LocalApiKey {
  /** Logical id in the template. */
  logicalId: string;
  /** The key id API Gateway would assign (requestContext.identity.apiKeyId). */
  id: string;
  /** The secret value sent in x-api-key. */
  value: string;
  enabled: boolean;
}

export interface ApiGatewayOptions {
  api: ApiModel;
  keys: LocalApiKey[];
  /** Invokes a function synchronously (RequestResponse) with the proxy event. */
  invoke(functionArn: string, event: APIGatewayProxyEvent): Promise<unknown>;
  accountId: string;
  port?: number;
  /** Monotonic time for token buckets (ms). @default performance.now */
  monotonicNow?: () => number;
  /** Wall-clock time for quotas and requestTime (ms). @default Date.now */
  now?: () => number;
  /** Access log lines (the stage's access log format) go here. */
  accessLog?: Writable;
  maxPayloadBytes?: number;
  integrationTimeoutMs?: number;
}

export interface LocalApiGateway {
  server: Server;
  port: number;
  /** The stage URL, ending with `/` like the deployed ApiUrl output. */
  url: string;
  close(): Promise<void>;
}

/** Status API Gateway answers for each response type when the template does not override it. */
const DEFAULT_STATUS: Record<string, number> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
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
  MISSING_AUTHENTICATION_TOKEN: ['Missing Authentication Token', 'MissingAuthenticationTokenException'],
  THROTTLED: ['Too Many Requests', 'TooManyRequestsException'],
  QUOTA_EXCEEDED: ['Limit Exceeded', 'LimitExceededException'],
  REQUEST_TOO_LARGE: ['Request Too Long', 'RequestTooLongException'],
  INTEGRATION_TIMEOUT: ['Endpoint request timed out', 'InternalServerErrorException'],
  DEFAULT_5XX: ['Internal server error', 'InternalServerErrorException'],
};

interface MatchedRoute {
  route: RouteModel;
  pathParameters: Record<string, string>;
}

function splitPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Finds the resource for a path; literal segments win over {params}, as in API Gateway. */
function matchResource(routes: RouteModel[], path: string): { resourcePath: string; pathParameters: Record<string, string> } | undefined {
  const segments = splitPath(path);
  let best: { resourcePath: string; pathParameters: Record<string, string>; score: number } | undefined;
  for (const resourcePath of new Set(routes.map((r) => r.path))) {
    const pattern = splitPath(resourcePath);
    const params: Record<string, string> = {};
    let score = 0;
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const part = pattern[i]!;
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy) {
        if (i >= segments.length) ok = false;
        else params[greedy[1]!] = segments.slice(i).map(decodeURIComponent).join('/');
        if (i !== pattern.length - 1) ok = false;
        break;
      }
      const segment = segments[i];
      if (segment === undefined) ok = false;
      else if (/^\{.+\}$/.test(part)) params[part.slice(1, -1)] = decodeURIComponent(segment);
      else if (part === segment) score++;
      else ok = false;
    }
    const greedyLast = /^\{.+\+\}$/.test(pattern[pattern.length - 1] ?? '');
    if (ok && (greedyLast || pattern.length === segments.length) && (!best || score > best.score)) {
      best = { resourcePath, pathParameters: params, score };
    }
  }
  return best;
}

function findRoute(routes: RouteModel[], path: string, method: string): MatchedRoute | undefined {
  const resource = matchResource(routes, path);
  if (!resource) return undefined;
  const route = routes.find((r) => r.path === resource.resourcePath && (r.method === method || r.method === 'ANY'));
  return route ? { route, pathParameters: resource.pathParameters } : undefined;
}

/** API Gateway's $context.requestTime format: 21/Nov/2025:01:02:03 +0000. */
function requestTime(ms: number): string {
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Fills `$context.x.y` variables; unknown ones become empty, like API Gateway. */
function renderTemplate(template: string, context: Record<string, string | number | null | undefined>): string {
  return template.replace(/\$context\.[A-Za-z]+(?:\.[A-Za-z]+)*/g, (name) => {
    const value = context[name.slice('$context.'.length)];
    return value === undefined || value === null ? '' : String(value);
  });
}

interface RequestState {
  requestId: string;
  startedAt: number;
  context: Record<string, string | number | null | undefined>;
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

export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  const { api } = options;
  const monotonicNow = options.monotonicNow ?? (() => performance.now());
  const now = options.now ?? (() => Date.now());
  const maxPayload = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const keysByValue = new Map(options.keys.map((k) => [k.value, k]));
  const apiId = `local${api.logicalId.slice(-6).toLowerCase()}`;
  const stagePrefix = `/${api.stageName}`;

  const stageBucket = api.stageThrottle
    ? new TokenBucket(api.stageThrottle.rateLimit, api.stageThrottle.burstLimit, monotonicNow())
    : undefined;
  const buckets = new Map<string, TokenBucket>();
  const quotas = new Map<string, Quota>();
  const bucketFor = (id: string, limits: ThrottleModel) => {
    let bucket = buckets.get(id);
    if (!bucket) buckets.set(id, (bucket = new TokenBucket(limits.rateLimit, limits.burstLimit, monotonicNow())));
    return bucket;
  };
  const planOf = (key: LocalApiKey): UsagePlanModel | undefined => api.usagePlans.find((plan) => plan.apiKeyIds.includes(key.logicalId));

  const writeAccessLog = (state: RequestState, status: number, length: number) => {
    if (!options.accessLog || !api.accessLogFormat) return;
    const context = { ...state.context, status, responseLength: length, responseLatency: Math.round(monotonicNow() - state.startedAt) };
    options.accessLog.write(`${renderTemplate(api.accessLogFormat, context)}\n`);
  };

  const send = (res: ServerResponse, state: RequestState, status: number, headers: Record<string, string | string[]>, body: Buffer) => {
    res.writeHead(status, { ...headers, 'x-amzn-RequestId': state.requestId, 'Content-Length': String(body.length) });
    res.end(body);
    writeAccessLog(state, status, body.length);
  };

  const gatewayError = (
    res: ServerResponse,
    state: RequestState,
    type: string,
    extra: { status?: number; message?: string; validation?: string } = {},
  ) => {
    const [defaultMessage, errorType] = ERROR_INFO[type] ?? ['Error', 'BadRequestException'];
    const message = extra.message ?? defaultMessage;
    const baseStatus = extra.status ?? DEFAULT_STATUS[type] ?? 500;
    const spec = api.gatewayResponses[type] ?? api.gatewayResponses[baseStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
    const status = api.gatewayResponses[type]?.statusCode ?? baseStatus;
    state.context['error.message'] = message;
    state.context['error.messageString'] = JSON.stringify(message);
    state.context['error.responseType'] = type;
    state.context['error.validationErrorString'] = extra.validation ?? '';
    const template = spec?.templates['application/json'];
    const body = template === undefined ? JSON.stringify({ message }) : renderTemplate(template, state.context);
    send(
      res,
      state,
      status,
      { 'Content-Type': 'application/json', 'x-amzn-ErrorType': errorType, ...(spec?.headers ?? {}) },
      Buffer.from(body),
    );
  };

  const readBody = (req: IncomingMessage): Promise<Buffer | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxPayload) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const startedAtWall = now();
    const state: RequestState = {
      requestId,
      startedAt: monotonicNow(),
      context: {
        requestId,
        extendedRequestId: requestId,
        requestTime: requestTime(startedAtWall),
        requestTimeEpoch: startedAtWall,
        httpMethod: method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        stage: api.stageName,
        'identity.sourceIp': sourceIp,
        'identity.userAgent': req.headers['user-agent'] ?? null,
      },
    };

    const body = await readBody(req);
    if (!body) return gatewayError(res, state, 'REQUEST_TOO_LARGE');

    const inStage = url.pathname === stagePrefix || url.pathname.startsWith(`${stagePrefix}/`);
    const resourcePathRequested = inStage ? url.pathname.slice(stagePrefix.length) || '/' : undefined;
    const matched = resourcePathRequested === undefined ? undefined : findRoute(api.routes, resourcePathRequested, method);
    // REST APIs answer unknown paths and methods as "Missing Authentication Token".
    if (!matched || resourcePathRequested === undefined) return gatewayError(res, state, 'MISSING_AUTHENTICATION_TOKEN');
    const { route, pathParameters } = matched;
    state.context.resourcePath = route.path;

    if (route.mock) return send(res, state, route.mock.statusCode, route.mock.headers, Buffer.alloc(0));

    let key: LocalApiKey | undefined;
    if (route.apiKeyRequired) {
      const value = req.headers['x-api-key'];
      key = typeof value === 'string' ? keysByValue.get(value) : undefined;
      const plan = key ? planOf(key) : undefined;
      if (!key || !key.enabled || !plan) return gatewayError(res, state, 'INVALID_API_KEY');
      state.context['identity.apiKeyId'] = key.id;
      state.context['identity.apiKey'] = key.value;
      const t = monotonicNow();
      if (stageBucket && !stageBucket.take(t)) return gatewayError(res, state, 'THROTTLED');
      const methodKey = `${route.path}/${method}`;
      const methodLimits = plan.methodThrottle[methodKey];
      const limits = methodLimits ?? plan.throttle;
      if (limits && !bucketFor(methodLimits ? `${key.id} ${methodKey}` : key.id, limits).take(t))
        return gatewayError(res, state, 'THROTTLED');
      if (plan.quota) {
        let quota = quotas.get(key.id);
        if (!quota) quotas.set(key.id, (quota = new Quota(plan.quota.limit, plan.quota.period)));
        if (!quota.take(now())) return gatewayError(res, state, 'QUOTA_EXCEEDED');
      }
    } else if (stageBucket && !stageBucket.take(monotonicNow())) {
      return gatewayError(res, state, 'THROTTLED');
    }

    const event = buildEvent({
      req,
      url,
      method,
      body,
      route,
      pathParameters,
      key,
      state,
      apiId,
      accountId: options.accountId,
      stageName: api.stageName,
      sourceIp,
    });
    let result: unknown;
    const integrationStart = monotonicNow();
    try {
      result = await withTimeout(options.invoke(route.functionArn!, event), options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS);
      state.context.integrationStatus = 200;
    } catch (error) {
      state.context.integrationStatus = error instanceof IntegrationTimeout ? null : 200;
      state.context.integrationLatency = Math.round(monotonicNow() - integrationStart);
      if (error instanceof IntegrationTimeout) return gatewayError(res, state, 'INTEGRATION_TIMEOUT');
      // A function error reaches the client as 502 "Internal server error".
      return gatewayError(res, state, 'DEFAULT_5XX', { status: 502 });
    }
    state.context.integrationLatency = Math.round(monotonicNow() - integrationStart);
    let response: ReturnType<typeof readProxyResult>;
    try {
      response = readProxyResult(result);
    } catch {
      return gatewayError(res, state, 'DEFAULT_5XX', { status: 502 });
    }
    const hasContentType = Object.keys(response.headers).some((h) => h.toLowerCase() === 'content-type');
    send(
      res,
      state,
      response.statusCode,
      { ...(hasContentType ? {} : { 'Content-Type': 'application/json' }), ...response.headers },
      response.body,
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `local API Gateway failed: ${error.message}` }));
    });
  });
  const port = await listen(server, options.port ?? 0, 'local API Gateway');
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}${stagePrefix}/`,
    close: () => closeServer(server),
  };
}

class IntegrationTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IntegrationTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface EventInput {
  req: IncomingMessage;
  url: URL;
  method: string;
  body: Buffer;
  route: RouteModel;
  pathParameters: Record<string, string>;
  key?: LocalApiKey;
  state: RequestState;
  apiId: string;
  accountId: string;
  stageName: string;
  sourceIp: string;
}

/** The REST API Lambda proxy event, field for field. */
function buildEvent(input: EventInput): APIGatewayProxyEvent {
  const { req, url, state } = input;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the client's spelling, as API Gateway does.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  const hasPathParameters = Object.keys(input.pathParameters).length > 0;
  const path = decodeURIComponent(url.pathname.slice(input.stageName.length + 1) || '/');
  return {
    resource: input.route.path,
    path,
    httpMethod: input.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: hasPathParameters ? input.pathParameters : null,
    stageVariables: null,
    body: input.body.length > 0 ? input.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: input.accountId,
      apiId: input.apiId,
      authorizer: null,
      domainName: String(req.headers.host ?? '127.0.0.1'),
      domainPrefix: String(req.headers.host ?? '127').split('.')[0],
      extendedRequestId: state.requestId,
      httpMethod: input.method,
      path: `/${input.stageName}${path === '/' ? '' : path}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: state.requestId,
      requestTime: String(state.context.requestTime),
      requestTimeEpoch: Number(state.context.requestTimeEpoch),
      resourceId: input.route.path,
      resourcePath: input.route.path,
      stage: input.stageName,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: input.key?.value ?? null,
        apiKeyId: input.key?.id ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: input.sourceIp,
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  } as APIGatewayProxyEvent;
}
