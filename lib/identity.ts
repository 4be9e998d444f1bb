/**
 * Who people are: either the stack's own Cognito user pool (e-mail sign-in, strong passwords, optional TOTP, group
 * `admins`, hosted sign-in on a Cognito prefix domain, one public app client: authorization code + PKCE, no secret,
 * redirect and sign-out URLs = the site's origin + "/") or, when cdk.json's identityProvider names an issuer, that
 * issuer and no user pool at all. Either way it resolves the authorizer's identity (issuer, audience, groups claim,
 * admin group), the page's sign-in settings for config.json and the origins the page's CSP must let it reach.
 */
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { SIGN_IN_SCOPES, type SiteSignInConfig } from '../core/site-config';
import type { AuthorizerIdentity } from './api';
import type { IdentityProviderConfig, UserPoolConfig } from './config';
import { acknowledge } from './nag';

export interface IdentityProps {
  /** cdk.json's identityProvider: an empty issuer means the user pool made here. */
  readonly provider: IdentityProviderConfig;
  /** Settings of that user pool (ignored with an external issuer). */
  readonly userPool: UserPoolConfig;
  /** The page's origin (https://<distribution domain>); a token is fine. */
  readonly siteOrigin: string;
  /**
   * More origins whose "/" may receive the sign-in redirect (local development of the page).
   * @default - none
   */
  readonly devOrigins?: readonly string[];
  /**
   * What `cdk destroy` does with the user pool (RETAIN also turns on deletion protection).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Scopes of the app client, the same list the page asks for. */
const OAUTH_SCOPES = SIGN_IN_SCOPES.map((scope) => cognito.OAuthScope.custom(scope));

export class Identity extends Construct {
  /** The issuer whose bearer tokens the authorizer accepts (JobsApiProps.identity). */
  readonly authorizerIdentity: AuthorizerIdentity;
  /** How the page signs people in (config.json's signIn). */
  readonly signIn: SiteSignInConfig;
  /** Origins the page fetches during sign-in (discovery, token, revocation): added to the CSP's connect-src. */
  readonly connectOrigins: readonly string[];
  /** Only without an external issuer. */
  readonly userPool?: cognito.UserPool;
  readonly client?: cognito.UserPoolClient;
  readonly domain?: cognito.UserPoolDomain;
  /** https origin of the hosted sign-in page (user pool only). */
  readonly signInDomain?: string;
  readonly adminGroup?: cognito.CfnUserPoolGroup;
  /** The corporate SAML provider people may sign in through (userPool.samlProviderName). */
  readonly saml?: cognito.UserPoolIdentityProviderSaml;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    const { provider } = props;
    if (provider.issuer !== '') {
      this.authorizerIdentity = {
        issuer: provider.issuer,
        audience: provider.clientId,
        groupsClaim: provider.groupsClaim,
        adminGroup: provider.adminGroup,
      };
      this.signIn = { issuer: provider.issuer, clientId: provider.clientId, scopes: [...SIGN_IN_SCOPES] };
      this.connectOrigins = [...new Set([new URL(provider.issuer).origin, ...provider.extraOrigins])];
      return;
    }

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${Stack.of(this).stackName}-people`,
      selfSignUpEnabled: props.userPool.selfSignUp,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: false, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { sms: false, otp: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.userPool = userPool;
    this.adminGroup = new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
      userPoolId: userPool.userPoolId,
      groupName: provider.adminGroup,
      description: 'k2p-web administrators (role admin)',
    });

    const identityProviders = [cognito.UserPoolClientIdentityProvider.COGNITO];
    if (props.userPool.samlProviderName !== '') {
      const saml = (this.saml = new cognito.UserPoolIdentityProviderSaml(this, 'Saml', {
        userPool,
        name: props.userPool.samlProviderName,
        metadata: cognito.UserPoolIdentityProviderSamlMetadata.url(props.userPool.samlMetadataUrl),
        attributeMapping: {
          email: cognito.ProviderAttribute.other('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'),
          fullname: cognito.ProviderAttribute.other('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name'),
        },
      }));
      identityProviders.push(cognito.UserPoolClientIdentityProvider.custom(saml.providerName));
    }

    const redirectUris = [props.siteOrigin, ...(props.devOrigins ?? [])].map((origin) => `${origin}/`);
    this.client = userPool.addClient('WebClient', {
      userPoolClientName: 'k2p-web-page',
      // A page cannot keep a secret: a public client, and PKCE protects the code.
      generateSecret: false,
      // No password flows through the API: people sign in on the hosted page; refresh tokens only.
      authFlows: { userSrp: false },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: OAUTH_SCOPES,
        callbackUrls: redirectUris,
        logoutUrls: redirectUris,
      },
      supportedIdentityProviders: identityProviders,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      // Groups travel in the tokens: a person removed from admins keeps the role at most this long.
      idTokenValidity: Duration.minutes(15),
      accessTokenValidity: Duration.minutes(15),
      refreshTokenValidity: Duration.hours(12),
    });

    this.domain = userPool.addDomain('SignInDomain', {
      cognitoDomain: { domainPrefix: props.userPool.domainPrefix || defaultDomainPrefix(Stack.of(this)) },
    });
    const hostedOrigin = this.domain.baseUrl();
    const issuer = `https://${userPool.userPoolProviderUrl}`;
    this.authorizerIdentity = {
      issuer,
      audience: this.client.userPoolClientId,
      groupsClaim: provider.groupsClaim,
      adminGroup: provider.adminGroup,
      jwksUri: `${issuer}/.well-known/jwks.json`,
    };
    this.signIn = {
      issuer,
      clientId: this.client.userPoolClientId,
      scopes: [...SIGN_IN_SCOPES],
      // Cognito's discovery document has no end_session_endpoint.
      signOutUrl: `${hostedOrigin}/logout`,
    };
    this.connectOrigins = [`https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}`, hostedOrigin, ...provider.extraOrigins];
    this.signInDomain = hostedOrigin;
    this.acknowledgeNagFindings(userPool);
  }

  private acknowledgeNagFindings(userPool: cognito.UserPool): void {
    acknowledge(
      userPool,
      'AwsSolutions-COG2',
      'MFA is optional (TOTP) rather than required: people converting workflows enrol it themselves; an organisation that needs it federates to its own provider, whose MFA policy then applies.',
    );
    acknowledge(
      userPool,
      'AwsSolutions-COG8',
      'The Plus feature plan (threat protection) is billed per active user; Essentials gives the hosted sign-in, groups and TOTP this service needs.',
    );
  }
}

/** One DNS label, unique per account and region: the stack's name (lowercased) and the account id. */
function defaultDomainPrefix(stack: Stack): string {
  const slug =
    stack.stackName
      .toLowerCase()
      .replace(/aws|amazon|cognito/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 30)
      .replace(/-+$/, '') || 'k2p-web';
  return `${slug}-${Aws.ACCOUNT_ID}`;
}
