/**
 * Signs a seeded account in at an OpenID provider (local mode's stand-in) the way the page does, over plain HTTP:
 * authorization code with PKCE (S256), the login form posted, the code exchanged at the token endpoint as a public
 * client. No browser, no secret. Throws on any unexpected step; a wrong password resolves `{ refused: true }`.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface SignInOptions {
  /** The issuer URL (its /auth and /token endpoints are used). */
  issuer: string;
  clientId: string;
  /** The page's origin; the redirect URI is `${site}/`. */
  site: string;
  login: string;
  password: string;
  /** @default 'openid profile email cognito:groups' */
  scope?: string;
}

export type SignInResult = { refused: true } | { refused: false; id_token: string; access_token: string; refresh_token?: string };

class SignInError extends Error {}

export async function signIn(options: SignInOptions): Promise<SignInResult> {
  const { issuer, clientId, site, login, password } = options;
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const remember = (response: Response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  };
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const redirectUri = `${site}/`;
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: options.scope ?? 'openid profile email cognito:groups',
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce: randomBytes(8).toString('hex'),
  });
  let url = `${issuer}/auth?${query}`;
  let posted = false;
  for (let hop = 0; hop < 12 && !url.startsWith(site); hop++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader() } });
    remember(response);
    if (response.status === 200) {
      const html = await response.text();
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      if (!action || posted) throw new SignInError(`sign-in: unexpected page at ${url}: ${html.slice(0, 300)}`);
      posted = true;
      const post = await fetch(new URL(action, issuer), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login, password }).toString(),
      });
      remember(post);
      if (post.status === 401) return { refused: true };
      url = new URL(post.headers.get('location')!, issuer).href;
      continue;
    }
    if (response.status !== 302 && response.status !== 303) throw new SignInError(`sign-in: HTTP ${response.status} at ${url}`);
    url = new URL(response.headers.get('location')!, issuer).href;
  }
  const back = new URL(url);
  if (back.origin !== site) throw new SignInError(`sign-in: did not come back to the site: ${url}`);
  if (back.searchParams.get('state') !== state) throw new SignInError('sign-in: state mismatch');
  const code = back.searchParams.get('code');
  if (!code) throw new SignInError(`sign-in: no code in ${url}`);
  const tokenResponse = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: site },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: codeVerifier,
    }).toString(),
  });
  const body = (await tokenResponse.json()) as { id_token: string; access_token: string; refresh_token?: string };
  if (tokenResponse.status !== 200) throw new SignInError(`sign-in: token endpoint HTTP ${tokenResponse.status}`);
  return { refused: false, ...body };
}
