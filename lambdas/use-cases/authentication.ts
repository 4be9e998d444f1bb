/**
 * Who a request comes from, and which usage-plan key throttles it: a bearer token (OIDC) names a person, who is
 * throttled by the People key; a registered, enabled API key names its principal and is throttled by its own value
 * when an operator also made it an API Gateway key (its record names `apiGatewayKeyId`), else by the Programs key.
 * When both are sent the bearer token wins (a signed-in person on the page that also carries the shared page key
 * acts as the person), and a bad token is refused rather than falling back to the key. Key lookups are reused for
 * at most `cacheMs` (a disabled key stops within it) in a bounded cache; lastUsedAt is written only when the registry
 * is read, so at most once per `cacheMs` per key and container. A person's standing set by an operator (disabled,
 * or another role) overrides the token and is reused for at most `cacheMs` too. Neither a key value nor a token
 * reaches a log line.
 */
import { hashApiKey } from '../../core/node/api-key';
import { API_KEY_HEADER, type Principal } from '../../core/principal';
import { BoundedCache } from '../decisions/bounded-cache';
import type { KeyRecord, KeyRegistry, PersonStanding } from '../storage/key-registry';
import { logger } from '../runtime/observability';

export interface Credentials {
  /** The x-api-key header value. */
  apiKey?: string;
  /** The token of an `Authorization: Bearer <token>` header. */
  bearerToken?: string;
}

/** An authenticated caller: its principal and the API Gateway key value its requests count against. */
export interface Authenticated {
  principal: Principal;
  usageIdentifierKey: string;
}

export interface AuthenticatorOptions {
  registry: KeyRegistry;
  now: () => Date;
  /**
   * Verifies a bearer token and names its principal; throws DomainError UNAUTHORIZED (refused) or AUTH_UNAVAILABLE
   * (cannot check now). @default - bearer tokens are refused
   */
  verifyBearer?: (token: string) => Promise<Principal>;
  /** The People usage-plan key value (bearer-token callers); without it bearer tokens are refused. */
  peopleUsageKey?: string;
  /**
   * The Programs usage-plan key value: registered keys without an API Gateway key of their own count against it.
   * @default - every key is its own usage-plan key (a key that is no API Gateway key is then refused by the gateway)
   */
  programsUsageKey?: string;
  /** How long a key lookup is reused, ms. */
  cacheMs: number;
  /** At most this many key lookups are kept. @default 5000 */
  cacheEntries?: number;
}

export type Authenticate = (credentials: Credentials) => Promise<Authenticated | undefined>;

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

/**
 * An authenticate function with its own key cache (one per container). It resolves undefined for refused
 * credentials (unknown or disabled key, refused token, nothing sent) and rejects when it cannot decide.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const lookups = new BoundedCache<KeyRecord | null>(options.cacheEntries ?? 5000);

  const lookup = async (value: string): Promise<KeyRecord | undefined> => {
    const keyHash = hashApiKey(value);
    const now = options.now().getTime();
    const cached = lookups.get(keyHash, now);
    if (cached !== undefined) return cached ?? undefined;
    const record = await options.registry.lookup(value);
    lookups.set(keyHash, record ?? null, now + options.cacheMs, now);
    // lastUsedAt is best effort: a failed write must not refuse a valid key.
    if (record?.enabled) {
      await options.registry.touch(keyHash, options.now().toISOString()).catch((error: unknown) => {
        logger.warn('Could not record the key use', { principalId: record.principalId, error: (error as Error).name });
      });
    }
    return record;
  };

  const standings = new BoundedCache<PersonStanding | null>(options.cacheEntries ?? 5000);
  const standingOf = async (principalId: string): Promise<PersonStanding | undefined> => {
    const now = options.now().getTime();
    const cached = standings.get(principalId, now);
    if (cached !== undefined) return cached ?? undefined;
    const standing = await options.registry.standingOf(principalId);
    standings.set(principalId, standing ?? null, now + options.cacheMs, now);
    return standing;
  };

  const authenticateKey = async (value: string): Promise<Authenticated | undefined> => {
    const record = await lookup(value);
    if (!record) {
      logger.info('Refused: unknown API key');
      return undefined;
    }
    if (!record.enabled) {
      logger.info('Refused: disabled API key', { principalId: record.principalId });
      return undefined;
    }
    logger.info('Authenticated', { principalId: record.principalId, kind: record.kind, role: record.role });
    const usageIdentifierKey = record.apiGatewayKeyId || !options.programsUsageKey ? value : options.programsUsageKey;
    return { principal: { id: record.principalId, name: record.name, kind: record.kind, role: record.role }, usageIdentifierKey };
  };

  const authenticateBearer = async (token: string): Promise<Authenticated | undefined> => {
    if (!options.verifyBearer || !options.peopleUsageKey) {
      logger.info('Refused: bearer tokens are not accepted here');
      return undefined;
    }
    let principal: Principal;
    try {
      principal = await options.verifyBearer(token);
    } catch (error) {
      if ((error as { code?: string }).code === 'UNAUTHORIZED') {
        logger.info('Refused: bearer token not valid');
        return undefined;
      }
      throw error;
    }
    // The operator's word beats the token's: a disabled person or a changed role takes effect within cacheMs.
    const standing = await standingOf(principal.id);
    if (standing && !standing.enabled) {
      logger.info('Refused: disabled person', { principalId: principal.id });
      return undefined;
    }
    if (standing?.role) principal = { ...principal, role: standing.role };
    logger.info('Authenticated', { principalId: principal.id, kind: principal.kind, role: principal.role });
    return { principal, usageIdentifierKey: options.peopleUsageKey };
  };

  return async (credentials) => {
    if (credentials.bearerToken) return authenticateBearer(credentials.bearerToken);
    if (credentials.apiKey) return authenticateKey(credentials.apiKey);
    logger.info('Refused: no credentials');
    return undefined;
  };
}
