/**
 * A real OpenID provider on 127.0.0.1 (the `oidc-provider` package) standing in for the Cognito user pool: one public
 * client (no secret, authorization code + PKCE S256 only, redirect URIs = the local site's origins), seeded accounts
 * whose passwords are checked by our own login form, groups in the configured claim, discovery and JWKS served.
 * Signing keys (RS256 + ES256), cookie keys and the seeded passwords are made at first start and kept in `stateFile`
 * (mode 0600), so tokens and passwords survive a restart; without `stateFile` they last one start.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { type Adapter, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { closeServer, listen, SERVICE_LABELS } from '../host/ports';

export interface OidcAccount {
  readonly login: string;
  readonly password: string;
  readonly name: string;
  readonly email: string;
  readonly groups: readonly string[];
}

export interface OidcProviderOptions {
  /** Port on 127.0.0.1; 0 = any free port. */
  readonly port: number;
  /** The public client's id (the verifier's audience). */
  readonly clientId: string;
  /** Origins (or full URIs) of the page; each becomes a redirect and post-logout URI. */
  readonly redirectUris: readonly string[];
  /** Claim that carries groups (the verifier's groupsClaim). Default `groups`. */
  readonly groupsClaim?: string;
  /** Group of the seeded admin. Default `admins`. */
  readonly adminGroup?: string;
  /** Where keys and seeded passwords live between starts. */
  readonly stateFile?: string;
}

export interface OidcProviderHandle {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly groupsClaim: string;
  readonly adminGroup: string;
  /** The seeded accounts (user first, then admin, then a second user), with their passwords for the start-up banner. */
  readonly accounts: readonly OidcAccount[];
  /** Private signing keys (also served publicly, without private parts, at the JWKS URI). */
  readonly signingKeys: readonly JWK[];
  close(): Promise<void>;
}

interface OidcState {
  readonly signingKeys: JWK[];
  readonly cookieKeys: string[];
  /** `user2` (a second person, to see that jobs are per person) is added to state files from before it. */
  readonly passwords: { user: string; admin: string; user2: string };
}

/** What local mode configures, mirroring the deployment's defaults (a Cognito pool's groups claim and `admins`). */
export const LOCAL_OIDC = { clientId: 'k2p-web-local', groupsClaim: 'cognito:groups', adminGroup: 'admins' } as const;

/** Resource indicator of the API: access tokens are JWTs whose `aud` is the client id, like Cognito's `client_id`. */
const API_RESOURCE = 'urn:k2p-web:api';

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderHandle> {
  const groupsClaim = options.groupsClaim ?? 'groups';
  const adminGroup = options.adminGroup ?? 'admins';
  const state = await loadOrCreateState(options.stateFile);
  const accounts: OidcAccount[] = [
    { login: 'user', password: state.passwords.user, name: 'Local User', email: 'user@k2p.local', groups: [] },
    { login: 'admin', password: state.passwords.admin, name: 'Local Admin', email: 'admin@k2p.local', groups: [adminGroup] },
    { login: 'user2', password: state.passwords.user2, name: 'Second User', email: 'user2@k2p.local', groups: [] },
  ];
  const claimsOf = (login: string) => {
    const account = accounts.find((candidate) => candidate.login === login);
    return account ? { name: account.name, email: account.email, email_verified: true, [groupsClaim]: [...account.groups] } : undefined;
  };

  // The issuer names the bound port, so requests are routed only once the provider exists (before start returns).
  const server: Server = createServer();
  const port = await listen(server, options.port, SERVICE_LABELS.oidc);
  const issuer = `http://127.0.0.1:${port}`;
  const redirectUris = options.redirectUris.map((uri) => (uri.endsWith('/') || new URL(uri).pathname !== '/' ? uri : `${uri}/`));
  const origins = new Set(redirectUris.map((uri) => new URL(uri).origin));

  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: [
      {
        client_id: options.clientId,
        token_endpoint_auth_method: 'none',
        application_type: 'web',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: redirectUris,
        post_logout_redirect_uris: redirectUris,
      },
    ],
    pkce: { required: () => true },
    // Refresh tokens for the code grant without offline_access, as Cognito issues them, so the page renews without an iframe.
    issueRefreshToken: async (_ctx: KoaContextWithOIDC, client) => client.grantTypeAllowed('refresh_token'),
    jwks: { keys: state.signingKeys },
    cookies: { keys: state.cookieKeys },
    scopes: ['openid', 'offline_access', 'profile', 'email', groupsClaim],
    // Groups ride with `openid`: Cognito puts cognito:groups in every ID token, whatever scopes the page asked for.
    claims: { openid: ['sub', groupsClaim], profile: ['name'], email: ['email', 'email_verified'], [groupsClaim]: [groupsClaim] },
    // Scope claims in the ID token too, as Cognito does, so the page can show the name without a userinfo call.
    conformIdTokenClaims: false,
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const claims = claimsOf(sub);
      return claims ? { accountId: sub, claims: () => ({ sub, ...claims }) } : undefined;
    },
    extraTokenClaims: (_ctx: KoaContextWithOIDC, token) => {
      const accountId = (token as { accountId?: string }).accountId;
      const claims = accountId ? claimsOf(accountId) : undefined;
      return claims ? { name: claims.name, [groupsClaim]: claims[groupsClaim], client_id: options.clientId } : undefined;
    },
    clientBasedCORS: (_ctx: KoaContextWithOIDC, origin: string) => origins.has(origin),
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // Our own confirmation page, like the login form: no third-party fonts, no library notice in the banner.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => void (ctx.body = logoutPage(form)),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: `openid profile email ${groupsClaim} offline_access`,
          audience: options.clientId,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 8 * 3600, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600 },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) return void callback(req, res);
    interaction(provider, accounts, req, res, match[1]!, req.method === 'POST' && match[2] === '/login').catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end('The sign-in request expired; start again.');
    });
  });

  return {
    issuer,
    port,
    clientId: options.clientId,
    groupsClaim,
    adminGroup,
    accounts,
    signingKeys: state.signingKeys,
    close: () => closeServer(server),
  };
}

/** Login form and consent: the first-party client is granted what it asked for once the password is right. */
async function interaction(
  provider: Provider,
  accounts: readonly OidcAccount[],
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  isLoginPost: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name === 'login') {
    if (!isLoginPost) return sendLoginForm(res, uid, '');
    const form = new URLSearchParams(await readBody(req));
    const account = accounts.find((candidate) => candidate.login === form.get('login'));
    if (!account || !samePassword(account.password, form.get('password') ?? ''))
      return sendLoginForm(res, uid, 'Wrong user name or password.');
    return provider.interactionFinished(req, res, { login: { accountId: account.login } }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') {
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id as string;
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw new Error('grant gone');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  throw new Error(`unexpected prompt ${details.prompt.name}`);
}

/** Sessions, codes and grants in memory for one start (as documented); an own adapter keeps the library's quick-start warning out of the banner. */
function memoryAdapter(): (name: string) => Adapter {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  };
  return (name) => {
    const key = (id: string) => `${name}:${id}`;
    const findBy = (field: 'userCode' | 'uid', value: string) =>
      [...entries.keys()]
        .filter((k) => k.startsWith(`${name}:`))
        .map(live)
        .find((payload) => payload?.[field] === value);
    return {
      upsert: async (id, payload, expiresIn) => {
        entries.set(key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      },
      find: async (id) => live(key(id)),
      findByUserCode: async (userCode) => findBy('userCode', userCode),
      findByUid: async (uid) => findBy('uid', uid),
      consume: async (id) => {
        const payload = live(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const [k, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(k);
      },
    };
  };
}

function sendLoginForm(res: ServerResponse, uid: string, message: string): void {
  const escaped = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .writeHead(message ? 401 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(
      `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign in — k2p-web local</title>` +
        `<h1>Sign in to k2p-web (local mode)</h1>${escaped ? `<p role="alert">${escaped}</p>` : ''}` +
        `<form method="post" action="/interaction/${uid}/login">` +
        `<label>User name <input name="login" autocomplete="username" required autofocus></label>` +
        `<label>Password <input name="password" type="password" autocomplete="current-password" required></label>` +
        `<button type="submit">Sign in</button></form></html>`,
    );
}

function logoutPage(form: string): string {
  return (
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign out — k2p-web local</title>` +
    `<h1>Sign out of k2p-web (local mode)?</h1>${form}` +
    `<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> ` +
    `<button type="submit" form="op.logoutForm">No, stay signed in</button></html>`
  );
}

function samePassword(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 8192) throw new Error('form too large');
  }
  return body;
}

async function loadOrCreateState(file: string | undefined): Promise<OidcState> {
  if (file && existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Omit<OidcState, 'passwords'> & { passwords: Partial<OidcState['passwords']> };
    if (kept.passwords.user2) return kept as OidcState;
    const state = { ...kept, passwords: { ...kept.passwords, user2: randomBytes(9).toString('base64url') } } as OidcState;
    writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
    return state;
  }
  const rsa = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const jwk = async (key: CryptoKey, alg: string) => ({ ...(await exportJWK(key)), alg, use: 'sig', kid: randomBytes(8).toString('hex') });
  const state: OidcState = {
    signingKeys: [await jwk(rsa.privateKey, 'RS256'), await jwk(ec.privateKey, 'ES256')],
    cookieKeys: [randomBytes(32).toString('base64url')],
    passwords: {
      user: randomBytes(9).toString('base64url'),
      admin: randomBytes(9).toString('base64url'),
      user2: randomBytes(9).toString('base64url'),
    },
  };
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  }
  return state;
}
