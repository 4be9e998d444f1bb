/**
 * Running the real handler modules in a test: load them fresh under a given
 * env (they read env and create clients at module scope, as on Lambda), and
 * build the events API Gateway, S3 and Step Functions would send.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, S3Event } from 'aws-lambda';
import { vi } from 'vitest';
import { authorizerRequestContext, type Principal } from '../../core/principal';
import { HANDLERS, type HandlerName } from '../../core/service-env';
import { proxyEvent } from '../../local/stand-ins/api-gateway/proxy-event';

const ROOT = resolve(import.meta.dirname, '..', '..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (event: any, context: Context) => Promise<any>;

/** Sets (or, for undefined, removes) environment variables; returns a function that restores the previous values. */
export function applyEnv(env: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  set(env);
  return () => set(previous);
}

/**
 * Runs `fn` with `env` applied, then restores the environment. The SDK reads
 * endpoint variables when a client first sends, so a handler meant to see a
 * different endpoint must also be invoked inside `fn`.
 */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const restore = applyEnv(env);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/**
 * Imports a handler module from a clean module registry (it reads env and
 * creates its clients at module scope, as on Lambda) with `overrides` applied
 * on top of the current environment for the import. Returns its `handler`.
 */
export async function loadHandler(name: HandlerName, overrides: Record<string, string | undefined> = {}): Promise<AnyHandler> {
  return withEnv(overrides, async () => {
    vi.resetModules();
    const module = (await import(pathToFileURL(resolve(ROOT, HANDLERS[name])).href)) as { handler: AnyHandler };
    return module.handler;
  });
}

/** Loads several handlers with the same overrides. */
export async function loadHandlers<N extends HandlerName>(
  names: readonly N[],
  overrides: Record<string, string | undefined> = {},
): Promise<Record<N, AnyHandler>> {
  const handlers = {} as Record<N, AnyHandler>;
  for (const name of names) handlers[name] = await loadHandler(name, overrides);
  return handlers;
}

let invocation = 0;

export function lambdaContext(functionName = 'k2p-test'): Context {
  invocation++;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `lambda-request-${invocation}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Resource template, e.g. /jobs/{id}. */
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  /** The API key id API Gateway would put in requestContext.identity; null for none. */
  apiKeyId?: string | null;
  /**
   * The principal the authorizer established. @default - with an apiKeyId, the principal a key registered from an
   * API Gateway key has: its id is the key id (program, role user); without one, none.
   */
  principal?: Principal | null;
}

/** The REST API proxy event API Gateway sends (built by local mode's API Gateway, so both send one shape). */
export function apiEvent(request: ApiRequest): APIGatewayProxyEvent {
  const path = request.resource.replace(/\{(\w+)\}/g, (_, key: string) => request.pathParameters?.[key] ?? `{${key}}`);
  const headers = {
    Accept: 'application/json',
    ...(request.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...request.headers,
  };
  const principal =
    request.principal !== undefined
      ? request.principal
      : request.apiKeyId
        ? { id: request.apiKeyId, name: request.apiKeyId, kind: 'program' as const, role: 'user' as const }
        : null;
  return proxyEvent({
    method: request.method,
    resource: request.resource,
    path,
    pathParameters: request.pathParameters ?? {},
    headers: Object.entries(headers),
    query: Object.entries(request.query ?? {}),
    body: request.body === undefined ? null : typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
    apiKey: request.apiKeyId ? { id: request.apiKeyId, value: `key-value-of-${request.apiKeyId}` } : undefined,
    authorizer: principal ? authorizerRequestContext(principal) : undefined,
    sourceIp: '127.0.0.1',
    userAgent: 'vitest',
    protocol: 'HTTP/1.1',
    domainName: 'testapi.execute-api.us-east-1.amazonaws.com',
    requestId: `api-request-${++invocation}`,
    requestTimeEpoch: Date.now(),
    stage: 'prod',
    apiId: 'testapi',
    accountId: '123456789012',
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<T = any> extends APIGatewayProxyResult {
  json: T;
  headers: Record<string, string>;
}

/** Calls an API handler and parses its JSON body (a text answer is left in `body`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function callApi<T = any>(handler: AnyHandler, request: ApiRequest): Promise<ApiResponse<T>> {
  const result = (await handler(apiEvent(request), lambdaContext())) as APIGatewayProxyResult;
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  const isJson = !headers['Content-Type'] || headers['Content-Type'].startsWith('application/json');
  return { ...result, headers, json: result.body && isJson ? (JSON.parse(result.body) as T) : (undefined as T) };
}

/** An S3 event with one record for `key` (shape as AWS sends it; for cases s3rver cannot produce). */
export function s3Event(
  bucket: string,
  key: string,
  object: { size?: number; eTag?: string; sequencer?: string } = {},
  eventName = 'ObjectCreated:Post',
): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'AWS:TEST' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'TEST', 'x-amz-id-2': 'TEST' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'bundles',
          bucket: { name: bucket, ownerIdentity: { principalId: 'TEST' }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeURIComponent(key).replace(/%2F/g, '/'),
            size: object.size ?? 0,
            eTag: object.eTag ?? 'etag',
            sequencer: object.sequencer ?? '0001',
            versionId: undefined as unknown as string,
          },
        },
      },
    ],
  } as S3Event;
}
