/**
 * The k2p-web stack: creates each construct and passes references between
 * them — nothing else. Environment-agnostic (deployable to any account and
 * region with one `cdk deploy`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, CfnOutput, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { limitsToEnv } from '../core/limits';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/metrics';
import { LAMBDA_ENV } from '../core/service-env';
import { API_ROUTES, JobsApi } from './api';
import { DEFAULT_CONFIG, type K2pWebConfig } from './config';
import { Conversion } from './conversion';
import { REPO_ROOT, dataRemovalPolicy } from './defaults';
import { Identity } from './identity';
import { AuditTrail } from './audit-trail';
import { JobTable } from './job-table';
import { KeyRegistry } from './key-registry';
import { Monitoring } from './monitoring';
import { IsolatedNetwork } from './network';
import { Reaper } from './reaper';
import { TaskStopEvents } from './task-events';
import type { FunctionDefaults, HandlerCodeOverrides } from './service-function';
import { Storage } from './storage';
import { UploadValidation } from './validation';
import { Webhooks } from './webhooks';
import { Website } from './website';

/** Where the built web page is expected (web/'s build output). */
export const SITE_DIST = path.join(REPO_ROOT, 'web', 'dist');

export interface K2pWebStackProps extends StackProps {
  /**
   * Validated configuration (lib/config.ts).
   * @default DEFAULT_CONFIG
   */
  readonly config?: K2pWebConfig;
  /**
   * Prebuilt code per handler instead of bundling the entry files.
   * @default - every handler bundled from lambdas/ with esbuild
   */
  readonly handlerCode?: HandlerCodeOverrides;
  /**
   * The runner image.
   * @default - built from runner/Dockerfile
   */
  readonly runnerImage?: ecs.ContainerImage;
  /**
   * The built web page.
   * @default - the contents of web/dist when it holds an index.html; otherwise only config.json is deployed (with a synth warning)
   */
  readonly siteSource?: s3deploy.ISource;
  /**
   * Version reported by GET /health.
   * @default - the version in package.json
   */
  readonly serviceVersion?: string;
}

export class K2pWebStack extends Stack {
  readonly storage: Storage;
  readonly jobTable: JobTable;
  readonly keyRegistry: KeyRegistry;
  readonly auditTrail: AuditTrail;
  readonly network: IsolatedNetwork;
  readonly conversion: Conversion;
  readonly validation: UploadValidation;
  readonly reaper: Reaper;
  readonly taskStopEvents: TaskStopEvents;
  readonly api: JobsApi;
  readonly website: Website;
  readonly monitoring: Monitoring;
  readonly webhooks: Webhooks;
  readonly identity: Identity;

  constructor(scope: Construct, id: string, props: K2pWebStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? DEFAULT_CONFIG;
    const removalPolicy = dataRemovalPolicy(config.removalPolicy);
    const { bundleLimits, serviceLimits } = config;
    // The site's origin is needed (CORS) by constructs the Website itself depends on: resolve it late.
    const siteOrigin = Lazy.string({ produce: () => this.website.origin });

    this.storage = new Storage(this, 'Storage', {
      corsOrigins: [siteOrigin, ...config.devOrigins],
      bundleRetentionDays: serviceLimits.bundleRetentionDays,
      resultRetentionDays: serviceLimits.resultRetentionDays,
      bucketName: dataBucketName(this),
      removalPolicy,
    });
    this.jobTable = new JobTable(this, 'JobTable', { removalPolicy, adminIndexes: config.adminIndexes });
    this.keyRegistry = new KeyRegistry(this, 'KeyRegistry', { removalPolicy });
    this.auditTrail = new AuditTrail(this, 'AuditTrail', { removalPolicy });
    this.identity = new Identity(this, 'Identity', {
      provider: config.identityProvider,
      userPool: config.userPool,
      siteOrigin,
      devOrigins: config.devOrigins,
      removalPolicy,
    });

    const functions: FunctionDefaults = {
      logRetentionDays: config.logRetentionDays,
      handlerCode: props.handlerCode,
      environment: {
        [LAMBDA_ENV.JOBS_TABLE_NAME]: this.jobTable.table.tableName,
        [LAMBDA_ENV.DATA_BUCKET_NAME]: this.storage.dataBucket.bucketName,
        [LAMBDA_ENV.SERVICE_VERSION]: props.serviceVersion ?? packageVersion(),
        [LAMBDA_ENV.CONVERTER_IMAGE]: config.converterImage,
        [LAMBDA_ENV.CONVERTER_VERSION]: config.converterVersion,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...limitsToEnv(bundleLimits, serviceLimits),
        [LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]: config.webhookAllowCidrs.join(','),
        [LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]: String(config.webhookAllowHttp),
      },
    };

    this.network = new IsolatedNetwork(this, 'Network', {
      dataBucket: this.storage.dataBucket,
      maxAzs: config.azCount,
      logRetentionDays: config.logRetentionDays,
    });
    this.webhooks = new Webhooks(this, 'Webhooks', { jobTable: this.jobTable, functions });
    this.conversion = new Conversion(this, 'Conversion', {
      notifyFinished: this.webhooks.sender.fn,
      network: this.network,
      storage: this.storage,
      jobTable: this.jobTable,
      functions,
      bundleLimits,
      serviceLimits,
      converterImage: config.converterImage,
      converterVersion: config.converterVersion,
      containerImage: props.runnerImage,
      taskCpu: config.taskCpu,
      taskMemoryMiB: config.taskMemoryMiB,
      architecture: config.converterArchitecture,
      taskStartMarginSeconds: config.taskStartMarginSeconds,
      logRetentionDays: config.logRetentionDays,
    });
    this.validation = new UploadValidation(this, 'Validation', {
      storage: this.storage,
      jobTable: this.jobTable,
      stateMachine: this.conversion.stateMachine,
      functions,
      reservedConcurrency: config.validateConcurrency,
    });
    this.reaper = new Reaper(this, 'Reaper', {
      storage: this.storage,
      jobTable: this.jobTable,
      stateMachine: this.conversion.stateMachine,
      functions,
    });
    this.taskStopEvents = new TaskStopEvents(this, 'TaskStopEvents', {
      cluster: this.conversion.cluster,
      jobTable: this.jobTable,
      storage: this.storage,
      functions,
    });
    this.api = new JobsApi(this, 'Api', {
      jobTable: this.jobTable,
      auditTrail: this.auditTrail,
      keyRegistry: this.keyRegistry,
      storage: this.storage,
      functions,
      stateMachine: this.conversion.stateMachine,
      siteOrigin,
      identity: this.identity.authorizerIdentity,
      anonymousAccess: config.anonymousAccess,
      devOrigins: config.devOrigins,
      throttle: config.apiThrottle,
      webPlan: config.webPlan,
      defaultPlan: config.defaultPlan,
      peoplePlan: config.peoplePlan,
      programsPlan: config.programsPlan,
      wafRateLimit: config.wafRateLimit,
      logRetentionDays: config.logRetentionDays,
    });
    this.website = new Website(this, 'Website', {
      siteSource: props.siteSource ?? defaultSiteSource(),
      apiUrl: this.api.api.url,
      apiOrigin: this.api.origin,
      uploadOrigin: this.storage.uploadOrigin,
      webApiKey: this.api.webApiKey,
      signIn: this.identity.signIn,
      signInOrigins: this.identity.connectOrigins,
      bundleLimits,
      serviceLimits,
      accessLogBucket: this.storage.accessLogBucket,
      removalPolicy,
      logRetentionDays: config.logRetentionDays,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api.api,
      routes: API_ROUTES,
      functions: {
        ...Object.fromEntries(API_ROUTES.map((r) => [`${r.method} ${r.path}`, this.api.functions[r.handler].fn])),
        'validate-upload': this.validation.function.fn,
        'prepare-run': this.conversion.prepareRun.fn,
        'record-outcome': this.conversion.recordOutcome.fn,
        reaper: this.reaper.function.fn,
        'deliver-webhooks': this.webhooks.sender.fn,
        'task-stopped': this.taskStopEvents.function.fn,
      },
      stateMachine: this.conversion.stateMachine,
      failureQueue: this.validation.failureQueue,
      cluster: this.conversion.cluster,
      taskDefinition: this.conversion.taskDefinition,
      globalInFlightLimit: serviceLimits.globalInFlight,
      alarmEmail: config.alarmEmail || undefined,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Jobs API base URL' });
    new CfnOutput(this, 'SiteUrl', { value: this.website.origin, description: 'Web page' });
    new CfnOutput(this, 'KeyTableName', {
      value: this.keyRegistry.table.tableName,
      description: 'Key registry table (npm run keys registers keys here)',
    });
    if (this.api.webApiKey) {
      new CfnOutput(this, 'WebApiKeyId', {
        value: this.api.webApiKey.keyId,
        description: "The web page's API key id (its value is public in config.json)",
      });
    }
    new CfnOutput(this, 'ClientApiKeyId', {
      value: this.api.clientApiKey.keyId,
      description: 'First programmatic key id: aws apigateway get-api-key --include-value --api-key <id>',
    });
    new CfnOutput(this, 'Issuer', { value: this.identity.signIn.issuer, description: 'OpenID Connect issuer people sign in with' });
    if (this.identity.userPool && this.identity.client) {
      new CfnOutput(this, 'UserPoolId', { value: this.identity.userPool.userPoolId, description: 'Cognito user pool of the people' });
      new CfnOutput(this, 'UserPoolClientId', {
        value: this.identity.client.userPoolClientId,
        description: "The page's public app client",
      });
      new CfnOutput(this, 'SignInDomain', { value: this.identity.signInDomain!, description: 'Hosted sign-in page' });
    }
    new CfnOutput(this, 'DefaultUsagePlanId', { value: this.api.defaultPlan.usagePlanId, description: 'Add new client keys to this plan' });
    new CfnOutput(this, 'DataBucketName', { value: this.storage.dataBucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.conversion.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}

/**
 * A name known before deployment (stack, account, region), so the site's CSP can
 * name the upload endpoint without waiting for the bucket.
 */
function dataBucketName(stack: Stack): string {
  const slug =
    stack.stackName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 20)
      .replace(/-+$/, '') || 'k2p-web';
  return `${slug}-data-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function defaultSiteSource(): s3deploy.ISource | undefined {
  return fs.existsSync(path.join(SITE_DIST, 'index.html')) ? s3deploy.Source.asset(SITE_DIST) : undefined;
}
