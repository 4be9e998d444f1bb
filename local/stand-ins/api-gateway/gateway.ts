/**
 * A local REST API Gateway built from the template's API model: the stage
 * path, routes → Lambda proxy events in the real APIGatewayProxyEvent shape,
 * Lambda authorizers (identity sources, result cache, requestContext.authorizer),
 * API keys (the x-api-key header, or the authorizer's usageIdentifierKey under
 * apiKeySource AUTHORIZER), usage-plan throttling (token buckets
 * per key, per-method overrides, the stage limit) and quotas, CORS preflight
 * from the MOCK methods, the 10 MB payload limit, and every gateway error
 * rendered from the template's gateway responses (the project's JSON envelope).
 *
 * The pieces: routing.ts (which route), authorizers.ts (who calls),
 * usage-plans.ts (keys, throttling, quotas), proxy-event.ts (the event), responses.ts (what the client gets).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { closeServer, listen } from '../../host/ports';
import type { ApiModel } from '../../model/stack-model';
import { Authorizers } from './authorizers';
import { formatRequestTime, proxyEvent } from './proxy-event';
import { gatewayError, proxyResponse, renderTemplate, type ContextValues, type HttpResponse } from './responses';
import { routeRequest } from './routing';
import { UsagePlans, type LocalApiKey } from './usage-plans';

/** API Gateway's REST payload limit. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** API Gateway's default (and maximum) integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export interface ApiGatewayOptions {
  api: ApiModel;
  keys: LocalApiKey[];
  /** Invokes a function synchronously (RequestResponse) with the proxy event. */
  invoke(functionArn: string, event: APIGatewayProxyEvent): Promise<unknown>;
  accountId: string;
  /** Region in the method ARNs authorizers see. @default us-east-1 */
  region?: string;
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

/** One request as API Gateway sees it on arrival; `context` fills up on the way ($context variables). */
interface RequestState {
  requestId: string;
  url: URL;
  method: string;
  sourceIp: string;
  /** Wall-clock arrival (ms). */
  receivedAt: number;
  /** Monotonic arrival (ms), for latencies. */
  startedAt: number;
  context: ContextValues;
}

function arrival(req: IncomingMessage, stageName: string, wallNow: number, monotonicNow: number): RequestState {
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return {
    requestId,
    url,
    method,
    sourceIp,
    receivedAt: wallNow,
    startedAt: monotonicNow,
    context: {
      requestId,
      extendedRequestId: requestId,
      requestTime: formatRequestTime(wallNow),
      requestTimeEpoch: wallNow,
      httpMethod: method,
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      stage: stageName,
      'identity.sourceIp': sourceIp,
      'identity.userAgent': req.headers['user-agent'] ?? null,
    },
  };
}

/** The whole body, or undefined when it is over `maxBytes` (read to the end all the same). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Header pairs as the client spelled and ordered them (rawHeaders), as API Gateway passes them on. */
function headerPairs(req: IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return pairs;
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

/** What serving a request needs: the API, the options, the clocks, the usage plans' state. */
interface Gateway {
  api: ApiModel;
  options: ApiGatewayOptions;
  apiId: string;
  monotonicNow: () => number;
  now: () => number;
  usagePlans: UsagePlans;
  authorizers: Authorizers;
}

function send(gateway: Gateway, res: ServerResponse, state: RequestState, response: HttpResponse): void {
  const { api, options } = gateway;
  const { status, body } = response;
  res.writeHead(status, { ...response.headers, 'x-amzn-RequestId': state.requestId, 'Content-Length': String(body.length) });
  res.end(body);
  if (!options.accessLog || !api.accessLogFormat) return;
  const latency = Math.round(gateway.monotonicNow() - state.startedAt);
  const context = { ...state.context, status, responseLength: body.length, responseLatency: latency };
  options.accessLog.write(`${renderTemplate(api.accessLogFormat, context)}\n`);
}

/** Calls the function; its result, or the gateway error a failed or late function becomes. */
async function integrate(gateway: Gateway, functionArn: string, event: APIGatewayProxyEvent, state: RequestState): Promise<HttpResponse> {
  const { api, options, monotonicNow } = gateway;
  const started = monotonicNow();
  let result: unknown;
  try {
    result = await withTimeout(options.invoke(functionArn, event), options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS);
    state.context.integrationStatus = 200;
  } catch (error) {
    state.context.integrationStatus = error instanceof IntegrationTimeout ? null : 200;
    state.context.integrationLatency = Math.round(monotonicNow() - started);
    if (error instanceof IntegrationTimeout) return gatewayError(api, state.context, 'INTEGRATION_TIMEOUT');
    // A function error reaches the client as 502 "Internal server error".
    return gatewayError(api, state.context, 'DEFAULT_5XX', { status: 502 });
  }
  state.context.integrationLatency = Math.round(monotonicNow() - started);
  return proxyResponse(api, state.context, result);
}

/** What API Gateway answers one request: payload limit, route, key and limits, then the integration. */
async function respond(gateway: Gateway, req: IncomingMessage, state: RequestState): Promise<HttpResponse> {
  const { api, options } = gateway;
  const body = await readBody(req, options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES);
  if (!body) return gatewayError(api, state.context, 'REQUEST_TOO_LARGE');
  const matched = routeRequest(api, state.url.pathname, state.method);
  // REST APIs answer unknown paths and methods as "Missing Authentication Token".
  if (!matched) return gatewayError(api, state.context, 'MISSING_AUTHENTICATION_TOKEN');
  const { route } = matched;
  state.context.resourcePath = route.path;
  if (route.mock) return { status: route.mock.statusCode, headers: route.mock.headers, body: Buffer.alloc(0) };

  // The authorizer runs before the API key and usage plan checks, as in API Gateway.
  let authorizer: Record<string, string | number | boolean> | undefined;
  let usageIdentifierKey: string | undefined;
  if (route.authorizer) {
    const outcome = await gateway.authorizers.authorize(route.authorizer, {
      methodArn: `arn:aws:execute-api:${options.region ?? 'us-east-1'}:${options.accountId}:${gateway.apiId}/${api.stageName}/${state.method}${matched.stagePath}`,
      resource: route.path,
      path: `/${api.stageName}${matched.stagePath}`,
      httpMethod: state.method,
      headers: headerPairs(req),
      query: [...state.url.searchParams],
      pathParameters: matched.pathParameters,
      requestContext: { requestId: state.requestId, stage: api.stageName, httpMethod: state.method, resourcePath: route.path },
    });
    if (!outcome.allow) return gatewayError(api, state.context, outcome.refusal);
    authorizer = outcome.context;
    usageIdentifierKey = outcome.usageIdentifierKey;
    state.context['authorizer.principalId'] = String(outcome.context.principalId);
  }

  // apiKeySource AUTHORIZER: the authorizer names the key (missing or unknown → 403); the header counts for nothing.
  const presented = api.apiKeySource === 'AUTHORIZER' ? usageIdentifierKey : req.headers['x-api-key'];
  const { key, refused } = gateway.usagePlans.admit(route, state.method, presented);
  if (key) {
    state.context['identity.apiKeyId'] = key.id;
    state.context['identity.apiKey'] = key.value;
  }
  if (refused) return gatewayError(api, state.context, refused);

  const event = proxyEvent({
    method: state.method,
    resource: route.path,
    path: decodeURIComponent(matched.stagePath),
    pathParameters: matched.pathParameters,
    headers: headerPairs(req),
    query: [...state.url.searchParams],
    body: body.length > 0 ? body.toString('utf8') : null,
    apiKey: key,
    authorizer,
    sourceIp: state.sourceIp,
    userAgent: req.headers['user-agent'] ?? null,
    protocol: `HTTP/${req.httpVersion}`,
    domainName: String(req.headers.host ?? '127.0.0.1'),
    requestId: state.requestId,
    requestTimeEpoch: state.receivedAt,
    stage: api.stageName,
    apiId: gateway.apiId,
    accountId: options.accountId,
  });
  return integrate(gateway, route.functionArn!, event, state);
}

export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  const { api } = options;
  const monotonicNow = options.monotonicNow ?? (() => performance.now());
  const now = options.now ?? (() => Date.now());
  const usagePlans = new UsagePlans(api, options.keys, monotonicNow, now);
  const authorizers = new Authorizers((arn, event) => options.invoke(arn, event as APIGatewayProxyEvent), now);
  const apiId = `local${api.logicalId.slice(-6).toLowerCase()}`;
  const gateway: Gateway = { api, options, apiId, monotonicNow, now, usagePlans, authorizers };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const state = arrival(req, api.stageName, now(), monotonicNow());
    send(gateway, res, state, await respond(gateway, req, state));
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
    url: `http://127.0.0.1:${port}/${api.stageName}/`,
    close: () => closeServer(server),
  };
}
