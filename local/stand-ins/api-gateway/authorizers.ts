/**
 * Lambda authorizers as API Gateway runs them before a CUSTOM method: every
 * identity source must be present (else 401 without calling the function);
 * the function gets the TOKEN or REQUEST event; its policy must Allow the
 * method ARN (else 403); the message "Unauthorized" is 401, any other
 * failure 500. Results (Allow or Deny) are reused for the same
 * identity-source values for the authorizer's TTL; the Allow's principalId
 * and context become requestContext.authorizer of the integration's event.
 */
import type { AuthorizerModel } from '../../model/stack-model';
import { singleAndMulti } from './proxy-event';

/** What the authorizer decided, as the gateway acts on it. */
export type AuthorizerOutcome =
  | { allow: true; context: Record<string, string | number | boolean>; usageIdentifierKey?: string }
  | { allow: false; refusal: 'UNAUTHORIZED' | 'ACCESS_DENIED' | 'AUTHORIZER_FAILURE' | 'AUTHORIZER_CONFIGURATION_ERROR' };

/** The request as an identity source and the REQUEST event see it. */
export interface AuthorizerRequest {
  methodArn: string;
  resource: string;
  path: string;
  httpMethod: string;
  /** Header pairs as sent (repeats kept). */
  headers: [string, string][];
  query: [string, string][];
  pathParameters: Record<string, string>;
  requestContext: Record<string, unknown>;
}

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

interface CachedPolicy {
  expiresAt: number;
  principalId: string;
  statements: PolicyStatement[];
  context: Record<string, string | number | boolean>;
  usageIdentifierKey?: string;
}

/** A failed invocation: the function's error message (Lambda's errorMessage). */
function errorMessage(error: unknown): string {
  return (error as Error)?.message ?? '';
}

function glob(pattern: string, value: string): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`).test(value);
}

function matches(statement: PolicyStatement, methodArn: string): boolean {
  const actions = [statement.Action ?? []].flat();
  const resources = [statement.Resource ?? []].flat();
  return actions.some((a) => glob(a, 'execute-api:Invoke')) && resources.some((r) => glob(r, methodArn));
}

/** IAM evaluation: an explicit Deny wins, then an Allow is needed. */
function allows(statements: PolicyStatement[], methodArn: string): boolean {
  const matching = statements.filter((s) => matches(s, methodArn));
  return !matching.some((s) => s.Effect === 'Deny') && matching.some((s) => s.Effect === 'Allow');
}

function lastValue(pairs: [string, string][], name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const [key, value] of pairs) if (key.toLowerCase() === wanted) found = value;
  return found;
}

/** The value of one identity source (method.request.header.X / .querystring.X), or undefined. */
function identityValue(source: string, request: AuthorizerRequest): string | undefined {
  const header = /^method\.request\.header\.(.+)$/.exec(source)?.[1];
  if (header) return lastValue(request.headers, header);
  const query = /^method\.request\.querystring\.(.+)$/.exec(source)?.[1];
  if (query) return request.query.filter(([k]) => k === query).at(-1)?.[1];
  return undefined;
}

function authorizerEvent(authorizer: AuthorizerModel, request: AuthorizerRequest, token: string | undefined): unknown {
  if (authorizer.type === 'TOKEN') return { type: 'TOKEN', methodArn: request.methodArn, authorizationToken: token };
  const headers = singleAndMulti(request.headers);
  const query = singleAndMulti(request.query);
  return {
    type: 'REQUEST',
    methodArn: request.methodArn,
    resource: request.resource,
    path: request.path,
    httpMethod: request.httpMethod,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: request.query.length ? query.single : {},
    multiValueQueryStringParameters: request.query.length ? query.multi : {},
    pathParameters: request.pathParameters,
    stageVariables: {},
    requestContext: request.requestContext,
  };
}

export class Authorizers {
  private readonly cache = new Map<string, CachedPolicy>();

  constructor(
    /** Invokes a function synchronously with an event. */
    private readonly invoke: (functionArn: string, event: unknown) => Promise<unknown>,
    /** Wall-clock time (ms) for the result cache. */
    private readonly now: () => number,
  ) {}

  async authorize(authorizer: AuthorizerModel, request: AuthorizerRequest): Promise<AuthorizerOutcome> {
    const values = authorizer.identitySources.map((source) => identityValue(source, request));
    // A missing (or empty) identity source is refused before the function runs.
    if (values.some((value) => !value)) return { allow: false, refusal: 'UNAUTHORIZED' };
    const cacheKey = `${authorizer.logicalId}\n${values.join('\n')}`;
    let policy = this.cache.get(cacheKey);
    if (!policy || policy.expiresAt <= this.now()) {
      this.cache.delete(cacheKey);
      let result: unknown;
      try {
        result = await this.invoke(authorizer.functionArn, authorizerEvent(authorizer, request, values[0]));
      } catch (error) {
        return { allow: false, refusal: errorMessage(error) === 'Unauthorized' ? 'UNAUTHORIZED' : 'AUTHORIZER_FAILURE' };
      }
      const r = (result ?? {}) as {
        principalId?: unknown;
        policyDocument?: { Statement?: PolicyStatement[] };
        context?: unknown;
        usageIdentifierKey?: unknown;
      };
      if (typeof r.principalId !== 'string' || !Array.isArray(r.policyDocument?.Statement)) {
        return { allow: false, refusal: 'AUTHORIZER_CONFIGURATION_ERROR' };
      }
      policy = {
        expiresAt: this.now() + authorizer.ttlSeconds * 1000,
        principalId: r.principalId,
        statements: r.policyDocument.Statement,
        context: (r.context ?? {}) as Record<string, string | number | boolean>,
        ...(typeof r.usageIdentifierKey === 'string' ? { usageIdentifierKey: r.usageIdentifierKey } : {}),
      };
      // Without identity sources API Gateway cannot key a cache, so it does not cache.
      if (authorizer.ttlSeconds > 0 && authorizer.identitySources.length > 0) this.cache.set(cacheKey, policy);
    }
    if (!allows(policy.statements, request.methodArn)) return { allow: false, refusal: 'ACCESS_DENIED' };
    return {
      allow: true,
      context: { ...policy.context, principalId: policy.principalId },
      ...(policy.usageIdentifierKey !== undefined ? { usageIdentifierKey: policy.usageIdentifierKey } : {}),
    };
  }
}
