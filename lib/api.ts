/**
 * The jobs API: a regional REST API whose every method but GET /health runs the one REQUEST authorizer (an
 * x-api-key from the key registry, or an OpenID Connect bearer token from `identity`, → principal) and requires a
 * usage-plan key, which the authorizer names (apiKeySource AUTHORIZER: an operator-made API Gateway key's own value,
 * the Programs key shared by every other registered key, or the People key shared by everyone signed in); four usage
 * plans (the public page's key, operator-made programmatic keys, programs, people); request
 * validation from the shared zod schema; gateway errors in the project's JSON envelope (an authorizer that cannot
 * decide → 503 AUTH_UNAVAILABLE); JSON access logs; CORS for the site origin; stage throttling and an optional
 * per-IP WAF rate rule.
 */
import { CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { z } from 'zod';
import { API_ROUTES, API_STAGE, PUBLIC_HANDLERS, pathParameterNames, type ApiHandlerName } from '../core/api-routes';
import {
  AdminCreateKeyRequestSchema,
  AdminPutPersonRequestSchema,
  CreateJobRequestSchema,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAY_HEADER,
  JOB_WAIT_HEADER,
  MAX_JOB_WAIT_SECONDS,
  PutWebhookRequestSchema,
} from '../core/api-schemas';
import { ERRORS, type ErrorCode } from '../core/errors';
import { LAMBDA_ENV, OIDC_ENV, TABLE } from '../core/service-env';
import type { ThrottleConfig, UsagePlanConfig } from './config';
import { LOG_REMOVAL_POLICY, logRetention } from './defaults';
import type { AuditTrail } from './audit-trail';
import type { JobTable } from './job-table';
import type { KeyRegistry } from './key-registry';
import { acknowledge, executionsWildcardFinding } from './nag';
import { type FunctionDefaults, ServiceFunction } from './service-function';
import type { Storage } from './storage';

export { API_ROUTES, type ApiHandlerName };

/** Routes that change or read a principal's webhook settings (blocked for the page's shared key). */
export const WEBHOOK_SETTINGS_HANDLERS = ['getWebhook', 'putWebhook', 'rotateWebhookSecret'] as const satisfies readonly ApiHandlerName[];

/** The OpenID Connect issuer whose bearer tokens the authorizer accepts (its OIDC_* environment). */
export interface AuthorizerIdentity {
  /** Exactly as the tokens' `iss` carries it. */
  readonly issuer: string;
  /** The app client id: `aud` (ID tokens) or `client_id` (Cognito access tokens). */
  readonly audience: string;
  readonly groupsClaim: string;
  /** Members of this group get the admin role. */
  readonly adminGroup: string;
  /** @default - the issuer's discovery document's jwks_uri */
  readonly jwksUri?: string;
}

export interface JobsApiProps {
  readonly jobTable: JobTable;
  /** Where the admin routes record every action (and GET /admin/audit reads). */
  readonly auditTrail: AuditTrail;
  /** API key hashes → principals: the authorizer reads it. */
  readonly keyRegistry: KeyRegistry;
  readonly storage: Storage;
  readonly functions: FunctionDefaults;
  /** Cancel and delete stop a running job's execution (and with it the task). */
  readonly stateMachine: sfn.IStateMachine;
  /** Origin of the web page (https://<distribution domain>); a token is fine. */
  readonly siteOrigin: string;
  /**
   * Who may sign in with a bearer token.
   * @default - none: bearer tokens are refused, API keys only
   */
  readonly identity?: AuthorizerIdentity;
  /**
   * Whether the page's shared public key and its plan exist (cdk.json anonymousAccess).
   * @default true
   */
  readonly anonymousAccess?: boolean;
  /**
   * More origins allowed by CORS preflight (local development of the page).
   * @default - none
   */
  readonly devOrigins?: readonly string[];
  /**
   * Stage-wide throttling.
   * @default - 50 requests/s, bursts of 100
   */
  readonly throttle?: ThrottleConfig;
  /**
   * Usage plan of the web page's key (public: anyone can read it from config.json).
   * @default - 5 requests/s, bursts of 10, 2000 requests/day
   */
  readonly webPlan?: UsagePlanConfig;
  /**
   * Usage plan of programmatic (CLI) keys.
   * @default - 10 requests/s, bursts of 20, 10000 requests/day
   */
  readonly defaultPlan?: UsagePlanConfig;
  /**
   * Usage plan shared by everyone signed in with a bearer token (one bucket for all people).
   * @default - 20 requests/s, bursts of 40, 20000 requests/day
   */
  readonly peoplePlan?: UsagePlanConfig;
  /**
   * Usage plan shared by every registered key that is no API Gateway key of its own (keys made by POST /admin/keys or
   * `npm run keys -- create`): one bucket; fairness between programs comes from the per-principal limits.
   * @default - 50 requests/s, bursts of 100, 50000 requests/day
   */
  readonly programsPlan?: UsagePlanConfig;
  /**
   * Requests per 5 minutes per client IP before a WAF rate-based rule blocks; 0 = no WAF.
   * @default 0
   */
  readonly wafRateLimit?: number;
  /**
   * Retention of the access logs, days.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Stage name (the last part of the API URL).
   * @default 'v1'
   */
  readonly stageName?: string;
}

/** API Gateway ends every integration after 29 s (REST API default and usual quota). */
export const INTEGRATION_TIMEOUT_SECONDS = 29;
/** get-job holds a long poll up to MAX_JOB_WAIT_SECONDS, then answers: its timeout must exceed the wait and stay under the gateway's. */
const GET_JOB_TIMEOUT = Duration.seconds(MAX_JOB_WAIT_SECONDS + 5);

export class JobsApi extends Construct {
  readonly api: apigw.RestApi;
  readonly functions: Readonly<Record<ApiHandlerName, ServiceFunction>>;
  readonly methods: Readonly<Record<ApiHandlerName, apigw.Method>>;
  /** The one REQUEST authorizer of every method but GET /health. */
  readonly authorizer: apigw.RequestAuthorizer;
  readonly authorizerFunction: ServiceFunction;
  readonly accessLogGroup: logs.LogGroup;
  /** Key of the public web page (its value goes into the site's config.json at deploy time); only with anonymous access. */
  readonly webApiKey?: apigw.ApiKey;
  /** A first programmatic key for the operator; more keys join `defaultPlan`. */
  readonly clientApiKey: apigw.ApiKey;
  /** The usage-plan key of every bearer-token caller (the authorizer names it; never sent by a client). */
  readonly peopleApiKey: apigw.ApiKey;
  /** Its value, also the authorizer's PEOPLE_USAGE_KEY. */
  readonly peopleUsageKey: string;
  /** The usage-plan key of every registered key without an API Gateway key of its own (named by the authorizer). */
  readonly programsApiKey: apigw.ApiKey;
  /** Its value, also the authorizer's PROGRAMS_USAGE_KEY. */
  readonly programsUsageKey: string;
  readonly webPlan?: apigw.UsagePlan;
  readonly defaultPlan: apigw.UsagePlan;
  readonly peoplePlan: apigw.UsagePlan;
  readonly programsPlan: apigw.UsagePlan;
  /** https origin of the API (scheme + host, no path): what the site's CSP allows. */
  readonly origin: string;
  readonly webAcl?: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: JobsApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? API_STAGE;
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    const corsOrigins = [props.siteOrigin, ...(props.devOrigins ?? [])];

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logRetention(props.logRetentionDays ?? 30),
      removalPolicy: LOG_REMOVAL_POLICY,
    });

    this.api = new apigw.RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-jobs`,
      description: 'k2p-web jobs API (API key in x-api-key, or Authorization: Bearer <OIDC token>)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // The usage-plan key comes from the authorizer's usageIdentifierKey, so bearer-token callers are throttled too.
      apiKeySourceType: apigw.ApiKeySourceType.AUTHORIZER,
      defaultMethodOptions: { apiKeyRequired: true },
      defaultCorsPreflightOptions: {
        allowOrigins: corsOrigins,
        allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Content-Type', 'X-Api-Key', 'Authorization', IDEMPOTENCY_KEY_HEADER],
        exposeHeaders: ['Retry-After', 'Location', IDEMPOTENT_REPLAY_HEADER, JOB_WAIT_HEADER],
        maxAge: Duration.hours(1),
      },
      // API Gateway needs an account-level role to write execution logs (ERROR level below).
      cloudWatchRole: true,
      deployOptions: {
        stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Never log request or response bodies.
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });
    this.origin = `https://${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;

    this.functions = this.createFunctions(props);
    // Not a secret: under apiKeySource AUTHORIZER only the authorizer's usageIdentifierKey selects a plan key, and
    // the value sent as x-api-key is just an unregistered key (401). Deterministic, so every deploy keeps it.
    this.peopleUsageKey = `k2p-web-people-usage-${Stack.of(this).stackName}`;
    // The same holds for the Programs key: admin-made keys are no API Gateway keys, so no apigateway:* right is needed at run time.
    this.programsUsageKey = `k2p-web-programs-usage-${Stack.of(this).stackName}`;
    this.authorizerFunction = new ServiceFunction(this, 'Authorizer', {
      handler: 'authorizer',
      defaults: props.functions,
      description: 'REQUEST authorizer: an x-api-key (key registry) or a bearer token (OIDC issuer) → its principal',
      environment: {
        [LAMBDA_ENV.KEY_TABLE_NAME]: props.keyRegistry.table.tableName,
        [LAMBDA_ENV.PEOPLE_USAGE_KEY]: this.peopleUsageKey,
        [LAMBDA_ENV.PROGRAMS_USAGE_KEY]: this.programsUsageKey,
        ...identityEnvironment(props.identity),
      },
      memorySize: 256,
    });
    props.keyRegistry.grantAuthorize(this.authorizerFunction.fn);
    // "x-api-key OR Authorization" cannot be identity sources (API Gateway requires every source and refuses the
    // request before the function runs), so there are none, and without them API Gateway cannot cache (TTL 0).
    // The function caches key lookups and token verdicts itself for at most AUTHORIZER_CACHE_SECONDS.
    this.authorizer = new apigw.RequestAuthorizer(this, 'RequestAuthorizer', {
      handler: this.authorizerFunction.fn,
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    // CDK writes the empty list as IdentitySource ""; the property is optional without caching, so leave it out.
    (this.authorizer.node.defaultChild as CfnResource).addPropertyDeletionOverride('IdentitySource');
    this.methods = this.createMethods();
    this.grant(props);
    this.addGatewayResponses(props.siteOrigin);

    const webPlan = props.webPlan ?? { rateLimit: 5, burstLimit: 10, quotaPerDay: 2000 };
    const defaultPlan = props.defaultPlan ?? { rateLimit: 10, burstLimit: 20, quotaPerDay: 10000 };
    const peoplePlan = props.peoplePlan ?? { rateLimit: 20, burstLimit: 40, quotaPerDay: 20000 };
    const programsPlan = props.programsPlan ?? { rateLimit: 50, burstLimit: 100, quotaPerDay: 50000 };
    // Only with anonymous access: off, the page publishes no key, so no shared key or plan exists at all.
    if (props.anonymousAccess ?? true) {
      this.webPlan = this.api.addUsagePlan('WebPlan', {
        name: `${Stack.of(this).stackName}-web`,
        description: 'The public web page: one shared key, tight limits; it cannot list jobs',
        throttle: { rateLimit: webPlan.rateLimit, burstLimit: webPlan.burstLimit },
        quota: { limit: webPlan.quotaPerDay, period: apigw.Period.DAY },
        apiStages: [
          {
            api: this.api,
            stage: this.api.deploymentStage,
            // Everyone shares the page's key, so GET /jobs would list other people's jobs: block it for this plan.
            // Likewise webhook settings: whoever set the shared key's default URL would receive everyone's events.
            throttle: (['listJobs', ...WEBHOOK_SETTINGS_HANDLERS] as const).map((name) => ({
              method: this.methods[name],
              throttle: { rateLimit: 0, burstLimit: 0 },
            })),
          },
        ],
      });
    }
    this.defaultPlan = this.api.addUsagePlan('DefaultPlan', {
      name: `${Stack.of(this).stackName}-default`,
      description: 'Programmatic clients (CLI): one key per client',
      throttle: { rateLimit: defaultPlan.rateLimit, burstLimit: defaultPlan.burstLimit },
      quota: { limit: defaultPlan.quotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.peoplePlan = this.api.addUsagePlan('PeoplePlan', {
      name: `${Stack.of(this).stackName}-people`,
      description: 'Everyone signed in with a bearer token: one shared bucket; per-person limits are per principal',
      throttle: { rateLimit: peoplePlan.rateLimit, burstLimit: peoplePlan.burstLimit },
      quota: { limit: peoplePlan.quotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.programsPlan = this.api.addUsagePlan('ProgramsPlan', {
      name: `${Stack.of(this).stackName}-programs`,
      description:
        'Every registered key that is no API Gateway key of its own (admin-made keys): one shared bucket; per-program limits are per principal',
      throttle: { rateLimit: programsPlan.rateLimit, burstLimit: programsPlan.burstLimit },
      quota: { limit: programsPlan.quotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });

    if (this.webPlan) {
      this.webApiKey = new apigw.ApiKey(this, 'WebApiKey', { description: 'k2p-web public web page (shared, public)' });
      this.webPlan.addApiKey(this.webApiKey);
    }
    this.clientApiKey = new apigw.ApiKey(this, 'ClientApiKey', { description: 'k2p-web first programmatic client key' });
    this.defaultPlan.addApiKey(this.clientApiKey);
    this.peopleApiKey = new apigw.ApiKey(this, 'PeopleApiKey', {
      description: 'k2p-web people (bearer tokens): named by the authorizer, never sent by a client',
      value: this.peopleUsageKey,
    });
    this.peoplePlan.addApiKey(this.peopleApiKey);
    this.programsApiKey = new apigw.ApiKey(this, 'ProgramsApiKey', {
      description: 'k2p-web programs (registered keys without an API Gateway key): named by the authorizer, never sent by a client',
      value: this.programsUsageKey,
    });
    this.programsPlan.addApiKey(this.programsApiKey);

    if ((props.wafRateLimit ?? 0) > 0) this.webAcl = this.createWaf(props.wafRateLimit!);
    this.acknowledgeNagFindings();
  }

  /** One REQUEST authorizer for people (bearer tokens) and programs (API keys); /health is public on purpose. */
  private acknowledgeNagFindings(): void {
    const apiKeyReason =
      'Every method but GET /health (public by design) and CORS preflights runs the Lambda REQUEST authorizer: a bearer token is verified against the OpenID Connect issuer (the Cognito user pool or the configured one: signature by JWKS, issuer, audience, expiry), an x-api-key must be registered and enabled; jobs are owned by that principal. A Cognito authorizer cannot also accept API keys for programs, hence one Lambda authorizer.';
    acknowledge(this.api, 'AwsSolutions-APIG4', apiKeyReason);
    acknowledge(this.api, 'AwsSolutions-COG4', apiKeyReason);
    if (!this.webAcl) {
      acknowledge(
        this.api.deploymentStage,
        'AwsSolutions-APIG3',
        'WAF is opt-in (context wafRateLimit > 0 adds a per-IP rate rule): usage-plan throttles and quotas plus stage throttling already bound abuse, and a WebACL costs ≥ $5/month idle.',
      );
    }
    acknowledge(
      this.api.node.findChild('CloudWatchRole'),
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway needs to write execution logs; AWS designs it around this managed policy.',
    );
  }

  private createFunctions(props: JobsApiProps): Record<ApiHandlerName, ServiceFunction> {
    const environment = { [LAMBDA_ENV.CORS_ALLOW_ORIGINS]: [props.siteOrigin, ...(props.devOrigins ?? [])].join(',') };
    const make = (handler: ApiHandlerName, id: string, description: string, timeout?: Duration) =>
      new ServiceFunction(this, id, { handler, defaults: props.functions, description, environment, memorySize: 512, timeout });
    return {
      createJob: make('createJob', 'CreateJob', 'POST /jobs: admission control and the presigned upload'),
      listJobs: make('listJobs', 'ListJobs', "GET /jobs: the caller's jobs, newest first"),
      getJob: make('getJob', 'GetJob', 'GET /jobs/{id}: one job as the client sees it', GET_JOB_TIMEOUT),
      deleteJob: make('deleteJob', 'DeleteJob', 'DELETE /jobs/{id}: delete data now, release the slot'),
      getResult: make('getResult', 'GetResult', 'GET /jobs/{id}/result: presigned download of result.zip'),
      health: make('health', 'Health', 'GET /health: service and converter versions'),
      getWebhook: make('getWebhook', 'GetWebhook', "GET /webhook: the caller's default callback URL and secret date"),
      putWebhook: make('putWebhook', 'PutWebhook', "PUT /webhook: set or clear the caller's default callback URL"),
      rotateWebhookSecret: make('rotateWebhookSecret', 'RotateWebhookSecret', 'POST /webhook/secret: create or rotate the signing secret'),
      cancelJob: make('cancelJob', 'CancelJob', 'POST /jobs/{id}/cancel: stop the task; the slot is freed once it has stopped'),
      getLogs: make('getLogs', 'GetLogs', "GET /jobs/{id}/logs: the conversion's log.txt as text"),
      getMe: make('getMe', 'GetMe', "GET /me: the caller's principal (who a key or a sign-in belongs to)"),
      adminListJobs: make('adminListJobs', 'AdminListJobs', 'GET /admin/jobs: jobs of every owner, filtered (admin role)'),
      adminJobCounts: make('adminJobCounts', 'AdminJobCounts', 'GET /admin/jobs/counts: jobs by state and by code (admin role)'),
      adminGetJob: make('adminGetJob', 'AdminGetJob', 'GET /admin/jobs/{id}: one job of any owner in full (admin role)'),
      adminCancelJob: make('adminCancelJob', 'AdminCancelJob', "POST /admin/jobs/{id}/cancel: cancel any owner's job, audited"),
      adminDeleteJob: make('adminDeleteJob', 'AdminDeleteJob', "DELETE /admin/jobs/{id}: delete any owner's job, audited"),
      adminListAudit: make('adminListAudit', 'AdminListAudit', 'GET /admin/audit: the audit trail (admin role)'),
      adminGetJobLog: make('adminGetJobLog', 'AdminGetJobLog', "GET /admin/jobs/{id}/logs: any job's log.txt as text (admin role)"),
      adminListKeys: make('adminListKeys', 'AdminListKeys', 'GET /admin/keys: registered keys, never a value (admin role)'),
      adminCreateKey: make('adminCreateKey', 'AdminCreateKey', 'POST /admin/keys: a new program key, shown once, audited'),
      adminDisableKey: make('adminDisableKey', 'AdminDisableKey', 'POST /admin/keys/{keyId}/disable: refuse a key, audited'),
      adminEnableKey: make('adminEnableKey', 'AdminEnableKey', 'POST /admin/keys/{keyId}/enable: accept a key again, audited'),
      adminRotateKey: make('adminRotateKey', 'AdminRotateKey', 'POST /admin/keys/{keyId}/rotate: a new value, the old refused, audited'),
      adminDeleteKey: make('adminDeleteKey', 'AdminDeleteKey', 'DELETE /admin/keys/{keyId}: remove a key, audited'),
      adminListPeople: make('adminListPeople', 'AdminListPeople', 'GET /admin/people: people with a standing (admin role)'),
      adminPutPerson: make('adminPutPerson', 'AdminPutPerson', "PUT /admin/people/{principalId}: set a person's standing, audited"),
      adminUsage: make('adminUsage', 'AdminUsage', 'GET /admin/usage: jobs per principal over a range (admin role)'),
    };
  }

  private createMethods(): Record<ApiHandlerName, apigw.Method> {
    const bodyValidator = this.api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const parameterValidator = this.api.addRequestValidator('ParameterValidator', {
      requestValidatorName: 'parameters',
      validateRequestParameters: true,
    });
    // Request bodies are validated by API Gateway against the same zod schemas the handlers parse with.
    const model = (modelName: string, route: string, schema: z.core.$ZodType) =>
      this.api.addModel(modelName, {
        contentType: 'application/json',
        modelName,
        description: `${route} body (core/api-schemas.ts ${modelName}Schema)`,
        schema: toApiGatewaySchema(z.toJSONSchema(schema, { target: 'draft-4' })),
      });
    const createJobModel = model('CreateJobRequest', 'POST /jobs', CreateJobRequestSchema);
    const putWebhookModel = model('PutWebhookRequest', 'PUT /webhook', PutWebhookRequestSchema);
    const adminCreateKeyModel = model('AdminCreateKeyRequest', 'POST /admin/keys', AdminCreateKeyRequestSchema);
    const adminPutPersonModel = model('AdminPutPersonRequest', 'PUT /admin/people/{principalId}', AdminPutPersonRequestSchema);
    const bodyModels: Partial<Record<ApiHandlerName, apigw.IModel>> = {
      createJob: createJobModel,
      putWebhook: putWebhookModel,
      adminCreateKey: adminCreateKeyModel,
      adminPutPerson: adminPutPersonModel,
    };

    const methods = {} as Record<ApiHandlerName, apigw.Method>;
    for (const route of API_ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      const integration = new apigw.LambdaIntegration(this.functions[route.handler].fn, { proxy: true, allowTestInvoke: false });
      const parameters = pathParameterNames(route.path);
      methods[route.handler] = resource.addMethod(route.method, integration, {
        operationName: route.id,
        apiKeyRequired: !PUBLIC_HANDLERS.has(route.handler),
        ...(PUBLIC_HANDLERS.has(route.handler)
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : { authorizer: this.authorizer, authorizationType: apigw.AuthorizationType.CUSTOM }),
        requestValidator: bodyModels[route.handler] ? bodyValidator : parameterValidator,
        requestModels: bodyModels[route.handler] ? { 'application/json': bodyModels[route.handler]! } : undefined,
        requestParameters: parameters.length
          ? Object.fromEntries(parameters.map((name) => [`method.request.path.${name}`, true]))
          : undefined,
      });
    }
    return methods;
  }

  private grant(props: JobsApiProps): void {
    const fn = (name: ApiHandlerName) => this.functions[name].fn;
    props.jobTable.grantReadWrite(fn('createJob'));
    // The presigned POST carries create-job's right to put the bundle.
    props.storage.grantPutBundles(fn('createJob'));
    props.jobTable.grantRead(fn('listJobs'));
    props.jobTable.grantRead(fn('getJob'));
    props.jobTable.grantRead(fn('getResult'));
    // The presigned GET carries get-result's right to read the result.
    props.storage.grantReadResults(fn('getResult'));
    props.jobTable.grantReadWrite(fn('deleteJob'));
    props.storage.grantDeleteBundles(fn('deleteJob'));
    props.storage.grantDeleteResults(fn('deleteJob'));
    props.jobTable.grantRead(fn('getWebhook'));
    props.jobTable.grantReadWrite(fn('putWebhook'));
    props.jobTable.grantReadWrite(fn('rotateWebhookSecret'));
    // Cancelling ends jobs that never ran at once (their bundle goes with them) and stops running ones.
    props.jobTable.grantReadWrite(fn('cancelJob'));
    props.storage.grantDeleteBundles(fn('cancelJob'));
    // Admin readers: Query on the named indexes and GetItem, never Scan.
    for (const handler of ['adminListJobs', 'adminJobCounts', 'adminGetJob'] as const) props.jobTable.grantAdminRead(fn(handler));
    // Reading log.txt's size (HeadObject needs s3:GetObject) for the log's availability.
    props.storage.grantReadResults(fn('adminGetJob'));
    // Admin cancel and delete take the owner's paths (the same rights as cancelJob and deleteJob) and append to the audit trail.
    props.jobTable.grantReadWrite(fn('adminCancelJob'));
    props.storage.grantDeleteBundles(fn('adminCancelJob'));
    props.jobTable.grantReadWrite(fn('adminDeleteJob'));
    props.storage.grantDeleteBundles(fn('adminDeleteJob'));
    props.storage.grantDeleteResults(fn('adminDeleteJob'));
    for (const handler of ['adminCancelJob', 'adminDeleteJob'] as const) props.auditTrail.grantAppend(fn(handler));
    props.auditTrail.grantList(fn('adminListAudit'));
    for (const handler of ['adminCancelJob', 'adminDeleteJob', 'adminListAudit'] as const) {
      this.functions[handler].fn.addEnvironment(LAMBDA_ENV.AUDIT_TABLE_NAME, props.auditTrail.table.tableName);
    }
    for (const handler of ['cancelJob', 'deleteJob', 'adminCancelJob', 'adminDeleteJob'] as const) {
      this.functions[handler].fn.addEnvironment(LAMBDA_ENV.STATE_MACHINE_ARN, props.stateMachine.stateMachineArn);
      props.stateMachine.grantExecution(fn(handler), 'states:StopExecution');
      acknowledge(
        this.functions[handler].role,
        executionsWildcardFinding(props.stateMachine),
        'states:StopExecution on executions of the conversion state machine only; execution names are job ids, known only at run time.',
      );
    }
    props.jobTable.grantRead(fn('getLogs'));
    props.storage.grantReadResults(fn('getLogs'));
    this.grantKeysAndUsage(props);
  }

  /** The key, people and usage routes: each reaches the key registry only as far as it must, never API Gateway. */
  private grantKeysAndUsage(props: JobsApiProps): void {
    const fn = (name: ApiHandlerName) => this.functions[name].fn;
    // An admin reads any job's log: GetItem of the job, GetObject of its log.txt.
    props.jobTable.grantGetItem(fn('adminGetJobLog'));
    props.storage.grantReadResults(fn('adminGetJobLog'));
    const keyChanges = ['adminCreateKey', 'adminDisableKey', 'adminEnableKey', 'adminRotateKey', 'adminDeleteKey'] as const;
    // Every key view carries its principal's jobs in flight and conversions today: BatchGetItem of the capacity items.
    for (const handler of ['adminListKeys', ...keyChanges] as const) props.jobTable.grantCapacityRead(fn(handler));
    props.keyRegistry.grantListKeys(fn('adminListKeys'));
    props.keyRegistry.grantListKeys(fn('adminListPeople'));
    // Creating another key for an existing principal first checks what that principal is (Query byPrincipal).
    props.keyRegistry.grantActions(fn('adminCreateKey'), ['dynamodb:PutItem', 'dynamodb:Query']);
    props.keyRegistry.grantActions(fn('adminDisableKey'), ['dynamodb:UpdateItem']);
    props.keyRegistry.grantActions(fn('adminEnableKey'), ['dynamodb:UpdateItem']);
    // Rotation reads the old item, then one transaction puts the new one and deletes the old.
    props.keyRegistry.grantActions(fn('adminRotateKey'), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);
    props.keyRegistry.grantActions(fn('adminDeleteKey'), ['dynamodb:DeleteItem']);
    props.keyRegistry.grantActions(fn('adminPutPerson'), ['dynamodb:UpdateItem']);
    // Usage: Query of byCreatedMonth, and each principal's name from the registry's byPrincipal index.
    props.jobTable.grantQueryIndex(fn('adminUsage'), TABLE.monthIndex);
    props.keyRegistry.grantActions(fn('adminUsage'), ['dynamodb:Query']);
    const registryUsers = ['adminListKeys', 'adminListPeople', ...keyChanges, 'adminPutPerson', 'adminUsage'] as const;
    for (const handler of registryUsers)
      this.functions[handler].fn.addEnvironment(LAMBDA_ENV.KEY_TABLE_NAME, props.keyRegistry.table.tableName);
    for (const handler of [...keyChanges, 'adminPutPerson'] as const) {
      props.auditTrail.grantAppend(fn(handler));
      this.functions[handler].fn.addEnvironment(LAMBDA_ENV.AUDIT_TABLE_NAME, props.auditTrail.table.tableName);
    }
  }

  /** API Gateway's own errors in the same envelope as the handlers': `{error: {code, message, details?, requestId}}`. */
  private addGatewayResponses(siteOrigin: string): void {
    const headers = {
      'Access-Control-Allow-Origin': `'${siteOrigin}'`,
      'Cache-Control': "'no-store'",
      'X-Content-Type-Options': "'nosniff'",
    };
    for (const r of GATEWAY_RESPONSES) {
      const message = r.message === undefined ? JSON.stringify(ERRORS[r.code].message) : r.message;
      const details = r.details ? `,"details":${r.details}` : '';
      this.api.addGatewayResponse(r.id, {
        type: r.type,
        statusCode: r.statusCode,
        responseHeaders: { ...headers, ...(r.retryAfter ? { 'Retry-After': `'${r.retryAfter}'` } : {}) },
        templates: {
          'application/json': `{"error":{"code":"${r.code}","message":${message}` + `${details},"requestId":"$context.requestId"}}`,
        },
      });
    }
  }

  private createWaf(limit: number): wafv2.CfnWebACL {
    const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('k2pWebApi'),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          visibilityConfig: visibility('k2pWebRateLimitPerIp'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
    return acl;
  }
}

/** Access log line: JSON with ids (key id, principal id) and outcome, never bodies, headers or the key value. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  apiKeyId: '$context.identity.apiKeyId',
  principalId: '$context.authorizer.principalId',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  errorType: '$context.error.responseType',
  errorMessage: '$context.error.message',
  wafStatus: '$context.waf.status',
  xrayTraceId: '$context.xrayTraceId',
};

interface GatewayResponseSpec {
  readonly id: string;
  readonly type: apigw.ResponseType;
  readonly code: ErrorCode;
  /** Status to answer with instead of API Gateway's default for the type. */
  readonly statusCode?: string;
  /** A JSON value (already encoded, may use $context); @default the code's message from core/errors.ts */
  readonly message?: string;
  /** A JSON object (already encoded, may use $context). */
  readonly details?: string;
  /** Seconds for a Retry-After header. */
  readonly retryAfter?: number;
}

/** Every response type a client can meet, mapped to the error codes of core/errors.ts. */
export const GATEWAY_RESPONSES: readonly GatewayResponseSpec[] = [
  {
    id: 'InvalidApiKey',
    type: apigw.ResponseType.INVALID_API_KEY,
    code: 'FORBIDDEN',
    message: JSON.stringify('The API key is missing or not valid for this request.'),
  },
  { id: 'AccessDenied', type: apigw.ResponseType.ACCESS_DENIED, code: 'FORBIDDEN' },
  {
    // The authorizer refused: no credentials, an unknown or disabled key, or a bearer token that is not valid.
    id: 'Unauthorized',
    type: apigw.ResponseType.UNAUTHORIZED,
    code: 'UNAUTHORIZED',
    message: JSON.stringify('Sign in, or send a registered, enabled API key: the credentials are missing, unknown, expired or disabled.'),
  },
  {
    // The authorizer could not decide (the identity provider's JWKS unreachable, the registry down): fail closed.
    id: 'AuthorizerFailure',
    type: apigw.ResponseType.AUTHORIZER_FAILURE,
    code: 'AUTH_UNAVAILABLE',
    statusCode: '503',
    retryAfter: 5,
  },
  {
    id: 'AuthorizerConfigurationError',
    type: apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    code: 'AUTH_UNAVAILABLE',
    statusCode: '503',
    retryAfter: 5,
  },
  {
    // REST APIs answer unknown paths and methods with 403 "Missing Authentication Token".
    id: 'UnknownRoute',
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'NOT_FOUND',
    statusCode: '404',
    message: JSON.stringify('No such route: check the method and the path.'),
  },
  { id: 'ResourceNotFound', type: apigw.ResponseType.RESOURCE_NOT_FOUND, code: 'NOT_FOUND' },
  {
    id: 'Throttled',
    type: apigw.ResponseType.THROTTLED,
    code: 'RATE_LIMITED',
    message: JSON.stringify('Too many requests: slow down and retry after the number of seconds in Retry-After.'),
    retryAfter: 1,
  },
  {
    id: 'QuotaExceeded',
    type: apigw.ResponseType.QUOTA_EXCEEDED,
    code: 'RATE_LIMITED',
    message: JSON.stringify("The API key's daily request quota is used up."),
    retryAfter: 3600,
  },
  {
    id: 'WafFiltered',
    type: apigw.ResponseType.WAF_FILTERED,
    code: 'RATE_LIMITED',
    statusCode: '429',
    message: JSON.stringify('Too many requests from your address.'),
    retryAfter: 300,
  },
  {
    id: 'BadRequestBody',
    type: apigw.ResponseType.BAD_REQUEST_BODY,
    code: 'INVALID_REQUEST',
    message: JSON.stringify('The request body is not valid.'),
    details: '{"validation":"$context.error.validationErrorString"}',
  },
  {
    id: 'BadRequestParameters',
    type: apigw.ResponseType.BAD_REQUEST_PARAMETERS,
    code: 'INVALID_REQUEST',
    message: JSON.stringify('A required request parameter is missing or not valid.'),
    details: '{"validation":"$context.error.validationErrorString"}',
  },
  {
    id: 'RequestTooLarge',
    type: apigw.ResponseType.REQUEST_TOO_LARGE,
    code: 'INVALID_REQUEST',
    message: JSON.stringify('The request is too large. Upload bundles with the presigned POST, not to the API.'),
  },
  {
    id: 'UnsupportedMediaType',
    type: apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
    code: 'INVALID_REQUEST',
    message: JSON.stringify('Send the request body as application/json.'),
  },
  { id: 'IntegrationFailure', type: apigw.ResponseType.INTEGRATION_FAILURE, code: 'INTERNAL_ERROR' },
  { id: 'IntegrationTimeout', type: apigw.ResponseType.INTEGRATION_TIMEOUT, code: 'INTERNAL_ERROR' },
  { id: 'Default4xx', type: apigw.ResponseType.DEFAULT_4XX, code: 'INVALID_REQUEST', message: '$context.error.messageString' },
  { id: 'Default5xx', type: apigw.ResponseType.DEFAULT_5XX, code: 'INTERNAL_ERROR' },
];

/** The authorizer's OIDC_* environment; none (bearer tokens refused) without an identity. */
function identityEnvironment(identity: AuthorizerIdentity | undefined): Record<string, string> {
  if (!identity) return {};
  return {
    [OIDC_ENV.OIDC_ISSUER]: identity.issuer,
    [OIDC_ENV.OIDC_AUDIENCE]: identity.audience,
    [OIDC_ENV.OIDC_GROUPS_CLAIM]: identity.groupsClaim,
    [OIDC_ENV.OIDC_ADMIN_GROUP]: identity.adminGroup,
    ...(identity.jwksUri ? { [OIDC_ENV.OIDC_JWKS_URI]: identity.jwksUri } : {}),
  };
}

/** zod's draft-4 JSON Schema → CDK's JsonSchema (which spells `$schema` as `schema`). */
function toApiGatewaySchema(jsonSchema: Record<string, unknown>): apigw.JsonSchema {
  const { $schema: _ignored, ...rest } = jsonSchema;
  return { schema: apigw.JsonSchemaVersion.DRAFT4, ...(rest as apigw.JsonSchema) };
}
