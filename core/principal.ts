/**
 * Who is calling: every authorized request carries exactly one principal, a person (signed in with OpenID Connect)
 * or a program (an API key), with one role. The authorizer produces it; handlers decide on it. The authorizer
 * context carries it to the handlers; API Gateway hands context values over as strings.
 */

export const PRINCIPAL_KINDS = ['person', 'program'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export const ROLES = ['user', 'admin'] as const;
export type PrincipalRole = (typeof ROLES)[number];

export interface Principal {
  /** Stable across sign-ins and keys: jobs, webhook settings and limits belong to it. */
  readonly id: string;
  /** For people and logs: a name or e-mail address, never a secret. */
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly role: PrincipalRole;
}

/**
 * Names of the fields of requestContext.authorizer that handlers read. API Gateway sets `principalId` itself from
 * the authorizer result's principalId; the others come from the result's context.
 */
export const AUTHORIZER_CONTEXT = {
  principalId: 'principalId',
  name: 'principalName',
  kind: 'principalKind',
  role: 'role',
} as const;

/** The context an Allow carries besides its principalId (strings only, as API Gateway requires). */
export type AuthorizerContext = Record<'principalName' | 'principalKind' | 'role', string>;

export function principalContext(principal: Principal): AuthorizerContext {
  return { principalName: principal.name, principalKind: principal.kind, role: principal.role };
}

/** requestContext.authorizer as API Gateway passes it to the integration for an Allow. */
export function authorizerRequestContext(principal: Principal): Record<string, string> {
  return { [AUTHORIZER_CONTEXT.principalId]: principal.id, ...principalContext(principal) };
}

/** The principal from requestContext.authorizer; undefined unless every field is present and valid. */
export function principalFromContext(context: Record<string, unknown> | null | undefined): Principal | undefined {
  if (!context) return undefined;
  const id = context[AUTHORIZER_CONTEXT.principalId];
  const name = context[AUTHORIZER_CONTEXT.name];
  const kind = context[AUTHORIZER_CONTEXT.kind];
  const role = context[AUTHORIZER_CONTEXT.role];
  if (typeof id !== 'string' || !id || typeof name !== 'string') return undefined;
  if (!PRINCIPAL_KINDS.includes(kind as PrincipalKind) || !ROLES.includes(role as PrincipalRole)) return undefined;
  return { id, name, kind: kind as PrincipalKind, role: role as PrincipalRole };
}

/** The request header that carries an API key (also the authorizer's identity source). */
export const API_KEY_HEADER = 'x-api-key';

/** Prefix of every key value the service generates: recognisable in a leaked-secret scan. */
export const API_KEY_PREFIX = 'k2p_';

/** Authorizer results are cached this long (s): a disabled key or a removed admin stops working within it. */
export const AUTHORIZER_CACHE_SECONDS = 60;

/**
 * DynamoDB layout of the key registry table: one item per key, keyed by the SHA-256 hex of its value; and one item
 * per person whose standing an operator has set (disabled, or a role that overrides the token's groups), keyed
 * `PERSON#<principal id>` — never hex, so the two kinds cannot collide. Both carry `principalId` (byPrincipal index).
 */
export const KEY_TABLE = {
  partitionKey: 'keyHash',
  /** Prefix of a person's standing item's partition key. */
  personPrefix: 'PERSON#',
  /** Index to find a principal's keys (revocation, listing). */
  principalIndex: 'byPrincipal',
  principalIndexPartitionKey: 'principalId',
} as const;

/** Prefix of a person's principal id (`oidc:<issuer>#<sub>`): people sign in, programs hold keys. */
export const PERSON_ID_PREFIX = 'oidc:';
