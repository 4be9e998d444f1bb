/**
 * Signing people in on the page: an OpenID Connect public client (authorization code + PKCE, no secret; oidc-client-ts)
 * whose redirect and sign-out URIs are the site's origin + "/". Invariants:
 *   - tokens live in sessionStorage only (this tab, gone when it closes), never in localStorage;
 *   - renewal uses the refresh token, a minute before expiry, and never an iframe (the site allows no framing);
 *   - sign-out forgets the tokens here, revokes the refresh token where the provider can, and ends the provider's
 *     session (its end_session_endpoint, or signIn.signOutUrl — Cognito's /logout with client_id and logout_uri);
 *   - the API gets the ID token: OpenID Connect fixes its `aud` to the client id at every provider, which is what the
 *     authorizer checks (access tokens' audience differs by provider), and it carries the name the API shows.
 * No token is ever logged or put into an error message.
 */
import { ErrorResponse, UserManager, WebStorageStateStore, type INavigator, type User } from 'oidc-client-ts';
import type { SiteSignInConfig } from '../../core/site-config';

/** Prefix of this module's sessionStorage entries (the user and the pending sign-in/out states). */
export const SIGN_IN_STORE_PREFIX = 'k2p-web.sign-in.';
/** Renew this long before the token expires: clock skew, a slow answer, a request in flight. */
export const RENEW_BEFORE_SECONDS = 60;
/** After a renewal that found no answer (network), try again this much later while the token still works. */
export const RENEW_RETRY_SECONDS = 15;

/** Query parameters a provider adds when it sends the browser back. */
const RESPONSE_PARAMS = ['code', 'state', 'session_state', 'iss', 'error', 'error_description', 'error_uri', 'scope'];

export interface Person {
  /** What the page shows: the name, else the e-mail address, else the user name. */
  readonly name: string;
}

export interface SignInEnvironment {
  /** The site's origin (location.origin): redirects come back to origin + "/". */
  readonly origin: string;
  /** sessionStorage in the page; a Map-backed one in tests. */
  readonly storage: Storage;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** How the browser is sent to the provider. @default - location.assign */
  readonly navigator?: INavigator;
  /** Leaves the page for a URL (Cognito's logout). @default - location.assign */
  readonly leave?: (url: string) => void;
}

export type SignInStart =
  /** Nothing to finish: a stored session (if any) was restored. */
  | { readonly kind: 'none' }
  /** Back from the provider: show `url` (the page the person signed in from, or the bare page after sign-out). */
  | { readonly kind: 'signed-in' | 'signed-out'; readonly url: string }
  /** The provider refused or the answer did not check out: `message` says why. */
  | { readonly kind: 'failed'; readonly url: string; readonly message: string };

/** The provider's answer to a sign-in (code or error, with our state) on the page's own URL. */
export function isSignInResponse(href: string): boolean {
  const params = new URL(href).searchParams;
  return params.has('state') && (params.has('code') || params.has('error'));
}

/** The provider's return from a sign-out: our state alone. */
export function isSignOutResponse(href: string): boolean {
  const params = new URL(href).searchParams;
  return params.has('state') && !params.has('code') && !params.has('error');
}

/** The URL without what the provider added (a code must not stay in the address bar or the history). */
export function withoutResponseParams(href: string): string {
  const url = new URL(href);
  for (const name of RESPONSE_PARAMS) url.searchParams.delete(name);
  return url.href;
}

/** Where to go back after signing in: a URL of this site only (the state comes back through the browser). */
export function returnUrl(state: unknown, origin: string): string {
  const home = `${origin}/`;
  const wanted = (state as { returnTo?: unknown } | null | undefined)?.returnTo;
  if (typeof wanted !== 'string') return home;
  try {
    const url = new URL(wanted);
    return url.origin === origin ? withoutResponseParams(url.href) : home;
  } catch {
    return home;
  }
}

/** Cognito's hosted UI logout: it ends the Cognito session and sends the browser to `logout_uri`. */
export function signOutUrlOf(signOutUrl: string, clientId: string, logoutUri: string): string {
  const url = new URL(signOutUrl);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('logout_uri', logoutUri);
  return url.href;
}

/** The name to show from the ID token's claims. */
export function displayNameOf(profile: Record<string, unknown>): string {
  for (const claim of ['name', 'email', 'preferred_username', 'cognito:username', 'sub']) {
    const value = profile[claim];
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 120);
  }
  return 'signed in';
}

/** When the token the API gets stops working, epoch seconds: the ID token's `exp`, and the grant's when earlier. */
export function expiresAtOf(user: Pick<User, 'expires_at' | 'profile'>): number | undefined {
  const candidates = [user.profile.exp, user.expires_at].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return candidates.length ? Math.min(...candidates) : undefined;
}

/** The browser may not be framed: silent renewal through an iframe is refused instead of tried. */
const NO_IFRAME: INavigator = {
  prepare: () => Promise.reject(new Error('Silent sign-in in a frame is not used: the session is renewed with its refresh token.')),
  callback: () => Promise.resolve(),
};

export class SignIn {
  private readonly manager: UserManager;
  private readonly now: () => number;
  private readonly leave: (url: string) => void;
  private user?: User;
  private renewing?: Promise<User | undefined>;
  private timer?: ReturnType<typeof setTimeout>;
  private readonly listeners = new Set<(person: Person | undefined, reason?: string) => void>();

  constructor(
    private readonly config: SiteSignInConfig,
    private readonly env: SignInEnvironment,
  ) {
    this.now = env.now ?? Date.now;
    this.leave = env.leave ?? ((url) => window.location.assign(url));
    const store = new WebStorageStateStore({ store: env.storage, prefix: SIGN_IN_STORE_PREFIX });
    this.manager = new UserManager(
      {
        authority: config.issuer,
        client_id: config.clientId,
        redirect_uri: `${env.origin}/`,
        post_logout_redirect_uri: `${env.origin}/`,
        response_type: 'code',
        scope: config.scopes.join(' '),
        userStore: store,
        stateStore: store,
        // Renewal is ours (refresh token only); no session-monitor iframe, no user-info call (the ID token has the name).
        automaticSilentRenew: false,
        monitorSession: false,
        loadUserInfo: false,
        fetchRequestCredentials: 'omit',
      },
      env.navigator,
      undefined,
      NO_IFRAME,
    );
  }

  /** The signed-in person, or undefined. */
  get person(): Person | undefined {
    return this.user ? { name: displayNameOf(this.user.profile as Record<string, unknown>) } : undefined;
  }

  /** Called on sign-in, renewal failure and sign-out; `reason` says why a session ended on its own. */
  onChange(listener: (person: Person | undefined, reason?: string) => void): void {
    this.listeners.add(listener);
  }

  /** Finishes a return from the provider named in `href`, else restores this tab's session. */
  async start(href: string): Promise<SignInStart> {
    if (isSignInResponse(href)) {
      const clean = withoutResponseParams(href);
      try {
        const user = await this.manager.signinCallback(href);
        if (!user?.id_token) throw new Error('The identity provider sent no ID token (is "openid" among the scopes?).');
        this.adopt(user);
        return { kind: 'signed-in', url: returnUrl(user.state, this.env.origin) };
      } catch (error) {
        await this.manager.removeUser().catch(() => undefined);
        return { kind: 'failed', url: clean, message: messageOf(error) };
      }
    }
    if (isSignOutResponse(href)) {
      // An unknown or stale state only means there is nothing to finish.
      await this.manager.signoutCallback(href).catch(() => undefined);
      return { kind: 'signed-out', url: withoutResponseParams(href) };
    }
    const stored = await this.manager.getUser().catch(() => null);
    if (stored?.id_token) {
      this.adopt(stored);
      if (this.secondsLeft() <= RENEW_BEFORE_SECONDS) await this.renew();
    } else if (stored) {
      await this.manager.removeUser();
    }
    return { kind: 'none' };
  }

  /** The token for `Authorization: Bearer`, renewed first when it is about to expire; undefined when signed out. */
  async token(): Promise<string | undefined> {
    if (!this.user) return undefined;
    if (this.secondsLeft() <= RENEW_BEFORE_SECONDS) await this.renew();
    return this.user?.id_token;
  }

  /** Sends the browser to the provider's sign-in; it comes back to origin + "/" and then to `returnTo`. */
  async signIn(returnTo: string): Promise<void> {
    await this.manager.signinRedirect({ state: { returnTo } });
  }

  /** Forgets the tokens, revokes the refresh token where the provider can, and ends the provider's session. */
  async signOut(): Promise<void> {
    this.stopTimer();
    const user = this.user;
    this.user = undefined;
    this.emit(undefined);
    if (user?.refresh_token && (await this.manager.metadataService.getRevocationEndpoint(true).catch(() => undefined))) {
      await this.manager.revokeTokens(['refresh_token']).catch(() => undefined);
    }
    if (this.config.signOutUrl) {
      await this.manager.removeUser();
      return this.leave(signOutUrlOf(this.config.signOutUrl, this.config.clientId, `${this.env.origin}/`));
    }
    const endSession = await this.manager.metadataService.getEndSessionEndpoint().catch(() => undefined);
    if (!endSession) {
      // The provider offers no way to end its session: at least this page forgets it.
      await this.manager.removeUser();
      return this.leave(`${this.env.origin}/`);
    }
    // A state makes the return recognisable, so the page can say that the sign-out is done.
    await this.manager.signoutRedirect({ state: 'signed-out', ...(user?.id_token ? { id_token_hint: user.id_token } : {}) });
  }

  /**
   * Renews with the refresh token. The provider refusing (revoked, expired) ends the session and the listeners are told
   * why; no answer at all is tried again shortly while the current token still works.
   */
  async renew(): Promise<User | undefined> {
    this.renewing ??= (async () => {
      try {
        if (!this.user?.refresh_token) throw new Error('no refresh token');
        const user = await this.manager.signinSilent();
        if (!user?.id_token) throw new Error('no ID token');
        this.adopt(user);
        return user;
      } catch (error) {
        if (!(error instanceof ErrorResponse) && this.user?.refresh_token && this.secondsLeft() > RENEW_RETRY_SECONDS) {
          this.stopTimer();
          this.timer = setTimeout(() => void this.renew(), RENEW_RETRY_SECONDS * 1000);
          return this.user;
        }
        this.stopTimer();
        this.user = undefined;
        await this.manager.removeUser().catch(() => undefined);
        this.emit(undefined, 'Your session has ended: sign in again to go on.');
        return undefined;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private adopt(user: User): void {
    this.user = user;
    this.stopTimer();
    // Never sooner than the retry pause: a provider issuing very short-lived tokens must not be asked in a loop.
    const wait = (this.secondsLeft() - RENEW_BEFORE_SECONDS) * 1000;
    if (Number.isFinite(wait))
      this.timer = setTimeout(() => void this.renew(), Math.max(RENEW_RETRY_SECONDS * 1000, Math.min(wait, 2 ** 31 - 1)));
    this.emit(this.person);
  }

  private secondsLeft(): number {
    const expiresAt = this.user ? expiresAtOf(this.user) : undefined;
    return expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - this.now() / 1000;
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private emit(person: Person | undefined, reason?: string): void {
    for (const listener of this.listeners) listener(person, reason);
  }
}

/** The provider's words for a refusal (error_description), never a token. */
function messageOf(error: unknown): string {
  const e = error as { error_description?: unknown; error?: unknown; message?: unknown };
  const text = [e?.error_description, e?.error, e?.message].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  return (text ?? 'The sign-in could not be completed.').slice(0, 300);
}
