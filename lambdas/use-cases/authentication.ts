/**
 * Who a request comes from: a registered, enabled API key names its
 * principal. A bearer token (OIDC) is the second way in; its verifier plugs
 * in as `verifyBearer` without changing the key path. Neither a key value
 * nor a token ever reaches a log line: only principal ids and outcomes.
 */
import { hashApiKey } from '../../core/node/api-key';
import { API_KEY_HEADER, type Principal } from '../../core/principal';
import type { KeyRegistry } from '../storage/key-registry';
import { logger } from '../runtime/observability';

export interface Credentials {
  /** The x-api-key header value. */
  apiKey?: string;
  /** The token of an `Authorization: Bearer <token>` header. */
  bearerToken?: string;
}

export interface AuthenticationDeps {
  registry: KeyRegistry;
  now: () => Date;
  /** Verifies a bearer token and names its principal (undefined: refused). @default - bearer tokens are refused */
  verifyBearer?: (token: string) => Promise<Principal | undefined>;
}

/** The credentials of a request's headers (names case-insensitive). */
export function credentialsOf(headers: Record<string, string | undefined> | null | undefined): Credentials {
  const credentials: Credentials = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!value) continue;
    const lower = name.toLowerCase();
    if (lower === API_KEY_HEADER) credentials.apiKey = value;
    else if (lower === 'authorization') {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
      if (match) credentials.bearerToken = match[1];
    }
  }
  return credentials;
}

/** The principal behind the credentials, or undefined (unknown or disabled key, refused token, nothing sent). */
export async function authenticate(credentials: Credentials, deps: AuthenticationDeps): Promise<Principal | undefined> {
  if (credentials.apiKey) return authenticateKey(credentials.apiKey, deps);
  if (credentials.bearerToken && deps.verifyBearer) return deps.verifyBearer(credentials.bearerToken);
  logger.info('Refused: no credentials');
  return undefined;
}

async function authenticateKey(value: string, deps: AuthenticationDeps): Promise<Principal | undefined> {
  const record = await deps.registry.lookup(value);
  if (!record) {
    logger.info('Refused: unknown API key');
    return undefined;
  }
  if (!record.enabled) {
    logger.info('Refused: disabled API key', { principalId: record.principalId });
    return undefined;
  }
  // lastUsedAt is best effort: a failed write must not refuse a valid key.
  await deps.registry.touch(hashApiKey(value), deps.now().toISOString()).catch((error: unknown) => {
    logger.warn('Could not record the key use', { principalId: record.principalId, error: (error as Error).name });
  });
  logger.info('Authenticated', { principalId: record.principalId, kind: record.kind, role: record.role });
  return { id: record.principalId, name: record.name, kind: record.kind, role: record.role };
}
