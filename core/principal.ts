/**
 * Who is calling: every authorized request carries exactly one principal, a person (signed in with OpenID Connect)
 * or a program (an API key), with one role. The authorizer produces it; handlers decide on it.
 */

export type PrincipalKind = 'person' | 'program';
export type PrincipalRole = 'user' | 'admin';

export interface Principal {
  /** Stable across sign-ins and keys: jobs belong to it. */
  readonly id: string;
  /** For people and logs: a name or e-mail address, never a secret. */
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly role: PrincipalRole;
}
