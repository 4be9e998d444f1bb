import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { resolveBundleLimits, resolveServiceLimits } from '../../core/limits';
import { Website, contentSecurityPolicy } from '../../lib/website';
import { flatten, logicalIdOf, newStack, resourcesOf } from './fixtures';
import type { Loose } from './fixtures';

const API_ORIGIN = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const UPLOAD_ORIGIN = 'https://k2pweb-data-123.s3.eu-west-1.amazonaws.com';

const SIGN_IN = { issuer: 'https://login.example.com/tenant', clientId: 'page-client', scopes: ['openid', 'profile', 'email'] };

function build(
  siteSource: s3deploy.ISource | null = s3deploy.Source.data('index.html', '<!doctype html>'),
  { anonymous = true }: { anonymous?: boolean } = {},
) {
  const stack = newStack('Site');
  const website = new Website(stack, 'Website', {
    siteSource: siteSource ?? undefined,
    apiUrl: `${API_ORIGIN}/v1/`,
    apiOrigin: API_ORIGIN,
    uploadOrigin: UPLOAD_ORIGIN,
    webApiKey: anonymous ? new apigw.ApiKey(stack, 'Key') : undefined,
    signIn: SIGN_IN,
    signInOrigins: ['https://login.example.com', 'https://tokens.example.com'],
    bundleLimits: resolveBundleLimits(),
    serviceLimits: resolveServiceLimits(),
    accessLogBucket: new s3.Bucket(stack, 'Logs', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED }),
  });
  return { stack, website, template: Template.fromStack(stack) };
}

describe('Website', () => {
  const { stack, website, template } = build();
  const distribution = template.toJSON().Resources[logicalIdOf(stack, website.distribution)].Properties.DistributionConfig;

  it('serves a private bucket through CloudFront with origin access control only', () => {
    const bucket = template.toJSON().Resources[logicalIdOf(stack, website.bucket)].Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.WebsiteConfiguration).toBeUndefined();
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    expect(distribution.Origins).toHaveLength(1);
    expect(distribution.Origins[0].OriginAccessControlId).toBeDefined();
    expect(distribution.Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    // The bucket policy lets only this distribution's CloudFront service principal read.
    const [, policy] = resourcesOf(template, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => p.Properties.Bucket.Ref === logicalIdOf(stack, website.bucket),
    )[0]!;
    const read = policy!.Properties.PolicyDocument.Statement.find((s: Loose) => s.Action === 's3:GetObject');
    expect(read.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(flatten(read.Condition.StringEquals['AWS:SourceArn'])).toContain(logicalIdOf(stack, website.distribution));
  });

  it('redirects HTTP to HTTPS on every behavior and never caches config.json', () => {
    expect(distribution.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(distribution.CacheBehaviors).toHaveLength(1);
    expect(distribution.CacheBehaviors[0]).toMatchObject({
      PathPattern: '/config.json',
      ViewerProtocolPolicy: 'redirect-to-https',
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    });
    expect(distribution.DefaultRootObject).toBe('index.html');
    expect(distribution.Logging).toMatchObject({ Prefix: 'cloudfront/' });
  });

  it('sends a strict CSP (API and upload origins only), HSTS, no framing, no referrer and nosniff on every response', () => {
    const policyId = logicalIdOf(stack, website.headersPolicy);
    expect(distribution.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    expect(distribution.CacheBehaviors[0].ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    const config = template.toJSON().Resources[policyId].Properties.ResponseHeadersPolicyConfig;
    const security = config.SecurityHeadersConfig;
    const csp = security.ContentSecurityPolicy.ContentSecurityPolicy as string;
    expect(security.ContentSecurityPolicy.Override).toBe(true);
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    // Sign-in: the page fetches the issuer's discovery document and exchanges the code at the token endpoint.
    expect(directives['connect-src']).toEqual([
      "'self'",
      API_ORIGIN,
      UPLOAD_ORIGIN,
      'https://login.example.com',
      'https://tokens.example.com',
    ]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(security.StrictTransportSecurity).toEqual({
      AccessControlMaxAgeSec: 63072000,
      IncludeSubdomains: true,
      Preload: true,
      Override: true,
    });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(security.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(contentSecurityPolicy({ apiOrigin: 'A', uploadOrigin: 'B' })).toContain("connect-src 'self' A B");
  });

  it('deploys the page with a config.json holding the API URL, the web key value (resolved at deploy time) and the limits', () => {
    const [, deployment] = resourcesOf(template, 'Custom::CDKBucketDeployment')[0]!;
    expect(deployment!.Properties.DestinationBucketName).toEqual({ Ref: logicalIdOf(stack, website.bucket) });
    expect(deployment!.Properties.DistributionPaths).toEqual(['/*']);
    expect(deployment!.Properties.SourceObjectKeys).toHaveLength(2);
    const markers = JSON.stringify(deployment!.Properties.SourceMarkers);
    expect(markers).toContain('WebApiKeyValue');
    const [, lookup] = resourcesOf(template, 'Custom::AWS')[0]!;
    const create = flatten(lookup!.Properties.Create);
    expect(create).toContain('"action":"getApiKey"');
    expect(create).toContain('"includeValue":true');
    // The lookup may read this one key, nothing else.
    const policy = resourcesOf(template, 'AWS::IAM::Policy').find(([id]) => id.startsWith('WebsiteWebApiKeyValue'))!;
    expect(policy[1].Properties.PolicyDocument.Statement).toEqual([expect.objectContaining({ Action: 'apigateway:GET' })]);
    expect(flatten(policy[1].Properties.PolicyDocument.Statement[0].Resource)).toMatch(/:apigateway:\$\{AWS::Region\}::\/apikeys\/\$\{Key/);
  });

  it('publishes config.json after core/site-config.ts: anonymous access on, the public key and the sign-in', () => {
    const config = stack.resolve(website.config) as Loose;
    expect(config).toMatchObject({ apiUrl: `${API_ORIGIN}/v1/`, anonymousAccess: true, signIn: SIGN_IN });
    expect(flatten(config.apiKey)).toMatch(/WebApiKeyValue/);
  });

  it('with anonymous access off publishes no key: no lookup custom resource, config.json without apiKey, still sign-in', () => {
    const off = build(undefined, { anonymous: false });
    const config = off.stack.resolve(off.website.config) as Loose;
    expect(config).toEqual({
      apiUrl: `${API_ORIGIN}/v1/`,
      anonymousAccess: false,
      signIn: SIGN_IN,
      bundleLimits: resolveBundleLimits(),
      limits: expect.objectContaining({ uploadUrlSeconds: expect.any(Number) }),
    });
    off.template.resourceCountIs('Custom::AWS', 0);
    expect(off.website.node.tryFindChild('WebApiKeyValue')).toBeUndefined();
    const [, deployment] = resourcesOf(off.template, 'Custom::CDKBucketDeployment')[0]!;
    expect(JSON.stringify(deployment!.Properties.SourceMarkers ?? [])).not.toContain('WebApiKeyValue');
    expect(resourcesOf(off.template, 'AWS::IAM::Policy').some(([id]) => id.startsWith('WebsiteWebApiKeyValue'))).toBe(false);
  });

  it('warns at synthesis, and still deploys config.json, when the page was not built', () => {
    const b = build(null);
    const warnings = b.website.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringMatching(/web\/dist\/index\.html/)]);
    expect(website.node.metadata.filter((m) => m.type === 'aws:cdk:warning')).toEqual([]);
    const [, deployment] = resourcesOf(b.template, 'Custom::CDKBucketDeployment')[0]!;
    expect(deployment!.Properties.SourceObjectKeys).toHaveLength(1);
  });
});
