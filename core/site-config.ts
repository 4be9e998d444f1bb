/**
 * The web page's runtime configuration, config.json next to index.html: written by the deployment (lib/website.ts),
 * served by local mode (local/host), read by the page (web/src/config.ts). Invariants:
 *   - `apiKey` is present exactly when `anonymousAccess` is true (off: the site publishes no key at all);
 *   - `signIn` is present whenever the deployment has an identity provider (always, unless anonymous-only);
 *   - nothing in it is a secret: the page is a public OpenID Connect client (code flow + PKCE, no client secret).
 * Browser-safe: no node: imports.
 */
import type { BundleLimits, ServiceLimits } from './limits';

/** Scopes the page asks for: `openid` for the ID token, `profile`/`email` for a display name. */
export const SIGN_IN_SCOPES = ['openid', 'profile', 'email'] as const;

/** How the page signs people in: an OpenID Connect public client with PKCE; redirect URIs are the site's origin + "/". */
export interface SiteSignInConfig {
  /** The issuer; the page reads `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** The app client id (public client, no secret). */
  readonly clientId: string;
  readonly scopes: readonly string[];
  /**
   * Where sign-out sends the browser when the provider's discovery document has no `end_session_endpoint`
   * (Cognito: `https://<domain>/logout`, called with `client_id` and `logout_uri`).
   * @default - the discovery document's end_session_endpoint
   */
  readonly signOutUrl?: string;
}

export interface SiteConfig {
  /** The jobs API's stage URL (ends with /). */
  readonly apiUrl: string;
  /** On: the page works without sign-in through the public key and its tight usage plan, and says so. */
  readonly anonymousAccess: boolean;
  /** The public web key; only when anonymousAccess is on. */
  readonly apiKey?: string;
  readonly signIn?: SiteSignInConfig;
  readonly bundleLimits: BundleLimits;
  readonly limits: Pick<ServiceLimits, 'uploadUrlSeconds' | 'resultRetentionDays' | 'converterTimeoutSeconds'>;
}
