/**
 * Local mode's config.json and banner: the template's config with the local API and the local OpenID provider, the
 * public key only when the template allows anonymous access; the banner names the seeded people and the switch.
 */
import { describe, expect, it } from 'vitest';
import { banner } from '../../../local/host/banner';
import { localSiteConfig, type LocalStack } from '../../../local/host/local-stack';

const TEMPLATE_CONFIG = {
  apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/',
  anonymousAccess: true,
  apiKey: 'deployed-key-value',
  signIn: {
    issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool',
    clientId: 'deployed-client',
    scopes: ['openid', 'profile', 'email'],
    signOutUrl: 'https://k2pweb-123.auth.eu-west-1.amazoncognito.com/logout',
  },
  bundleLimits: { maxUploadBytes: 1 },
  limits: { uploadUrlSeconds: 900, resultRetentionDays: 7, converterTimeoutSeconds: 300 },
};
const LOCAL_SIGN_IN = { issuer: 'http://127.0.0.1:8786', clientId: 'k2p-web-local', scopes: ['openid', 'profile', 'email'] };

describe('localSiteConfig', () => {
  it('anonymous on: the local key and the local OpenID provider replace the deployed ones (no Cognito sign-out URL)', () => {
    expect(localSiteConfig(TEMPLATE_CONFIG, { apiUrl: 'http://127.0.0.1:8781/v1/', apiKey: 'local-web', signIn: LOCAL_SIGN_IN })).toEqual({
      apiUrl: 'http://127.0.0.1:8781/v1/',
      anonymousAccess: true,
      apiKey: 'local-web',
      signIn: LOCAL_SIGN_IN,
      bundleLimits: TEMPLATE_CONFIG.bundleLimits,
      limits: TEMPLATE_CONFIG.limits,
    });
  });

  it('anonymous off: no key at all, sign-in only', () => {
    const { apiKey: _key, ...signedIn } = { ...TEMPLATE_CONFIG, anonymousAccess: false };
    const config = localSiteConfig(signedIn, { apiUrl: 'http://127.0.0.1:8781/v1/', signIn: LOCAL_SIGN_IN });
    expect(config.anonymousAccess).toBe(false);
    expect('apiKey' in config).toBe(false);
    expect(config.signIn).toEqual(LOCAL_SIGN_IN);
  });
});

describe('banner', () => {
  const stack = (web?: { id: string; value: string }) =>
    ({
      urls: { web: 'http://127.0.0.1:8780/', api: 'http://127.0.0.1:8781/v1/' },
      keys: { cli: { id: 'c', value: 'cli-value' }, admin: { id: 'a', value: 'admin-value' }, ...(web ? { web } : {}) },
      anonymousAccess: web !== undefined,
      identity: {
        issuer: 'http://127.0.0.1:8786',
        clientId: 'k2p-web-local',
        groupsClaim: 'cognito:groups',
        adminGroup: 'admins',
        accounts: [
          { login: 'user', password: 'pw-user-1', name: 'Local User', email: 'user@k2p.local', groups: [] },
          { login: 'admin', password: 'pw-admin-2', name: 'Local Admin', email: 'admin@k2p.local', groups: ['admins'] },
        ],
      },
      dataDir: '/tmp/k2p',
      converter: { source: 'PATH', display: 'k2p', version: '0.1.11' },
      sandbox: { enforced: [], notEnforced: [] },
      model: { stackName: 'K2pWeb', cdkOut: '/tmp/cdk.out' },
    }) as unknown as LocalStack;

  it('prints the seeded people with their local passwords and roles, and that anonymous access is off', () => {
    const text = banner(stack(), '/');
    expect(text).toMatch(/People\s+user \/ pw-user-1 {3}\(role user, user@k2p\.local\)/);
    expect(text).toMatch(/admin \/ pw-admin-2 {3}\(role admin, admin@k2p\.local\)/);
    expect(text).toMatch(/Anonymous\s+off: the page asks to sign in \(npm start -- --anonymous turns it on\)/);
    expect(text).toMatch(/Admin page\s+http:\/\/\S+\/admin\.html {3}\(sign in as admin\)/);
  });

  it('names the public key when anonymous access is on', () => {
    expect(banner(stack({ id: 'w', value: 'web-value' }), '/')).toMatch(/Anonymous\s+on: .*public key web-value/);
  });
});
