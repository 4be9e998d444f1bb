/**
 * Bearer JWTs from the configured OpenID Connect issuer become principals, or are refused: only asymmetric
 * signatures checked against the issuer's JWKS (fetched over HTTPS — plain http only for a loopback issuer when
 * explicitly allowed, local mode — cached, refetch cooldown), never `none` or HMAC; issuer, audience (or Cognito
 * access tokens' `client_id`), `exp`/`nbf`/`iat`, `token_use` and `typ` checked. Bad tokens → 401 UNAUTHORIZED;
 * issuer or JWKS unreachable → 503 AUTH_UNAVAILABLE (fails closed, never cached). Verdicts may be cached by the
 * token's hash, never past the token's expiry. The token text is never logged nor put into an error.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { DomainError } from '../../core/errors';
import { PERSON_ID_PREFIX, type Principal } from '../../core/principal';
import { OIDC_ENV } from '../../core/service-env';
import { BoundedCache } from '../decisions/bounded-cache';

/** Asymmetric algorithms only: HS* would let anyone holding the public key sign, `none` signs nothing. */
export const BEARER_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export interface BearerTokenConfig {
  /** The issuer exactly as the tokens' `iss` carries it (e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>). */
  readonly issuer: string;
  /** The app client id: the token's `aud` must contain it, or (Cognito access tokens) its `client_id` equal it. */
  readonly audience: string;
  /** Claim with the user's groups (`cognito:groups` for Cognito, often `groups` elsewhere). */
  readonly groupsClaim: string;
  /** Members of this group get the `admin` role. */
  readonly adminGroup: string;
  /** Default: `jwks_uri` of the issuer's discovery document. */
  readonly jwksUri?: string;
  /** Allowed clock skew for exp/nbf/iat. Default 30. */
  readonly clockToleranceSeconds?: number;
  /** Accepted Cognito `token_use` values when the claim is present. Default both `id` and `access`. */
  readonly tokenUses?: readonly ('id' | 'access')[];
  /** Required JOSE header `typ` (e.g. `at+jwt`); default: not checked. */
  readonly tokenType?: string;
  /** Timeout of discovery and JWKS requests. Default 3000 ms. */
  readonly fetchTimeoutMs?: number;
  /** Shortest time between two JWKS refetches for an unknown `kid`. Default 30 s. */
  readonly cooldownMs?: number;
  /** JWKS cache lifetime. Default 10 min. */
  readonly cacheMaxAgeMs?: number;
  /** Accept an http issuer and JWKS on a loopback address (local mode's stand-in). Default false: https only. */
  readonly allowLoopbackHttp?: boolean;
  /** Reuse verdicts (valid or refused, never outages) by the token's SHA-256; default: no cache. */
  readonly cache?: { readonly maxAgeMs: number; readonly maxEntries: number; readonly now?: () => number };
  /** Receives refusals and outages (reasons and claims only, never the token). */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** The verifier's settings from the authorizer's environment; undefined when no issuer is configured (bearer tokens off). */
export function bearerTokenConfigFromEnv(env: Record<string, string | undefined>): Omit<BearerTokenConfig, 'log'> | undefined {
  const issuer = env[OIDC_ENV.OIDC_ISSUER]?.trim();
  if (!issuer) return undefined;
  const audience = env[OIDC_ENV.OIDC_AUDIENCE]?.trim();
  if (!audience) throw new Error(`${OIDC_ENV.OIDC_AUDIENCE} must be set with ${OIDC_ENV.OIDC_ISSUER}`);
  return {
    issuer,
    audience,
    groupsClaim: env[OIDC_ENV.OIDC_GROUPS_CLAIM]?.trim() || 'cognito:groups',
    adminGroup: env[OIDC_ENV.OIDC_ADMIN_GROUP]?.trim() || 'admins',
    ...(env[OIDC_ENV.OIDC_JWKS_URI]?.trim() ? { jwksUri: env[OIDC_ENV.OIDC_JWKS_URI]!.trim() } : {}),
    ...(env[OIDC_ENV.OIDC_ALLOW_LOOPBACK_HTTP] === 'true' ? { allowLoopbackHttp: true } : {}),
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Throws unless `url` is https, or http on a loopback host while `allowLoopbackHttp`: tokens' keys come from here. */
export function assertIdentityUrl(url: string, what: string, allowLoopbackHttp: boolean | undefined): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && allowLoopbackHttp && LOOPBACK_HOSTS.has(parsed.hostname)) return;
  throw new Error(`${what} must use https${allowLoopbackHttp ? ' (http only on a loopback address)' : ''}`);
}

export type VerifyBearerToken = (token: string) => Promise<Principal>;

const REFUSED = 'The bearer token is not valid.';

/** JOSE failures that mean "this token is bad"; everything else (network, bad JWKS) means "cannot check now". */
const TOKEN_ERRORS = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
];

export function createTokenVerifier(config: BearerTokenConfig): VerifyBearerToken {
  assertIdentityUrl(config.issuer, 'The OIDC issuer', config.allowLoopbackHttp);
  if (config.jwksUri) assertIdentityUrl(config.jwksUri, 'The OIDC JWKS URI', config.allowLoopbackHttp);
  const verify = uncachedVerifier(config);
  if (!config.cache) return async (token) => (await verify(token)).principal;
  return cachedVerifier(verify, config.cache, config.log ?? (() => undefined));
}

interface Verdict {
  principal: Principal;
  /** The token's `exp`, ms. */
  expiresAt: number;
}

/** Verdicts by the token's hash: a valid token until min(its exp, maxAge), a refusal for maxAge; outages never. */
function cachedVerifier(
  verify: (token: string) => Promise<Verdict>,
  cache: NonNullable<BearerTokenConfig['cache']>,
  log: NonNullable<BearerTokenConfig['log']>,
): VerifyBearerToken {
  const now = cache.now ?? Date.now;
  const verdicts = new BoundedCache<Principal | DomainError>(cache.maxEntries);
  return async (token: string): Promise<Principal> => {
    const key = createHash('sha256').update(String(token)).digest('hex');
    const cached = verdicts.get(key, now());
    if (cached instanceof DomainError) {
      log('bearer token refused', { reason: 'cached refusal' });
      throw new DomainError('UNAUTHORIZED', REFUSED);
    }
    if (cached) return cached;
    try {
      const verdict = await verify(token);
      verdicts.set(key, verdict.principal, Math.min(verdict.expiresAt, now() + cache.maxAgeMs), now());
      return verdict.principal;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'UNAUTHORIZED') verdicts.set(key, error, now() + cache.maxAgeMs, now());
      throw error;
    }
  };
}

function uncachedVerifier(config: BearerTokenConfig): (token: string) => Promise<Verdict> {
  const log = config.log ?? (() => undefined);
  const timeoutDuration = config.fetchTimeoutMs ?? 3000;
  const tokenUses = config.tokenUses ?? ['id', 'access'];
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  let pendingJwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const keySet = (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (jwks) return Promise.resolve(jwks);
    pendingJwks ??= jwksUriOf(config, timeoutDuration)
      .then((uri) => {
        jwks = createRemoteJWKSet(new URL(uri), {
          timeoutDuration,
          cooldownDuration: config.cooldownMs ?? 30_000,
          cacheMaxAge: config.cacheMaxAgeMs ?? 600_000,
          [customFetch]: fetchRetryingStaleSocket,
        });
        return jwks;
      })
      .finally(() => {
        // A failed discovery is retried on the next token rather than remembered.
        pendingJwks = undefined;
      });
    return pendingJwks;
  };

  const refuse = (reason: string, fields: Record<string, unknown> = {}): DomainError => {
    log('bearer token refused', { reason, ...fields });
    return new DomainError('UNAUTHORIZED', REFUSED);
  };

  return async (token: string): Promise<Verdict> => {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) throw refuse('malformed');
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw refuse('malformed');
    }
    // Refused before any network call, so junk tokens cannot make us fetch.
    if (typeof alg !== 'string' || !(BEARER_ALGORITHMS as readonly string[]).includes(alg))
      throw refuse('algorithm not allowed', { alg: String(alg).slice(0, 16) });

    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await keySet();
    } catch (error) {
      log('identity provider unreachable', { phase: 'discovery', error: describe(error) });
      throw new DomainError('AUTH_UNAVAILABLE', undefined, { retryAfterSeconds: 5 });
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...BEARER_ALGORITHMS],
        issuer: config.issuer,
        clockTolerance: config.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp', 'iat'],
        ...(config.tokenType ? { typ: config.tokenType } : {}),
      }));
    } catch (error) {
      if (TOKEN_ERRORS.some((type) => error instanceof type)) throw refuse(reasonOf(error));
      log('identity provider unreachable', { phase: 'jwks', error: describe(error) });
      throw new DomainError('AUTH_UNAVAILABLE', undefined, { retryAfterSeconds: 5 });
    }

    const claims = payload as JWTPayload & Record<string, unknown>;
    // jose checks iat only against a maximum age; a token issued in the future is as wrong as one not yet valid.
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + (config.clockToleranceSeconds ?? 30))
      throw refuse('issued in the future');
    if (!audienceMatches(claims, config.audience)) throw refuse('wrong audience');
    if (claims.token_use !== undefined && !(tokenUses as readonly unknown[]).includes(claims.token_use)) throw refuse('wrong token_use');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw refuse('no subject');

    const groups = groupsOf(claims[config.groupsClaim]);
    return {
      principal: {
        id: `${PERSON_ID_PREFIX}${config.issuer}#${claims.sub}`,
        name: displayName(claims),
        kind: 'person',
        role: groups.includes(config.adminGroup) ? 'admin' : 'user',
      },
      // requiredClaims makes exp present; jose has checked it is a number in the future.
      expiresAt: (claims.exp as number) * 1000,
    };
  };
}

/** `aud` names the client (and `azp`, when present, is it); Cognito access tokens carry `client_id` and no `aud`. */
function audienceMatches(claims: JWTPayload & Record<string, unknown>, clientId: string): boolean {
  if (claims.aud !== undefined) {
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(clientId)) return false;
    return claims.azp === undefined || claims.azp === clientId;
  }
  return claims.client_id === clientId;
}

function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

function displayName(claims: Record<string, unknown>): string {
  for (const claim of ['name', 'email', 'cognito:username', 'preferred_username', 'username', 'sub']) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 200);
  }
  return 'unknown';
}

async function jwksUriOf(config: BearerTokenConfig, timeoutMs: number): Promise<string> {
  if (config.jwksUri) return config.jwksUri;
  const url = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetchRetryingStaleSocket(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  if (!response.ok) throw new Error(`discovery document: HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OpenID Connect Discovery: the document's issuer must be exactly the one configured.
  if (document.issuer !== config.issuer) throw new Error('discovery document names another issuer');
  if (typeof document.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
  assertIdentityUrl(document.jwks_uri, 'the discovered jwks_uri', config.allowLoopbackHttp);
  return document.jwks_uri;
}

/** One retry when a pooled keep-alive socket turns out dead (the provider restarted); refusals are not retried. */
async function fetchRetryingStaleSocket(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') throw error;
    return fetch(url, init);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown key';
  return (error as { code?: string }).code ?? 'invalid';
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return `${(error as Error).name}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`.slice(0, 300);
}
