/**
 * The synthesized stack (cdk.out) read into what local mode needs to run it:
 * functions with their bundles and env, the table, the buckets and their
 * notifications, the REST API (routes, keys, usage plans, gateway responses),
 * the state machine definition, the ECS task definition and runner image, the
 * schedules, the site's config.json and the response headers its CloudFront
 * distribution adds. Every value comes from the template,
 * with intrinsics resolved to local names (local/model/intrinsics.ts): nothing here
 * repeats what the CDK app says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageModel, type ImageModel } from './image-model';
import { DEFAULT_LOCAL_NAMES, referencedId, Resolver, type LocalNames, type Template, type TemplateResource } from './intrinsics';

export interface FunctionModel {
  logicalId: string;
  name: string;
  arn: string;
  runtime: string;
  /** The bundle to run; undefined for functions local mode cannot run (Python custom resources). */
  modulePath?: string;
  exportName: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  reservedConcurrency?: number;
  /** Asynchronous invocation settings (AWS::Lambda::EventInvokeConfig); Lambda's defaults when absent. */
  asyncInvoke: { maximumRetryAttempts: number; maximumEventAgeSeconds: number; onFailure?: string };
}

export interface TableModel {
  logicalId: string;
  name: string;
  attributeDefinitions: { AttributeName: string; AttributeType: string }[];
  keySchema: { AttributeName: string; KeyType: string }[];
  globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: Record<string, unknown>;
  }[];
  ttlAttribute?: string;
}

export interface NotificationModel {
  functionArn: string;
  /** e.g. `s3:ObjectCreated:*` */
  events: string[];
  prefix?: string;
  suffix?: string;
}

export interface CorsRuleModel {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAgeSeconds?: number;
}

export interface BucketModel {
  logicalId: string;
  name: string;
  cors: CorsRuleModel[];
  notifications: NotificationModel[];
}

export interface ThrottleModel {
  rateLimit: number;
  burstLimit: number;
}

export interface UsagePlanModel {
  logicalId: string;
  name: string;
  throttle?: ThrottleModel;
  quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' };
  /** Per-method throttles, keyed `/resource/path/METHOD` as in the template. */
  methodThrottle: Record<string, ThrottleModel>;
  apiKeyIds: string[];
}

export interface ApiKeyModel {
  logicalId: string;
  enabled: boolean;
  description?: string;
  /** The stack output that names this key (e.g. WebApiKeyId), if any. */
  outputName?: string;
  /** The key's value when the template sets it (else API Gateway generates one). */
  value?: string;
}

/** A Lambda authorizer (TOKEN or REQUEST) of the API. */
export interface AuthorizerModel {
  logicalId: string;
  type: 'TOKEN' | 'REQUEST';
  /** The function that decides. */
  functionArn: string;
  /** e.g. method.request.header.x-api-key; every one must be present, and their values key the cache. */
  identitySources: string[];
  /** How long a result is reused for the same identity-source values; 0 = never. */
  ttlSeconds: number;
}

export interface RouteModel {
  /** Resource path, e.g. /jobs/{id}. */
  path: string;
  method: string;
  apiKeyRequired: boolean;
  /** The Lambda authorizer of a CUSTOM method. */
  authorizer?: AuthorizerModel;
  /** AWS_PROXY integrations: the function invoked. */
  functionArn?: string;
  /** MOCK integrations (CORS preflight): the canned response. */
  mock?: { statusCode: number; headers: Record<string, string> };
}

export interface GatewayResponseModel {
  statusCode?: number;
  headers: Record<string, string>;
  templates: Record<string, string>;
}

export interface ApiModel {
  logicalId: string;
  stageName: string;
  /** The stage's access log line ($context variables), if it logs access. */
  accessLogFormat?: string;
  stageThrottle?: ThrottleModel;
  /** Where a key-requiring method finds the key: the x-api-key header, or the authorizer's usageIdentifierKey. */
  apiKeySource: 'HEADER' | 'AUTHORIZER';
  routes: RouteModel[];
  apiKeys: ApiKeyModel[];
  usagePlans: UsagePlanModel[];
  gatewayResponses: Record<string, GatewayResponseModel>;
}

export interface ContainerModel {
  name: string;
  /** The container's Environment in the task definition. */
  environment: Record<string, string>;
  mountPoints: { containerPath: string; sourceVolume: string; readOnly: boolean }[];
  stopTimeoutSeconds?: number;
  user?: string;
  /** The image built from a staged Docker asset, when the container uses one. */
  image?: ImageModel & { contextDir: string; buildArgs: Record<string, string> };
}

export interface TaskDefinitionModel {
  logicalId: string;
  family: string;
  arn: string;
  /** Task-level CPU units and memory (MiB), and ephemeral storage (GiB) when the template sets it. */
  cpuUnits?: number;
  memoryMiB?: number;
  ephemeralStorageGiB?: number;
  containers: ContainerModel[];
}

export interface StateMachineModel {
  logicalId: string;
  arn: string;
  name: string;
  definition: Record<string, unknown>;
}

export interface ScheduleModel {
  logicalId: string;
  expression: string;
  enabled: boolean;
  targetArns: string[];
}

/** An EventBridge rule matching events (not a schedule): its pattern, resolved, and its Lambda targets. */
export interface EventRuleModel {
  logicalId: string;
  pattern: Record<string, unknown>;
  enabled: boolean;
  targetArns: string[];
}

export interface SiteModel {
  /** config.json as deployed, markers resolved (apiUrl/apiKey name AWS resources: local mode replaces them). */
  config: Record<string, unknown>;
  /** Staged copies of the built page (web/dist), if it was built at synth time. */
  assetDirs: string[];
}

/** Headers CloudFront adds to every response of a cache behavior (its response-headers policy), as sent. */
export type ResponseHeaders = Record<string, string>;

export interface DistributionModel {
  logicalId: string;
  /** What the default cache behavior's response-headers policy adds ({} without one). */
  responseHeaders: ResponseHeaders;
  /** The other cache behaviors, in template order (CloudFront matches the first pattern). */
  behaviors: { pathPattern: string; responseHeaders: ResponseHeaders }[];
}

export interface StackModel {
  cdkOut: string;
  stackName: string;
  names: LocalNames;
  functions: FunctionModel[];
  tables: TableModel[];
  buckets: BucketModel[];
  api: ApiModel;
  stateMachines: StateMachineModel[];
  taskDefinitions: TaskDefinitionModel[];
  schedules: ScheduleModel[];
  eventRules: EventRuleModel[];
  site?: SiteModel;
  /** The site's CloudFront distribution (local mode runs at most one). */
  distribution?: DistributionModel;
  /** Stack outputs, resolved. */
  outputs: Record<string, unknown>;
  functionByArn(arn: string): FunctionModel;
}

interface AssetManifest {
  files?: Record<string, { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }>;
  dockerImages?: Record<string, { source: { directory: string; dockerBuildArgs?: Record<string, string>; dockerFile?: string } }>;
}

const byType = (template: Template, type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const props = (resource: TemplateResource) => resource.Properties ?? {};
const num = (value: unknown) => (value === undefined || value === null ? undefined : Number(value));
/** API Gateway's static values are quoted: `'value'`. */
const unquote = (value: string) => (/^'.*'$/s.test(value) ? value.slice(1, -1) : value);

export interface LoadOptions {
  cdkOut: string;
  stackName: string;
  /** host:port of the local web page. */
  webHost: string;
  names?: Partial<Omit<LocalNames, 'stackName' | 'webHost'>>;
}

export function loadStackModel(options: LoadOptions): StackModel {
  const templatePath = join(options.cdkOut, `${options.stackName}.template.json`);
  if (!existsSync(templatePath))
    throw new Error(`No synthesized template at ${templatePath}: run \`npm run synth\` (or start local mode, which synthesizes).`);
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as Template;
  const assetsPath = join(options.cdkOut, `${options.stackName}.assets.json`);
  const assets = (existsSync(assetsPath) ? JSON.parse(readFileSync(assetsPath, 'utf8')) : {}) as AssetManifest;
  const names: LocalNames = { ...DEFAULT_LOCAL_NAMES, ...options.names, stackName: options.stackName, webHost: options.webHost };
  const resolver = new Resolver(template, names);
  const ctx = { template, assets, resolver, cdkOut: options.cdkOut };

  const functions = readFunctions(ctx);
  const model: StackModel = {
    cdkOut: options.cdkOut,
    stackName: options.stackName,
    names,
    functions,
    tables: readTables(ctx),
    buckets: readBuckets(ctx),
    api: readApi(ctx),
    stateMachines: readStateMachines(ctx),
    taskDefinitions: readTaskDefinitions(ctx),
    schedules: readSchedules(ctx),
    eventRules: readEventRules(ctx),
    site: readSite(ctx),
    distribution: readDistribution(ctx),
    outputs: Object.fromEntries(Object.entries(template.Outputs ?? {}).map(([name, o]) => [name, resolver.resolve(o.Value)])),
    functionByArn(arn) {
      const fn = functions.find((f) => f.arn === arn);
      if (!fn) throw new Error(`The template has no function with ARN ${arn}`);
      return fn;
    },
  };
  return model;
}

interface Ctx {
  template: Template;
  assets: AssetManifest;
  resolver: Resolver;
  cdkOut: string;
}

/** The staged directory of a file asset, found by its S3 object key. */
function fileAssetDir(ctx: Ctx, objectKey: string): string | undefined {
  for (const file of Object.values(ctx.assets.files ?? {})) {
    if (Object.values(file.destinations).some((d) => d.objectKey === objectKey)) return join(ctx.cdkOut, file.source.path);
  }
  return undefined;
}

function readFunctions(ctx: Ctx): FunctionModel[] {
  const invokeConfigs = byType(ctx.template, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => props(r));
  return byType(ctx.template, 'AWS::Lambda::Function').map(([logicalId, resource]) => {
    const p = props(resource);
    const runtime = String(p.Runtime ?? '');
    const [moduleName, exportName] = String(p.Handler ?? 'index.handler').split(/\.(?=[^.]+$)/) as [string, string];
    const code = (p.Code ?? {}) as Record<string, unknown>;
    const dir = typeof code.S3Key === 'string' ? fileAssetDir(ctx, code.S3Key) : undefined;
    const modulePath =
      dir && runtime.startsWith('nodejs')
        ? ['.mjs', '.js', '.cjs'].map((ext) => join(dir, moduleName + ext)).find((file) => existsSync(file))
        : undefined;
    const env = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const invoke = invokeConfigs.find((c) => referencedId(c.FunctionName) === logicalId);
    const onFailure = (invoke?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
    return {
      logicalId,
      name: ctx.resolver.ref(logicalId),
      arn: ctx.resolver.getAtt(logicalId, 'Arn'),
      runtime,
      modulePath,
      exportName,
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, ctx.resolver.string(v)])),
      // CloudFormation's defaults when the template leaves them out.
      timeoutSeconds: num(p.Timeout) ?? 3,
      memoryMb: num(p.MemorySize) ?? 128,
      reservedConcurrency: num(p.ReservedConcurrentExecutions),
      asyncInvoke: {
        maximumRetryAttempts: num(invoke?.MaximumRetryAttempts) ?? 2,
        maximumEventAgeSeconds: num(invoke?.MaximumEventAgeInSeconds) ?? 6 * 3600,
        onFailure: onFailure === undefined ? undefined : ctx.resolver.string(onFailure),
      },
    };
  });
}

function readTables(ctx: Ctx): TableModel[] {
  return byType(ctx.template, 'AWS::DynamoDB::Table').map(([logicalId, resource]) => {
    const p = props(resource);
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    return {
      logicalId,
      name: ctx.resolver.ref(logicalId),
      attributeDefinitions: p.AttributeDefinitions as TableModel['attributeDefinitions'],
      keySchema: p.KeySchema as TableModel['keySchema'],
      globalSecondaryIndexes: ((p.GlobalSecondaryIndexes ?? []) as TableModel['globalSecondaryIndexes']).map((g) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
      })),
      ttlAttribute: ttl?.Enabled ? ttl.AttributeName : undefined,
    };
  });
}

interface RawNotificationConfig {
  LambdaFunctionConfigurations?: {
    Events: string[];
    Filter?: { Key?: { FilterRules?: { Name: string; Value: string }[] } };
    LambdaFunctionArn?: unknown;
    Function?: unknown;
  }[];
  QueueConfigurations?: unknown[];
  TopicConfigurations?: unknown[];
  EventBridgeConfiguration?: unknown;
}

function readNotifications(ctx: Ctx, config: RawNotificationConfig | undefined): NotificationModel[] {
  if (!config) return [];
  if (config.QueueConfigurations?.length || config.TopicConfigurations?.length || config.EventBridgeConfiguration) {
    throw new Error(
      'Local mode delivers bucket notifications to Lambda functions only; the template also sends them to SQS, SNS or EventBridge.',
    );
  }
  return (config.LambdaFunctionConfigurations ?? []).map((c) => {
    const rules = c.Filter?.Key?.FilterRules ?? [];
    const rule = (name: string) => rules.find((r) => r.Name.toLowerCase() === name)?.Value;
    return {
      functionArn: ctx.resolver.string(c.LambdaFunctionArn ?? c.Function),
      events: c.Events,
      prefix: rule('prefix'),
      suffix: rule('suffix'),
    };
  });
}

function readBuckets(ctx: Ctx): BucketModel[] {
  const notifiers = byType(ctx.template, 'Custom::S3BucketNotifications').map(([, r]) => props(r));
  return byType(ctx.template, 'AWS::S3::Bucket').map(([logicalId, resource]) => {
    const p = props(resource);
    const rules = ((p.CorsConfiguration as { CorsRules?: Record<string, unknown>[] } | undefined)?.CorsRules ?? []).map((rule) => ({
      allowedOrigins: (ctx.resolver.resolve(rule.AllowedOrigins ?? []) as unknown[]).map(String),
      allowedMethods: (rule.AllowedMethods ?? []) as string[],
      allowedHeaders: (rule.AllowedHeaders ?? []) as string[],
      exposedHeaders: (rule.ExposedHeaders ?? []) as string[],
      maxAgeSeconds: num(rule.MaxAge),
    }));
    const notifications = [
      ...readNotifications(ctx, p.NotificationConfiguration as RawNotificationConfig | undefined),
      ...notifiers
        .filter((n) => referencedId(n.BucketName) === logicalId)
        .flatMap((n) => readNotifications(ctx, n.NotificationConfiguration as RawNotificationConfig)),
    ];
    return { logicalId, name: ctx.resolver.ref(logicalId), cors: rules, notifications };
  });
}

function throttle(value: unknown): ThrottleModel | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const t = value as { RateLimit?: unknown; BurstLimit?: unknown };
  if (t.RateLimit === undefined && t.BurstLimit === undefined) return undefined;
  return { rateLimit: Number(t.RateLimit ?? 0), burstLimit: Number(t.BurstLimit ?? 0) };
}

/** `arn:…:apigateway:region:lambda:path/2015-03-31/functions/<function arn>/invocations` → the function ARN. */
function integrationFunctionArn(uri: string): string {
  const match = /\/functions\/(.+)\/invocations$/.exec(uri);
  if (!match) throw new Error(`Local mode cannot read the Lambda integration URI ${uri}`);
  return match[1]!;
}

function readApi(ctx: Ctx): ApiModel {
  const apis = byType(ctx.template, 'AWS::ApiGateway::RestApi');
  if (apis.length !== 1) throw new Error(`Local mode runs exactly one REST API; the template has ${apis.length}.`);
  const [apiId] = apis[0]!;
  const resources = new Map(byType(ctx.template, 'AWS::ApiGateway::Resource').map(([id, r]) => [id, props(r)]));
  const pathOf = (ref: unknown): string => {
    const id = referencedId(ref);
    if (!id || id === apiId) return ''; // the root resource (Fn::GetAtt RestApi.RootResourceId)
    const resource = resources.get(id);
    if (!resource) throw new Error(`API resource ${id} is not in the template`);
    return `${pathOf(resource.ParentId)}/${String(resource.PathPart)}`;
  };

  const authorizers = new Map(
    byType(ctx.template, 'AWS::ApiGateway::Authorizer').map(([logicalId, r]): [string, AuthorizerModel] => {
      const p = props(r);
      const type = String(p.Type);
      if (type !== 'TOKEN' && type !== 'REQUEST') throw new Error(`Local mode cannot run the ${type} authorizer ${logicalId}`);
      return [
        logicalId,
        {
          logicalId,
          type,
          functionArn: integrationFunctionArn(ctx.resolver.string(p.AuthorizerUri)),
          identitySources: String(p.IdentitySource ?? '')
            .split(',')
            .map((source) => source.trim())
            .filter(Boolean),
          // API Gateway's default when the template leaves it out.
          ttlSeconds: p.AuthorizerResultTtlInSeconds === undefined ? 300 : Number(p.AuthorizerResultTtlInSeconds),
        },
      ];
    }),
  );

  const routes: RouteModel[] = byType(ctx.template, 'AWS::ApiGateway::Method').map(([, resource]) => {
    const p = props(resource);
    const integration = (p.Integration ?? {}) as Record<string, unknown>;
    const route: RouteModel = {
      path: pathOf(p.ResourceId) || '/',
      method: String(p.HttpMethod),
      apiKeyRequired: p.ApiKeyRequired === true,
    };
    if (p.AuthorizationType === 'CUSTOM') {
      const authorizer = authorizers.get(referencedId(p.AuthorizerId) ?? '');
      if (!authorizer) throw new Error(`The authorizer of ${route.method} ${route.path} is not in the template`);
      route.authorizer = authorizer;
    }
    if (integration.Type === 'AWS_PROXY') {
      route.functionArn = integrationFunctionArn(ctx.resolver.string(integration.Uri));
    } else if (integration.Type === 'MOCK') {
      const response = (
        (integration.IntegrationResponses ?? []) as { StatusCode: string; ResponseParameters?: Record<string, unknown> }[]
      )[0];
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response?.ResponseParameters ?? {})) {
        const header = /^method\.response\.header\.(.+)$/.exec(name)?.[1];
        if (header) headers[header] = unquote(ctx.resolver.string(value));
      }
      route.mock = { statusCode: Number(response?.StatusCode ?? 200), headers };
    } else {
      throw new Error(`Local mode cannot run the ${String(integration.Type)} integration of ${route.method} ${route.path}`);
    }
    return route;
  });

  const stage = byType(ctx.template, 'AWS::ApiGateway::Stage')[0];
  const stageProps = stage ? props(stage[1]) : {};
  const allMethods = ((stageProps.MethodSettings ?? []) as Record<string, unknown>[]).find(
    (s) => s.ResourcePath === '/*' && s.HttpMethod === '*',
  );

  const outputFor = (logicalId: string) =>
    Object.entries(ctx.template.Outputs ?? {}).find(
      ([, output]) => referencedId(output.Value) === logicalId && 'Ref' in (output.Value as object),
    )?.[0];
  const apiKeys = byType(ctx.template, 'AWS::ApiGateway::ApiKey').map(([logicalId, r]) => ({
    logicalId,
    enabled: props(r).Enabled !== false,
    description: props(r).Description as string | undefined,
    outputName: outputFor(logicalId),
    ...(props(r).Value !== undefined ? { value: ctx.resolver.string(props(r).Value) } : {}),
  }));
  const apiKeySource = props(apis[0]![1]).ApiKeySourceType;
  if (apiKeySource !== undefined && apiKeySource !== 'HEADER' && apiKeySource !== 'AUTHORIZER')
    throw new Error(`Local mode cannot read the API key source ${String(apiKeySource)}`);
  const planKeys = byType(ctx.template, 'AWS::ApiGateway::UsagePlanKey').map(([, r]) => props(r));
  const usagePlans = byType(ctx.template, 'AWS::ApiGateway::UsagePlan').map(([logicalId, r]) => {
    const p = props(r);
    const quota = p.Quota as { Limit?: number; Period?: 'DAY' | 'WEEK' | 'MONTH' } | undefined;
    const methodThrottle: Record<string, ThrottleModel> = {};
    for (const apiStage of (p.ApiStages ?? []) as { Throttle?: Record<string, unknown> }[]) {
      for (const [key, value] of Object.entries(apiStage.Throttle ?? {}))
        methodThrottle[key] = throttle(value) ?? { rateLimit: 0, burstLimit: 0 };
    }
    return {
      logicalId,
      name: p.UsagePlanName ? ctx.resolver.string(p.UsagePlanName) : logicalId,
      throttle: throttle(p.Throttle),
      quota: quota?.Limit ? { limit: Number(quota.Limit), period: quota.Period ?? 'DAY' } : undefined,
      methodThrottle,
      apiKeyIds: planKeys.filter((k) => referencedId(k.UsagePlanId) === logicalId).map((k) => referencedId(k.KeyId)!),
    };
  });

  const gatewayResponses: Record<string, GatewayResponseModel> = {};
  for (const [, r] of byType(ctx.template, 'AWS::ApiGateway::GatewayResponse')) {
    const p = props(r);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries((p.ResponseParameters ?? {}) as Record<string, unknown>)) {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
      if (header) headers[header] = unquote(ctx.resolver.string(value));
    }
    gatewayResponses[String(p.ResponseType)] = {
      statusCode: num(p.StatusCode),
      headers,
      templates: (p.ResponseTemplates ?? {}) as Record<string, string>,
    };
  }

  return {
    logicalId: apiId,
    stageName: stageProps.StageName ? ctx.resolver.string(stageProps.StageName) : 'prod',
    accessLogFormat: (stageProps.AccessLogSetting as { Format?: string } | undefined)?.Format,
    stageThrottle: allMethods
      ? throttle({ RateLimit: allMethods.ThrottlingRateLimit, BurstLimit: allMethods.ThrottlingBurstLimit })
      : undefined,
    apiKeySource: apiKeySource ?? 'HEADER',
    routes,
    apiKeys,
    usagePlans,
    gatewayResponses,
  };
}

function readStateMachines(ctx: Ctx): StateMachineModel[] {
  return byType(ctx.template, 'AWS::StepFunctions::StateMachine').map(([logicalId, resource]) => {
    const p = props(resource);
    let text =
      p.DefinitionString !== undefined ? ctx.resolver.string(p.DefinitionString) : JSON.stringify(ctx.resolver.resolve(p.Definition));
    for (const [key, value] of Object.entries((p.DefinitionSubstitutions ?? {}) as Record<string, unknown>)) {
      text = text.split('${' + key + '}').join(ctx.resolver.string(value));
    }
    return {
      logicalId,
      arn: ctx.resolver.getAtt(logicalId, 'Arn'),
      name: ctx.resolver.getAtt(logicalId, 'Name'),
      definition: JSON.parse(text) as Record<string, unknown>,
    };
  });
}

/** The staged Docker build context of an image `<registry>/<repo>:<asset hash>`, if it is an asset of this assembly. */
function imageAsset(ctx: Ctx, image: string): ContainerModel['image'] {
  const tag = image.split(':').pop() ?? '';
  const docker = ctx.assets.dockerImages?.[tag];
  if (!docker) return undefined;
  const contextDir = join(ctx.cdkOut, docker.source.directory);
  const buildArgs = docker.source.dockerBuildArgs ?? {};
  return { ...readImageModel(contextDir, buildArgs, docker.source.dockerFile), contextDir, buildArgs };
}

function readTaskDefinitions(ctx: Ctx): TaskDefinitionModel[] {
  return byType(ctx.template, 'AWS::ECS::TaskDefinition').map(([logicalId, resource]) => {
    const p = props(resource);
    const containers = ((p.ContainerDefinitions ?? []) as Record<string, unknown>[]).map((c) => ({
      name: String(c.Name),
      environment: Object.fromEntries(
        ((c.Environment ?? []) as { Name: string; Value: unknown }[]).map((e) => [e.Name, ctx.resolver.string(e.Value)]),
      ),
      mountPoints: ((c.MountPoints ?? []) as { ContainerPath: string; SourceVolume: string; ReadOnly?: boolean }[]).map((m) => ({
        containerPath: m.ContainerPath,
        sourceVolume: m.SourceVolume,
        readOnly: m.ReadOnly === true,
      })),
      stopTimeoutSeconds: num(c.StopTimeout),
      user: c.User === undefined ? undefined : String(c.User),
      image: imageAsset(ctx, ctx.resolver.string(c.Image)),
    }));
    return {
      logicalId,
      family: p.Family ? ctx.resolver.string(p.Family) : ctx.resolver.ref(logicalId),
      arn: ctx.resolver.getAtt(logicalId, 'TaskDefinitionArn'),
      cpuUnits: num(p.Cpu),
      memoryMiB: num(p.Memory),
      ephemeralStorageGiB: num((p.EphemeralStorage as { SizeInGiB?: unknown } | undefined)?.SizeInGiB),
      containers,
    };
  });
}

/** The Events rules that have property `key` (a schedule or an event pattern), with their state and Lambda targets. */
function readRules(ctx: Ctx, key: 'ScheduleExpression' | 'EventPattern') {
  return byType(ctx.template, 'AWS::Events::Rule')
    .filter(([, r]) => props(r)[key] !== undefined)
    .map(([logicalId, r]) => {
      const p = props(r);
      return {
        logicalId,
        value: p[key],
        enabled: p.State === undefined || p.State === 'ENABLED',
        targetArns: ((p.Targets ?? []) as { Arn: unknown }[]).map((t) => ctx.resolver.string(t.Arn)),
      };
    });
}

function readSchedules(ctx: Ctx): ScheduleModel[] {
  return readRules(ctx, 'ScheduleExpression').map(({ value, ...rule }) => ({ ...rule, expression: String(value) }));
}

function readEventRules(ctx: Ctx): EventRuleModel[] {
  return readRules(ctx, 'EventPattern').map(({ value, ...rule }) => ({
    ...rule,
    pattern: ctx.resolver.resolve(value) as Record<string, unknown>,
  }));
}

/**
 * The site deployment (Custom::CDKBucketDeployment): the source holding
 * config.json has its deploy-time markers filled in here; the other sources
 * are the built page.
 */
function readSite(ctx: Ctx): SiteModel | undefined {
  const deployment = byType(ctx.template, 'Custom::CDKBucketDeployment')[0];
  if (!deployment) return undefined;
  const p = props(deployment[1]);
  const keys = (p.SourceObjectKeys ?? []) as string[];
  const markers = (p.SourceMarkers ?? []) as Record<string, unknown>[];
  let config: Record<string, unknown> | undefined;
  const assetDirs: string[] = [];
  keys.forEach((key, index) => {
    const dir = fileAssetDir(ctx, key);
    if (!dir) return;
    const configPath = join(dir, 'config.json');
    if (existsSync(configPath)) {
      let text = readFileSync(configPath, 'utf8');
      for (const [marker, value] of Object.entries(markers[index] ?? {})) {
        let resolved: string;
        try {
          resolved = ctx.resolver.string(value);
        } catch {
          resolved = '';
        }
        text = text.split(marker).join(JSON.stringify(resolved).slice(1, -1));
      }
      config = JSON.parse(text) as Record<string, unknown>;
    } else {
      assetDirs.push(dir);
    }
  });
  return config ? { config, assetDirs } : undefined;
}

/**
 * A response-headers policy as the headers CloudFront sends (its documented
 * rendering of each security header); a policy local mode cannot reproduce
 * (CORS, removed headers, a managed policy by id) is refused, not ignored.
 */
function policyHeaders(ctx: Ctx, policyId: unknown): ResponseHeaders {
  if (policyId === undefined) return {};
  const logicalId = referencedId(policyId);
  const resource = logicalId ? ctx.template.Resources[logicalId] : undefined;
  if (!resource || resource.Type !== 'AWS::CloudFront::ResponseHeadersPolicy')
    throw new Error(`Local mode reads response-headers policies of the template only, not ${JSON.stringify(policyId)}`);
  const config = (props(resource).ResponseHeadersPolicyConfig ?? {}) as Record<string, unknown>;
  for (const unsupported of ['CorsConfig', 'RemoveHeadersConfig', 'ServerTimingHeadersConfig'])
    if (config[unsupported] !== undefined) throw new Error(`Local mode cannot serve the ${unsupported} of ${logicalId}`);
  const security = (config.SecurityHeadersConfig ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const headers: ResponseHeaders = {};
  const csp = security.ContentSecurityPolicy;
  if (csp) headers['Content-Security-Policy'] = ctx.resolver.string(csp.ContentSecurityPolicy);
  const hsts = security.StrictTransportSecurity;
  if (hsts)
    headers['Strict-Transport-Security'] = [
      `max-age=${Number(hsts.AccessControlMaxAgeSec)}`,
      ...(hsts.IncludeSubdomains === true ? ['includeSubDomains'] : []),
      ...(hsts.Preload === true ? ['preload'] : []),
    ].join('; ');
  if (security.FrameOptions) headers['X-Frame-Options'] = String(security.FrameOptions.FrameOption);
  if (security.ReferrerPolicy) headers['Referrer-Policy'] = String(security.ReferrerPolicy.ReferrerPolicy);
  if (security.ContentTypeOptions) headers['X-Content-Type-Options'] = 'nosniff';
  const xss = security.XSSProtection;
  if (xss)
    headers['X-XSS-Protection'] =
      xss.Protection !== true
        ? '0'
        : xss.ModeBlock === true
          ? '1; mode=block'
          : xss.ReportUri
            ? `1; report=${ctx.resolver.string(xss.ReportUri)}`
            : '1';
  const custom = (config.CustomHeadersConfig as { Items?: { Header: string; Value: unknown }[] } | undefined)?.Items ?? [];
  for (const item of custom) headers[item.Header] = ctx.resolver.string(item.Value);
  return headers;
}

/** The CloudFront distribution (the site): the headers each cache behavior adds. */
function readDistribution(ctx: Ctx): DistributionModel | undefined {
  const distributions = byType(ctx.template, 'AWS::CloudFront::Distribution');
  if (distributions.length === 0) return undefined;
  if (distributions.length > 1) throw new Error(`Local mode serves one site; the template has ${distributions.length} distributions.`);
  const [logicalId, resource] = distributions[0]!;
  const config = (props(resource).DistributionConfig ?? {}) as {
    DefaultCacheBehavior?: { ResponseHeadersPolicyId?: unknown };
    CacheBehaviors?: { PathPattern: string; ResponseHeadersPolicyId?: unknown }[];
  };
  return {
    logicalId,
    responseHeaders: policyHeaders(ctx, config.DefaultCacheBehavior?.ResponseHeadersPolicyId),
    behaviors: (config.CacheBehaviors ?? []).map((b) => ({
      pathPattern: b.PathPattern,
      responseHeaders: policyHeaders(ctx, b.ResponseHeadersPolicyId),
    })),
  };
}
