/**
 * The web page: a private bucket behind CloudFront (origin access control,
 * HTTPS only) with a strict response-headers policy, deployed together with a
 * config.json generated at deploy time (core/site-config.ts: API URL, sign-in,
 * limits, and the public web key's value only when anonymous access is on —
 * otherwise no key is read or published at all).
 */
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { BundleLimits, ServiceLimits } from '../core/limits';
import type { SiteConfig, SiteSignInConfig } from '../core/site-config';
import { LOG_REMOVAL_POLICY, logRetention, secureBucketProps } from './defaults';
import {
  acknowledge,
  acknowledgeAwsCustomResourceProvider,
  arnOf,
  CDK_PROVIDER_REASONS,
  findStackChild,
  LAMBDA_BASIC_ROLE_FINDING,
} from './nag';

export interface ContentSecurityPolicyOrigins {
  /** Origin of the jobs API (https://<id>.execute-api.<region>.amazonaws.com). */
  readonly apiOrigin: string;
  /** Origin of the presigned upload/download endpoint of the data bucket. */
  readonly uploadOrigin: string;
  /** Origins the page fetches while signing in (the issuer's discovery and JWKS, the token endpoint). */
  readonly signInOrigins?: readonly string[];
}

/**
 * The page's Content-Security-Policy: its own scripts and styles only, network
 * access only to the API, the data bucket and the sign-in endpoints, no framing, no plugins, no forms.
 * Local mode serves the page with this policy as synthesized (read from the template, local/host/site-headers.ts).
 */
export function contentSecurityPolicy(o: ContentSecurityPolicyOrigins): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "manifest-src 'self'",
    ['connect-src', "'self'", o.apiOrigin, o.uploadOrigin, ...(o.signInOrigins ?? [])].join(' '),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    'upgrade-insecure-requests',
  ].join('; ');
}

export interface WebsiteProps {
  /**
   * The built page (index.html at its root).
   * @default - none: only config.json is deployed, and synthesis warns that the page was not built
   */
  readonly siteSource?: s3deploy.ISource;
  /** The jobs API's stage URL (ends with /). */
  readonly apiUrl: string;
  /** Origin of the jobs API, for the CSP. */
  readonly apiOrigin: string;
  /** Origin of the data bucket's presigned URLs, for the CSP. */
  readonly uploadOrigin: string;
  /**
   * The public page's API key, only with anonymous access: its value is read at deploy time into config.json.
   * @default - anonymous access off: no key is read or published
   */
  readonly webApiKey?: apigw.IApiKey;
  /**
   * How the page signs people in.
   * @default - no sign-in (anonymous access only)
   */
  readonly signIn?: SiteSignInConfig;
  /**
   * Origins the page reaches while signing in, for the CSP.
   * @default - none
   */
  readonly signInOrigins?: readonly string[];
  readonly bundleLimits: BundleLimits;
  readonly serviceLimits: ServiceLimits;
  /** Where the site bucket's server access logs and CloudFront's access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * What `cdk destroy` does with the site bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Retention of the deployment and lookup functions' logs, days.
   * @default 30
   */
  readonly logRetentionDays?: number;
}

export class Website extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headersPolicy: cloudfront.ResponseHeadersPolicy;
  readonly deployment: s3deploy.BucketDeployment;
  /** What config.json holds (deploy-time values as tokens). */
  readonly config: SiteConfig;
  /** https://<distribution domain> */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: WebsiteProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = logRetention(props.logRetentionDays ?? 30);

    this.bucket = new s3.Bucket(this, 'SiteBucket', {
      ...secureBucketProps(removalPolicy),
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'site-bucket/',
    });

    this.headersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'k2p-web: strict CSP, HSTS, no framing, no referrer, nosniff',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: contentSecurityPolicy({
            apiOrigin: props.apiOrigin,
            uploadOrigin: props.uploadOrigin,
            signInOrigins: props.signInOrigins,
          }),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        contentTypeOptions: { override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()', override: true },
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
          { header: 'Cross-Origin-Resource-Policy', value: 'same-origin', override: true },
        ],
      },
    });

    const origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `k2p-web site (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.accessLogBucket,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headersPolicy,
        compress: true,
      },
      additionalBehaviors: {
        // Rewritten on every deploy: never served stale.
        '/config.json': {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          responseHeadersPolicy: this.headersPolicy,
        },
      },
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;

    const config: SiteConfig = (this.config = {
      apiUrl: props.apiUrl,
      anonymousAccess: props.webApiKey !== undefined,
      ...(props.webApiKey ? { apiKey: this.lookUpApiKeyValue(props.webApiKey, retention) } : {}),
      ...(props.signIn ? { signIn: props.signIn } : {}),
      bundleLimits: props.bundleLimits,
      limits: {
        uploadUrlSeconds: props.serviceLimits.uploadUrlSeconds,
        resultRetentionDays: props.serviceLimits.resultRetentionDays,
        converterTimeoutSeconds: props.serviceLimits.converterTimeoutSeconds,
      },
    });
    if (!props.siteSource) {
      Annotations.of(this).addWarningV2(
        'k2p-web:site-not-built',
        'No built web page (web/dist/index.html): the site will serve only config.json until web/ is built and deployed again.',
      );
    }
    this.deployment = new s3deploy.BucketDeployment(this, 'DeploySite', {
      sources: [...(props.siteSource ? [props.siteSource] : []), s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 512,
      logGroup: new logs.LogGroup(this, 'DeploySiteLogs', { retention, removalPolicy: LOG_REMOVAL_POLICY }),
    });
    this.acknowledgeNagFindings();
  }

  /** The distribution's choices and what the CDK-managed deployment and lookup functions bring. */
  private acknowledgeNagFindings(): void {
    const distribution = this.distribution;
    acknowledge(
      distribution,
      'AwsSolutions-CFR1',
      'The page is for anyone who converts KNIME workflows, worldwide: no country is to be blocked.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR2',
      'A static page (no server-side logic) from a private bucket; a CloudFront WebACL must live in us-east-1, which a region-agnostic stack cannot create. The API has its own optional WAF.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR4',
      'Served on the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; a custom domain with an ACM certificate (TLSv1.2_2021) is an operator choice outside this template.',
    );

    if (this.node.tryFindChild('WebApiKeyValue')) acknowledgeAwsCustomResourceProvider(this);
    const deployment = findStackChild(this, 'Custom::CDKBucketDeployment');
    acknowledge(deployment, LAMBDA_BASIC_ROLE_FINDING, CDK_PROVIDER_REASONS.lambdaBasicRole);
    acknowledge(deployment, 'AwsSolutions-L1', CDK_PROVIDER_REASONS.providerRuntime);
    const deploymentReason =
      'BucketDeployment (CDK-managed) copies the built page from the CDK asset bucket into the site bucket and invalidates CloudFront: its grants are bucket-wide read on the asset bucket and read/write/delete on the site bucket only.';
    for (const finding of [
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      `Resource::${arnOf(this.bucket)}/*`,
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
    ]) {
      acknowledge(deployment, `AwsSolutions-IAM5[${finding}]`, deploymentReason);
    }
    acknowledge(
      deployment,
      'AwsSolutions-IAM5[Resource::*]',
      'BucketDeployment (CDK-managed) invalidates the site distribution after a deploy; aws-cdk-lib grants cloudfront:CreateInvalidation/GetInvalidation on "*".',
    );
  }

  /** API Gateway has no CloudFormation attribute for a key's value: read it once at deploy time. */
  private lookUpApiKeyValue(key: apigw.IApiKey, retention: logs.RetentionDays): string {
    const call: cr.AwsSdkCall = {
      service: 'APIGateway',
      action: 'getApiKey',
      parameters: { apiKey: key.keyId, includeValue: true },
      physicalResourceId: cr.PhysicalResourceId.of(key.keyId),
      outputPaths: ['value'],
    };
    const lookup = new cr.AwsCustomResource(this, 'WebApiKeyValue', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['apigateway:GET'],
          resources: [Stack.of(this).formatArn({ service: 'apigateway', account: '', resource: '/apikeys', resourceName: key.keyId })],
        }),
      ]),
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'WebApiKeyValueLogs', { retention, removalPolicy: LOG_REMOVAL_POLICY }),
    });
    return lookup.getResponseField('value');
  }
}
