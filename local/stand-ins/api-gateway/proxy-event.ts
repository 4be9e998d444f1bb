/**
 * The REST API Lambda proxy event (APIGatewayProxyEvent), field for field as
 * API Gateway builds it. The local API Gateway sends it for every routed
 * request, and the handler tests build theirs with it, so both see one shape.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** What API Gateway knows of a request when it calls a Lambda proxy integration. */
export interface ProxyRequest {
  method: string;
  /** The matched resource, e.g. /jobs/{id}. */
  resource: string;
  /** The requested path below the stage, decoded, e.g. /jobs/abc. */
  path: string;
  pathParameters: Record<string, string>;
  /** Headers as the client sent them: its spelling, its order, repeats kept. */
  headers: [name: string, value: string][];
  /** Query string parameters in order, repeats kept. */
  query: [name: string, value: string][];
  body: string | null;
  /** The caller's API key, when the method requires one. */
  apiKey?: { id: string; value: string };
  /** requestContext.authorizer: the authorizer's principalId and context, when the method has an authorizer. */
  authorizer?: Record<string, string | number | boolean>;
  sourceIp: string;
  userAgent: string | null;
  /** e.g. HTTP/1.1 */
  protocol: string;
  domainName: string;
  requestId: string;
  /** When API Gateway received the request (ms since the epoch). */
  requestTimeEpoch: number;
  stage: string;
  apiId: string;
  accountId: string;
}

/** API Gateway's $context.requestTime format: 21/Nov/2025:01:02:03 +0000. */
export function formatRequestTime(ms: number): string {
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** API Gateway's two views of repeated names: the last value of each, and all of them in order. */
export function singleAndMulti(pairs: [string, string][]): { single: Record<string, string>; multi: Record<string, string[]> } {
  // Maps, then own properties: names such as `valueOf` or `__proto__` are parameters like any other (as in the JSON event).
  const multi = new Map<string, string[]>();
  for (const [name, value] of pairs) multi.set(name, [...(multi.get(name) ?? []), value]);
  return {
    single: Object.fromEntries([...multi].map(([name, values]) => [name, values.at(-1)!])),
    multi: Object.fromEntries(multi),
  };
}

export function proxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const headers = singleAndMulti(request.headers);
  const query = singleAndMulti(request.query);
  const hasQuery = request.query.length > 0;
  const hasPathParameters = Object.keys(request.pathParameters).length > 0;
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: hasQuery ? query.single : null,
    multiValueQueryStringParameters: hasQuery ? query.multi : null,
    pathParameters: hasPathParameters ? request.pathParameters : null,
    stageVariables: null,
    body: request.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: request.accountId,
      apiId: request.apiId,
      authorizer: request.authorizer ?? null,
      domainName: request.domainName,
      domainPrefix: request.domainName.split('.')[0],
      extendedRequestId: request.requestId,
      httpMethod: request.method,
      path: `/${request.stage}${request.path === '/' ? '' : request.path}`,
      protocol: request.protocol,
      requestId: request.requestId,
      requestTime: formatRequestTime(request.requestTimeEpoch),
      requestTimeEpoch: request.requestTimeEpoch,
      resourceId: request.resource,
      resourcePath: request.resource,
      stage: request.stage,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: request.apiKey?.value ?? null,
        apiKeyId: request.apiKey?.id ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: request.userAgent,
        userArn: null,
      },
    },
  } as APIGatewayProxyEvent;
}
