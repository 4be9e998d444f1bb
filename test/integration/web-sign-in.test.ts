/**
 * The page's sign-in module (web/src/sign-in.ts, oidc-client-ts) against the real local OpenID provider stand-in:
 * code + PKCE through its login form, the return to the page it started from, the ID token accepted by the
 * authorizer's verifier, renewal by refresh token (never an iframe), sign-out that ends the provider's session and
 * revokes the refresh token, Cognito's logout URL, and tokens kept only in the given (session) storage.
 * Node plays the browser: a cookie jar follows the provider's redirects and posts its forms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INavigator, IWindow, NavigateParams } from 'oidc-client-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_SCOPES } from '../../core/site-config';
import { createTokenVerifier } from '../../lambdas/storage/bearer-tokens';
import { startOidcProvider, type OidcProviderHandle } from '../../local/stand-ins/oidc';
import {
  displayNameOf,
  isSignInResponse,
  isSignOutResponse,
  returnUrl,
  SIGN_IN_STORE_PREFIX,
  SignIn,
  signOutUrlOf,
  withoutResponseParams,
} from '../../web/src/sign-in';

const CLIENT_ID = 'k2p-web-local';
const SITE = 'http://127.0.0.1:8781';
let dir: string;
let provider: OidcProviderHandle;

/** sessionStorage as the page has it, in memory. */
class MemoryStorage implements Storage {
  readonly data = new Map<string, string>();
  get length() {
    return this.data.size;
  }
  clear() {
    this.data.clear();
  }
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  key(index: number) {
    return [...this.data.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

/** A browser tab: follows redirects with its cookies, fills the provider's forms, and notes where it was sent. */
class Tab {
  readonly jar = new Map<string, string>();
  readonly storage = new MemoryStorage();
  readonly sentTo: string[] = [];
  readonly navigator: INavigator = {
    prepare: async (): Promise<IWindow> => ({
      navigate: async (params: NavigateParams) => {
        this.sentTo.push(params.url);
        return { url: '' };
      },
      close: () => undefined,
    }),
    callback: async () => undefined,
  };

  private cookies(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      this.jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }

  /** Follows the provider until it sends the browser back to the site; `form` answers each page with a form. */
  async follow(start: string, form: (html: string) => Record<string, string>): Promise<string> {
    let url = start;
    for (let hop = 0; hop < 15; hop++) {
      if (url.startsWith(SITE)) return url;
      const response = await fetch(url, { redirect: 'manual', headers: { cookie: this.cookies() } });
      this.remember(response);
      if (response.status === 200) {
        const html = await response.text();
        const action = /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(html)?.[1];
        if (!action) throw new Error(`no form on ${url}: ${html.slice(0, 300)}`);
        const post = await fetch(new URL(action, provider.issuer), {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: this.cookies(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form(html)).toString(),
        });
        this.remember(post);
        if (![302, 303].includes(post.status)) throw new Error(`form answered ${post.status}: ${await post.text()}`);
        url = new URL(post.headers.get('location')!, provider.issuer).href;
        continue;
      }
      if (![302, 303].includes(response.status)) throw new Error(`${url} answered ${response.status}`);
      url = new URL(response.headers.get('location')!, provider.issuer).href;
    }
    throw new Error('too many redirects');
  }
}

function login(account: { login: string; password: string }) {
  return () => ({ login: account.login, password: account.password });
}

/** oidc-provider's sign-out confirmation: its xsrf field and "yes". */
function confirmLogout(html: string): Record<string, string> {
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!xsrf) throw new Error('no xsrf on the logout page');
  return { xsrf, logout: 'yes' };
}

function config(extra: { signOutUrl?: string } = {}) {
  return { issuer: provider.issuer, clientId: CLIENT_ID, scopes: [...SIGN_IN_SCOPES], ...extra };
}

async function signedIn(tab: Tab, account = provider.accounts[0]!, now?: () => number): Promise<SignIn> {
  const signIn = new SignIn(config(), { origin: SITE, storage: tab.storage, navigator: tab.navigator, ...(now ? { now } : {}) });
  await signIn.signIn(`${SITE}/?job=abcdefgh12`);
  const back = await tab.follow(tab.sentTo.at(-1)!, login(account));
  expect(await signIn.start(back)).toEqual({ kind: 'signed-in', url: `${SITE}/?job=abcdefgh12` });
  return signIn;
}

async function refreshWith(refreshToken: string): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: SITE },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID }).toString(),
  });
  return { status: response.status, ...((await response.json()) as { error?: string }) };
}

function storedUser(tab: Tab): { id_token?: string; refresh_token?: string } | undefined {
  const entry = [...tab.storage.data].find(([key]) => key.startsWith(`${SIGN_IN_STORE_PREFIX}user:`));
  return entry ? (JSON.parse(entry[1]) as { id_token?: string; refresh_token?: string }) : undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k2p-web-sign-in-'));
  provider = await startOidcProvider({ port: 0, clientId: CLIENT_ID, redirectUris: [SITE], stateFile: join(dir, 'oidc.json') });
});

afterAll(async () => {
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the page signing in against the local OpenID provider', () => {
  it('signs in by code + PKCE, returns to the page it left, and sends an ID token the authorizer accepts', async () => {
    const tab = new Tab();
    const signIn = await signedIn(tab);
    const authorize = new URL(tab.sentTo[0]!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${SITE}/`);
    expect(authorize.searchParams.has('client_secret')).toBe(false);
    expect(signIn.person).toEqual({ name: 'Local User' });

    const token = await signIn.token();
    const verify = createTokenVerifier({
      issuer: provider.issuer,
      audience: CLIENT_ID,
      groupsClaim: provider.groupsClaim,
      adminGroup: provider.adminGroup,
      allowLoopbackHttp: true,
    });
    expect(await verify(token!)).toEqual({ id: `oidc:${provider.issuer}#user`, name: 'Local User', kind: 'person', role: 'user' });
    // Everything it keeps is in the storage it was given (sessionStorage in the page), under its prefix.
    expect([...tab.storage.data.keys()].every((key) => key.startsWith(SIGN_IN_STORE_PREFIX))).toBe(true);
    expect(storedUser(tab)?.id_token).toBe(token);

    // A reload of the same tab restores the session from that storage.
    const again = new SignIn(config(), { origin: SITE, storage: tab.storage, navigator: tab.navigator });
    expect(await again.start(`${SITE}/`)).toEqual({ kind: 'none' });
    expect(again.person).toEqual({ name: 'Local User' });
    expect(await again.token()).toBe(token);
    // Another tab (its own session storage) is signed out.
    const other = new SignIn(config(), { origin: SITE, storage: new MemoryStorage(), navigator: tab.navigator });
    await other.start(`${SITE}/`);
    expect(other.person).toBeUndefined();
    expect(await other.token()).toBeUndefined();
  });

  it('renews with the refresh token a minute before expiry, and ends the session when renewal is refused', async () => {
    let skew = 0;
    const tab = new Tab();
    const signIn = await signedIn(tab, provider.accounts[2], () => Date.now() + skew);
    const first = await signIn.token();
    const firstRefresh = storedUser(tab)?.refresh_token;
    expect(firstRefresh).toBeTruthy();
    const changes: string[] = [];
    signIn.onChange((person, reason) => changes.push(person ? person.name : `signed out: ${reason}`));

    skew = 3600_000 - 30_000; // 30 s before the ID token expires
    const renewed = await signIn.token();
    expect(renewed).toBeTruthy();
    // The provider rotates a public client's refresh token on every use: a new one proves the renewal happened.
    expect(storedUser(tab)?.refresh_token).not.toBe(firstRefresh);
    expect(storedUser(tab)?.id_token).toBe(renewed);
    expect(first).toBeTruthy();
    expect(changes).toEqual(['Second User']);

    // A refresh token the provider does not honour (revoked, expired): the session ends and the page is told why.
    const [key, value] = [...tab.storage.data].find(([k]) => k.startsWith(`${SIGN_IN_STORE_PREFIX}user:`))!;
    tab.storage.setItem(key, JSON.stringify({ ...JSON.parse(value), refresh_token: 'not-a-refresh-token' }));
    skew += 3600_000;
    expect(await signIn.token()).toBeUndefined();
    expect(changes.at(-1)).toBe('signed out: Your session has ended: sign in again to go on.');
    expect(signIn.person).toBeUndefined();
    expect(storedUser(tab)).toBeUndefined();
  });

  it('signs out: forgets the tokens, ends the provider session (a new sign-in asks for the password again), revokes the refresh token', async () => {
    const tab = new Tab();
    const signIn = await signedIn(tab);
    const refresh = storedUser(tab)!.refresh_token!;
    expect((await refreshWith(refresh)).status).toBe(200);

    const endSession = await endSessionUrlOf(tab, signIn);
    expect(signIn.person).toBeUndefined();
    expect(await signIn.token()).toBeUndefined();
    expect(storedUser(tab)).toBeUndefined();
    const url = new URL(endSession);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${SITE}/`);
    expect(url.searchParams.get('id_token_hint')).toBeTruthy();
    expect(url.searchParams.get('state')).toBeTruthy();

    const back = await tab.follow(endSession, confirmLogout);
    const after = new SignIn(config(), { origin: SITE, storage: tab.storage, navigator: tab.navigator });
    expect(await after.start(back)).toEqual({ kind: 'signed-out', url: `${SITE}/` });
    expect(after.person).toBeUndefined();
    // The refresh token of the ended session no longer works.
    expect((await refreshWith(refresh)).error).toBe('invalid_grant');

    // The provider session is gone: signing in again shows the login form (a wrong password is refused there).
    await after.signIn(`${SITE}/`);
    await expect(tab.follow(tab.sentTo.at(-1)!, () => ({ login: 'user', password: 'wrong' }))).rejects.toThrow(/form answered 401/);
  });

  it('reports a refused sign-in without keeping anything, and ignores a stale sign-out return', async () => {
    const tab = new Tab();
    const signIn = new SignIn(config(), { origin: SITE, storage: tab.storage, navigator: tab.navigator });
    await signIn.signIn(`${SITE}/`);
    const state = new URL(tab.sentTo[0]!).searchParams.get('state')!;
    const result = await signIn.start(`${SITE}/?error=access_denied&error_description=The+user+said+no&state=${state}`);
    expect(result).toEqual({ kind: 'failed', url: `${SITE}/`, message: 'The user said no' });
    expect(signIn.person).toBeUndefined();
    expect(storedUser(tab)).toBeUndefined();
    expect(await signIn.start(`${SITE}/?state=unknown`)).toEqual({ kind: 'signed-out', url: `${SITE}/` });
  });

  it('signs out of Cognito through signIn.signOutUrl with client_id and logout_uri', async () => {
    const tab = new Tab();
    await signedIn(tab);
    const left: string[] = [];
    const cognito = new SignIn(config({ signOutUrl: 'https://k2p.auth.eu-central-1.amazoncognito.com/logout' }), {
      origin: SITE,
      storage: tab.storage,
      navigator: tab.navigator,
      leave: (url) => left.push(url),
    });
    await cognito.start(`${SITE}/`);
    expect(cognito.person).toBeDefined();
    await cognito.signOut();
    expect(left).toEqual([
      `https://k2p.auth.eu-central-1.amazoncognito.com/logout?client_id=${CLIENT_ID}&logout_uri=${encodeURIComponent(`${SITE}/`)}`,
    ]);
    expect(storedUser(tab)).toBeUndefined();
  });
});

/** Signs out and returns where the browser was sent (the provider's end_session_endpoint). */
async function endSessionUrlOf(tab: Tab, signIn: SignIn): Promise<string> {
  const before = tab.sentTo.length;
  await signIn.signOut();
  expect(tab.sentTo.length).toBe(before + 1);
  return tab.sentTo.at(-1)!;
}

describe('sign-in helpers', () => {
  it('tells the provider’s returns apart and strips what it added', () => {
    expect(isSignInResponse('https://site/?code=c&state=s')).toBe(true);
    expect(isSignInResponse('https://site/?error=access_denied&state=s')).toBe(true);
    expect(isSignInResponse('https://site/?job=abcdefgh12')).toBe(false);
    expect(isSignOutResponse('https://site/?state=s')).toBe(true);
    expect(isSignOutResponse('https://site/?code=c&state=s')).toBe(false);
    expect(withoutResponseParams('https://site/?code=c&state=s&iss=x&session_state=y&job=abcdefgh12')).toBe('https://site/?job=abcdefgh12');
  });

  it('returns only to this site after signing in', () => {
    expect(returnUrl({ returnTo: 'https://site/?job=abcdefgh12' }, 'https://site')).toBe('https://site/?job=abcdefgh12');
    expect(returnUrl({ returnTo: 'https://evil.example/' }, 'https://site')).toBe('https://site/');
    expect(returnUrl({ returnTo: 'javascript:alert(1)' }, 'https://site')).toBe('https://site/');
    expect(returnUrl(undefined, 'https://site')).toBe('https://site/');
  });

  it('builds Cognito’s logout URL and a display name', () => {
    expect(signOutUrlOf('https://d.auth.example/logout', 'c 1', 'https://site/')).toBe(
      'https://d.auth.example/logout?client_id=c+1&logout_uri=https%3A%2F%2Fsite%2F',
    );
    expect(displayNameOf({ name: ' Ada ', email: 'a@x' })).toBe('Ada');
    expect(displayNameOf({ email: 'a@x' })).toBe('a@x');
    expect(displayNameOf({ 'cognito:username': 'ada' })).toBe('ada');
    expect(displayNameOf({})).toBe('signed in');
  });
});
