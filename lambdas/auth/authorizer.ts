/**
 * The API's Lambda REQUEST authorizer (every method but GET /health): Allow with the principal in the context
 * (core/principal.ts AUTHORIZER_CONTEXT) and the usage-plan key in usageIdentifierKey (apiKeySource AUTHORIZER),
 * or "Unauthorized" (API Gateway answers 401 UNAUTHORIZED), or any other failure when it cannot decide (the
 * identity provider unreachable: API Gateway answers its AUTHORIZER_FAILURE response, 503 AUTH_UNAVAILABLE). The
 * policy covers the whole stage. API Gateway does not cache (no identity sources), so this container caches key
 * lookups and token verdicts for at most AUTHORIZER_CACHE_SECONDS.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AUTHORIZER_CACHE_SECONDS, principalContext } from '../../core/principal';
import { LAMBDA_ENV } from '../../core/service-env';
import { logger } from '../runtime/observability';
import { keyRegistry } from '../runtime/services';
import { bearerTokenConfigFromEnv, createTokenVerifier } from '../storage/bearer-tokens';
import { createAuthenticator, credentialsOf } from '../use-cases/authentication';

const CACHE_MS = AUTHORIZER_CACHE_SECONDS * 1000;
const CACHE_ENTRIES = 5000;

const bearerConfig = bearerTokenConfigFromEnv(process.env);
const authenticate = createAuthenticator({
  registry: keyRegistry(),
  now: () => new Date(),
  cacheMs: CACHE_MS,
  cacheEntries: CACHE_ENTRIES,
  peopleUsageKey: process.env[LAMBDA_ENV.PEOPLE_USAGE_KEY] || undefined,
  programsUsageKey: process.env[LAMBDA_ENV.PROGRAMS_USAGE_KEY] || undefined,
  verifyBearer: bearerConfig
    ? createTokenVerifier({
        ...bearerConfig,
        cache: { maxAgeMs: CACHE_MS, maxEntries: CACHE_ENTRIES },
        log: (message, fields) => logger.info(message, fields),
      })
    : undefined,
});

/** arn:…:execute-api:region:account:api/stage/METHOD/path → arn:…:execute-api:region:account:api/stage/*\/* */
export function stagePolicyResource(methodArn: string): string {
  const [apiArn, stage] = methodArn.split('/');
  return `${apiArn}/${stage}/*/*`;
}

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  logger.appendKeys({ requestId: event.requestContext?.requestId });
  try {
    let authenticated;
    try {
      authenticated = await authenticate(credentialsOf(event.headers));
    } catch (error) {
      // Not "Unauthorized": API Gateway answers AUTHORIZER_FAILURE (503 AUTH_UNAVAILABLE) and the client retries.
      logger.error('Cannot decide: failing closed', { code: (error as { code?: string }).code, error: (error as Error).name });
      throw new Error('Authorizer unavailable', { cause: error });
    }
    // The exact message "Unauthorized" is what makes API Gateway answer 401.
    if (!authenticated) throw new Error('Unauthorized');
    return {
      principalId: authenticated.principal.id,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stagePolicyResource(event.methodArn) }],
      },
      context: principalContext(authenticated.principal),
      usageIdentifierKey: authenticated.usageIdentifierKey,
    };
  } finally {
    logger.removeKeys(['requestId']);
  }
}
