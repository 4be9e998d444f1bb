import { describe, expect, it } from 'vitest';
import { SIGN_IN_SCOPES } from '../../core/site-config';
import { flatten, fullStack, logicalIdOf, resourcesOf } from './fixtures';
import type { Loose } from './fixtures';

const ISSUER = 'https://login.example.com/tenant-1';

/** The only resource of `type` in the template: its logical id and properties. */
function only(template: ReturnType<typeof fullStack>['template'], type: string): [string, Loose] {
  const found = resourcesOf(template, type);
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]!;
}

/** The authorizer function's environment in the template. */
function authorizerEnv(built: ReturnType<typeof fullStack>): Loose {
  const id = logicalIdOf(built.stack, built.stack.api.authorizerFunction.fn);
  return built.template.toJSON().Resources[id].Properties.Environment.Variables;
}

function cspOf(built: ReturnType<typeof fullStack>): string {
  const policy = built.template.toJSON().Resources[logicalIdOf(built.stack, built.stack.website.headersPolicy)];
  return flatten(policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
}

describe('Identity: the stack-made Cognito user pool (identityProvider.issuer empty)', () => {
  const built = fullStack();
  const { stack, template } = built;
  const distribution = logicalIdOf(stack, stack.website.distribution);
  const siteRoot = `https://\${${distribution}.DomainName}/`;

  it('makes one user pool: e-mail sign-in, administrators create accounts, strong passwords, optional TOTP, retained and protected', () => {
    const [, pool] = only(template, 'AWS::Cognito::UserPool');
    expect(pool.Properties).toMatchObject({
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      DeletionProtection: 'ACTIVE',
      UsernameConfiguration: { CaseSensitive: false },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
    });
    expect(pool.DeletionPolicy).toBe('Retain');
    const [, group] = only(template, 'AWS::Cognito::UserPoolGroup');
    expect(group.Properties.GroupName).toBe('admins');
  });

  it('has one public app client: authorization code only (PKCE, no secret), openid/profile/email, redirects to the site origin', () => {
    const [, client] = only(template, 'AWS::Cognito::UserPoolClient');
    const p = client.Properties;
    expect(p.GenerateSecret).toBe(false);
    expect(p.AllowedOAuthFlows).toEqual(['code']);
    expect(p.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect([...p.AllowedOAuthScopes].sort()).toEqual([...SIGN_IN_SCOPES].sort());
    // No password flows through the API: the hosted page signs people in; refresh tokens keep them signed in.
    expect(p.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    expect(p.CallbackURLs.map(flatten)).toEqual([siteRoot]);
    expect(p.LogoutURLs.map(flatten)).toEqual([siteRoot]);
    expect(p.SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(p.EnableTokenRevocation).toBe(true);
    expect(p.PreventUserExistenceErrors).toBe('ENABLED');
    // Groups travel in the tokens: short tokens bound how long a removed admin keeps the role.
    expect({ id: p.IdTokenValidity, access: p.AccessTokenValidity, units: p.TokenValidityUnits }).toEqual({
      id: 15,
      access: 15,
      units: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' },
    });
  });

  it('hosts sign-in on a Cognito prefix domain derived from the stack name and account', () => {
    const [, domain] = only(template, 'AWS::Cognito::UserPoolDomain');
    expect(flatten(domain.Properties.Domain)).toBe('k2pweb-${AWS::AccountId}');
    expect(domain.Properties.CustomDomainConfig).toBeUndefined();
  });

  it('hands the pool to the authorizer and the page: issuer, client id, groups claim, admin group, Cognito sign-out', () => {
    const pool = logicalIdOf(stack, stack.identity.userPool!);
    const client = logicalIdOf(stack, stack.identity.client!);
    const identity = stack.resolve(stack.identity.authorizerIdentity) as Loose;
    expect(flatten(identity.issuer)).toBe(`https://\${${pool}.ProviderURL}`);
    expect(identity.audience).toEqual({ Ref: client });
    expect(identity).toMatchObject({ groupsClaim: 'cognito:groups', adminGroup: 'admins' });
    expect(flatten(identity.jwksUri)).toBe(`https://\${${pool}.ProviderURL}/.well-known/jwks.json`);
    // What the running authorizer verifies against: the pool, not a restatement of it.
    const env = authorizerEnv(built);
    expect(flatten(env.OIDC_ISSUER)).toBe(`https://\${${pool}.ProviderURL}`);
    expect(env.OIDC_AUDIENCE).toEqual({ Ref: client });
    expect(env).toMatchObject({ OIDC_GROUPS_CLAIM: 'cognito:groups', OIDC_ADMIN_GROUP: 'admins' });

    const config = stack.resolve(stack.website.config) as Loose;
    expect(flatten(config.signIn.issuer)).toBe(flatten(identity.issuer));
    expect(config.signIn.clientId).toEqual({ Ref: client });
    expect(config.signIn.scopes).toEqual([...SIGN_IN_SCOPES]);
    const domain = logicalIdOf(stack, stack.identity.domain!);
    expect(flatten(config.signIn.signOutUrl)).toBe(`https://\${${domain}}.auth.\${AWS::Region}.amazoncognito.com/logout`);
  });

  it('lets the page reach the issuer and the hosted domain (CSP connect-src)', () => {
    const domain = logicalIdOf(stack, stack.identity.domain!);
    const connect = cspOf(built)
      .split('; ')
      .find((d) => d.startsWith('connect-src'))!;
    expect(connect).toContain('https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}');
    expect(connect).toContain(`https://\${${domain}}.auth.\${AWS::Region}.amazoncognito.com`);
  });

  it('takes self sign-up, the domain prefix, dev origins, SAML federation and the removal policy from the configuration', () => {
    const other = fullStack({
      userPool: {
        selfSignUp: true,
        domainPrefix: 'acme-k2p',
        samlProviderName: 'AcmeAD',
        samlMetadataUrl: 'https://idp.acme.example/metadata.xml',
      },
      devOrigins: ['http://localhost:5173'],
      removalPolicy: 'destroy',
    });
    const [, pool] = only(other.template, 'AWS::Cognito::UserPool');
    expect(pool.Properties.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(false);
    expect(pool.Properties.DeletionProtection).toBe('INACTIVE');
    expect(pool.DeletionPolicy).toBe('Delete');
    expect(only(other.template, 'AWS::Cognito::UserPoolDomain')[1].Properties.Domain).toBe('acme-k2p');
    const [, saml] = only(other.template, 'AWS::Cognito::UserPoolIdentityProvider');
    expect(saml.Properties).toMatchObject({
      ProviderName: 'AcmeAD',
      ProviderType: 'SAML',
      ProviderDetails: { MetadataURL: 'https://idp.acme.example/metadata.xml' },
    });
    const [, client] = only(other.template, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties.SupportedIdentityProviders).toEqual([
      'COGNITO',
      { Ref: logicalIdOf(other.stack, other.stack.identity.saml!) },
    ]);
    const site = `https://\${${logicalIdOf(other.stack, other.stack.website.distribution)}.DomainName}/`;
    expect(client.Properties.CallbackURLs.map(flatten)).toEqual([site, 'http://localhost:5173/']);
    expect(client.Properties.LogoutURLs.map(flatten)).toEqual([site, 'http://localhost:5173/']);
  });
});

describe('Identity: an external OpenID Connect issuer (identityProvider.issuer set)', () => {
  const built = fullStack({
    identityProvider: {
      issuer: ISSUER,
      clientId: 'k2p-page',
      groupsClaim: 'groups',
      adminGroup: 'k2p-admins',
      extraOrigins: ['https://tokens.example.com'],
    },
  });
  const { stack, template } = built;

  it('makes no user pool, client, domain or group', () => {
    const cognito = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).filter((r) =>
      r.Type.startsWith('AWS::Cognito::'),
    );
    expect(cognito).toEqual([]);
    expect(stack.identity.userPool).toBeUndefined();
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.Issuer!.Value).toBe(ISSUER);
    expect(outputs.UserPoolId).toBeUndefined();
  });

  it('hands that issuer and client id to the authorizer and the page, and lets the page reach it', () => {
    expect(stack.identity.authorizerIdentity).toEqual({
      issuer: ISSUER,
      audience: 'k2p-page',
      groupsClaim: 'groups',
      adminGroup: 'k2p-admins',
    });
    expect(authorizerEnv(built)).toMatchObject({
      OIDC_ISSUER: ISSUER,
      OIDC_AUDIENCE: 'k2p-page',
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_ADMIN_GROUP: 'k2p-admins',
    });
    const config = stack.resolve(stack.website.config) as Loose;
    expect(config.signIn).toEqual({ issuer: ISSUER, clientId: 'k2p-page', scopes: [...SIGN_IN_SCOPES] });
    const connect = cspOf(built)
      .split('; ')
      .find((d) => d.startsWith('connect-src'))!;
    expect(connect.split(' ')).toEqual(expect.arrayContaining(['https://login.example.com', 'https://tokens.example.com']));
    expect(connect).not.toContain('cognito');
  });
});

describe('anonymousAccess', () => {
  const webPlans = (built: ReturnType<typeof fullStack>) =>
    resourcesOf(built.template, 'AWS::ApiGateway::UsagePlan').filter(([, p]) => flatten(p.Properties.UsagePlanName).endsWith('-web'));
  const keyLookups = (built: ReturnType<typeof fullStack>) =>
    resourcesOf(built.template, 'Custom::AWS').filter(([id]) => id.includes('WebApiKeyValue'));

  it('off (the default): no shared key, no web plan, no key lookup; config.json asks to sign in', () => {
    const off = fullStack();
    expect(off.config.anonymousAccess).toBe(false);
    expect(off.stack.api.webApiKey).toBeUndefined();
    expect(webPlans(off)).toEqual([]);
    expect(keyLookups(off)).toEqual([]);
    const config = off.stack.resolve(off.stack.website.config) as Loose;
    expect(config.anonymousAccess).toBe(false);
    expect('apiKey' in config).toBe(false);
    expect(config.signIn).toBeDefined();
  });

  it('on: the shared key in its tight plan, its value read at deploy time into config.json, next to sign-in', () => {
    const on = fullStack({ anonymousAccess: true });
    expect(webPlans(on)).toHaveLength(1);
    expect(keyLookups(on)).toHaveLength(1);
    const config = on.stack.resolve(on.stack.website.config) as Loose;
    expect(config.anonymousAccess).toBe(true);
    expect(flatten(config.apiKey)).toContain('WebApiKeyValue');
    expect(config.signIn).toBeDefined();
  });
});

describe('the key registry behind the authorizer', () => {
  it('is encrypted and has point-in-time recovery', () => {
    const { stack, template } = fullStack();
    const table = template.toJSON().Resources[logicalIdOf(stack, stack.keyRegistry.table)];
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});
