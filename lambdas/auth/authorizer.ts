/**
 * The API's Lambda REQUEST authorizer (every method but GET /health): Allow
 * with the principal in the context (core/principal.ts AUTHORIZER_CONTEXT),
 * or "Unauthorized" (API Gateway answers 401 UNAUTHORIZED from its gateway
 * response). The policy covers the whole stage, because API Gateway caches
 * the result per identity-source value for every method.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { principalContext } from '../../core/principal';
import { logger } from '../runtime/observability';
import { keyRegistry } from '../runtime/services';
import { authenticate, credentialsOf } from '../use-cases/authentication';

const registry = keyRegistry();

/** arn:…:execute-api:region:account:api/stage/METHOD/path → arn:…:execute-api:region:account:api/stage/*\/* */
export function stagePolicyResource(methodArn: string): string {
  const [apiArn, stage] = methodArn.split('/');
  return `${apiArn}/${stage}/*/*`;
}

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  logger.appendKeys({ requestId: event.requestContext?.requestId });
  try {
    const principal = await authenticate(credentialsOf(event.headers), { registry, now: () => new Date() });
    // The exact message "Unauthorized" is what makes API Gateway answer 401.
    if (!principal) throw new Error('Unauthorized');
    return {
      principalId: principal.id,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stagePolicyResource(event.methodArn) }],
      },
      context: principalContext(principal),
    };
  } finally {
    logger.removeKeys(['requestId']);
  }
}
