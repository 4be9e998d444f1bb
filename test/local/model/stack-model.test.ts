import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_TABLE } from '../../../core/principal';
import { AUDIT_TABLE, BUNDLE_PREFIX, LAMBDA_ENV, RUNNER_ENV, TABLE } from '../../../core/service-env';
import { API_ROUTES } from '../../../lib/api';
import { configFromContext } from '../../../lib/config';
import { parseDockerfile } from '../../../local/model/image-model';
import { Resolver, type Template } from '../../../local/model/intrinsics';
import { allowLocalReceivers, REPO_ROOT, useLocalIdentity } from '../../../local/host/local-stack';
import { rateToMs } from '../../../local/stand-ins/schedule';
import type { FunctionModel, StackModel } from '../../../local/model/stack-model';
import { realModel, SYNTH_TIMEOUT_MS } from '../helpers';

const WEB_HOST = '127.0.0.1:18780';
const context = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const config = configFromContext((key) => context[key]);

let model: StackModel;
/** The same app synthesized with anonymous access on (`npm start -- --anonymous`). */
let anonymous: StackModel;
beforeAll(async () => {
  model = await realModel(WEB_HOST);
  anonymous = await realModel(WEB_HOST, { anonymousAccess: true });
}, 2 * SYNTH_TIMEOUT_MS);

const fnFor = (arn: string | undefined): FunctionModel => model.functionByArn(String(arn));

describe('the stack model, read from a real synthesis', () => {
  it('has every API route of lib/api.ts, each on its own bundled function, with the key required except on /health', () => {
    for (const route of API_ROUTES) {
      const found = model.api.routes.find((r) => r.path === route.path && r.method === route.method);
      expect(found, `${route.method} ${route.path}`).toBeDefined();
      expect(found!.apiKeyRequired).toBe(route.handler !== 'health');
      const fn = fnFor(found!.functionArn);
      expect(fn.modulePath && existsSync(fn.modulePath)).toBeTruthy();
      expect(fn.exportName).toBe('handler');
    }
    const lambdaRoutes = model.api.routes.filter((r) => r.functionArn);
    expect(lambdaRoutes).toHaveLength(API_ROUTES.length);
    expect(new Set(lambdaRoutes.map((r) => r.functionArn)).size).toBe(API_ROUTES.length);
  });

  it('answers CORS preflight for the local web origin on every resource (MOCK methods)', () => {
    const preflights = model.api.routes.filter((r) => r.method === 'OPTIONS');
    expect(preflights.map((r) => r.path).sort()).toEqual([
      '/',
      '/admin',
      '/admin/audit',
      '/admin/jobs',
      '/admin/jobs/counts',
      '/admin/jobs/{id}',
      '/admin/jobs/{id}/cancel',
      '/admin/jobs/{id}/logs',
      '/admin/keys',
      '/admin/keys/{keyId}',
      '/admin/keys/{keyId}/disable',
      '/admin/keys/{keyId}/enable',
      '/admin/keys/{keyId}/rotate',
      '/admin/people',
      '/admin/people/{principalId}',
      '/admin/usage',
      '/health',
      '/jobs',
      '/jobs/{id}',
      '/jobs/{id}/cancel',
      '/jobs/{id}/logs',
      '/jobs/{id}/result',
      '/me',
      '/webhook',
      '/webhook/secret',
    ]);
    for (const route of preflights) {
      expect(route.mock?.headers['Access-Control-Allow-Origin']).toBe(`http://${WEB_HOST}`);
      expect(route.mock?.headers['Access-Control-Allow-Headers']).toContain('X-Api-Key');
      expect(route.mock?.headers['Access-Control-Allow-Headers']).toContain('Authorization');
    }
  });

  it('has no shared page key with anonymous access off (cdk.json)', () => {
    expect(config.anonymousAccess).toBe(false);
    expect(model.api.apiKeys.map((k) => k.outputName)).not.toContain('WebApiKeyId');
    expect(model.site?.config).toMatchObject({ anonymousAccess: false });
    expect(model.site?.config).not.toHaveProperty('apiKey');
  });

  it('has the two API keys named by the stack outputs with anonymous access on, each in its usage plan with the configured limits', () => {
    const web = anonymous.api.apiKeys.find((k) => k.outputName === 'WebApiKeyId');
    const cli = anonymous.api.apiKeys.find((k) => k.outputName === 'ClientApiKeyId');
    expect(web && cli).toBeTruthy();
    expect(anonymous.site?.config).toMatchObject({ anonymousAccess: true });
    const planOf = (logicalId: string) => anonymous.api.usagePlans.find((p) => p.apiKeyIds.includes(logicalId))!;
    expect(planOf(web!.logicalId).throttle).toEqual({ rateLimit: config.webPlan.rateLimit, burstLimit: config.webPlan.burstLimit });
    expect(planOf(web!.logicalId).quota).toEqual({ limit: config.webPlan.quotaPerDay, period: 'DAY' });
    // The shared page key cannot list jobs.
    expect(planOf(web!.logicalId).methodThrottle['/jobs/GET']).toEqual({ rateLimit: 0, burstLimit: 0 });
    expect(planOf(cli!.logicalId).throttle).toEqual({ rateLimit: config.defaultPlan.rateLimit, burstLimit: config.defaultPlan.burstLimit });
    // The People key: its value is in the template (the authorizer's PEOPLE_USAGE_KEY), in the people plan.
    const people = model.api.apiKeys.find((k) => k.value?.startsWith('k2p-web-people-usage-'));
    expect(people).toBeDefined();
    expect(planOf(people!.logicalId).throttle).toEqual({
      rateLimit: config.peoplePlan.rateLimit,
      burstLimit: config.peoplePlan.burstLimit,
    });
    const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
    expect(model.functions.find((f) => f.arn === authorizerArn)!.env.PEOPLE_USAGE_KEY).toBe(people!.value);
    // The Programs key likewise (the authorizer's PROGRAMS_USAGE_KEY), in the programs plan: local mode serves it as AWS would.
    const programs = model.api.apiKeys.find((k) => k.value?.startsWith('k2p-web-programs-usage-'));
    expect(programs).toBeDefined();
    expect(planOf(programs!.logicalId).throttle).toEqual({
      rateLimit: config.programsPlan.rateLimit,
      burstLimit: config.programsPlan.burstLimit,
    });
    expect(planOf(programs!.logicalId).quota).toEqual({ limit: config.programsPlan.quotaPerDay, period: 'DAY' });
    expect(model.functions.find((f) => f.arn === authorizerArn)!.env.PROGRAMS_USAGE_KEY).toBe(programs!.value);
    expect(model.api.stageThrottle).toEqual({ rateLimit: config.apiThrottle.rateLimit, burstLimit: config.apiThrottle.burstLimit });
    expect(model.api.stageName).toBe('v1');
  });

  it('renders gateway errors in the project envelope, with CORS for the local page', () => {
    const forbidden = model.api.gatewayResponses.INVALID_API_KEY!;
    expect(JSON.parse(forbidden.templates['application/json']!.replace('$context.requestId', 'r1'))).toMatchObject({
      error: { code: 'FORBIDDEN', requestId: 'r1' },
    });
    expect(forbidden.headers['Access-Control-Allow-Origin']).toBe(`http://${WEB_HOST}`);
    expect(model.api.gatewayResponses.THROTTLED!.headers['Retry-After']).toBe('1');
    expect(model.api.gatewayResponses.MISSING_AUTHENTICATION_TOKEN!.statusCode).toBe(404);
  });

  it('delivers bundle uploads (and nothing else) to the validate function, asynchronously with its retry settings', () => {
    const notified = model.buckets.filter((b) => b.notifications.length > 0);
    expect(notified).toHaveLength(1);
    const [notification] = notified[0]!.notifications;
    expect(notification).toMatchObject({ events: ['s3:ObjectCreated:*'], prefix: BUNDLE_PREFIX });
    expect(notification!.suffix).toBeUndefined();
    const validator = fnFor(notification!.functionArn);
    expect(validator.reservedConcurrency).toBe(config.validateConcurrency);
    expect(validator.asyncInvoke.maximumRetryAttempts).toBe(2);
    expect(validator.asyncInvoke.onFailure).toMatch(/^arn:aws:sqs:/);
    // The data bucket's CORS lets the local page upload.
    expect(notified[0]!.cors[0]!.allowedOrigins).toEqual([`http://${WEB_HOST}`, ...config.devOrigins]);
  });

  it('resolves every function env to local names: the table, the bucket, the state machine, the page origin', () => {
    const [table] = model.tables;
    const bucket = model.buckets.find((b) => b.notifications.length > 0)!;
    const [machine] = model.stateMachines;
    const validator = fnFor(bucket.notifications[0]!.functionArn);
    expect(validator.env[LAMBDA_ENV.JOBS_TABLE_NAME]).toBe(table!.name);
    expect(validator.env[LAMBDA_ENV.DATA_BUCKET_NAME]).toBe(bucket.name);
    expect(validator.env[LAMBDA_ENV.STATE_MACHINE_ARN]).toBe(machine!.arn);
    const createJob = fnFor(model.api.routes.find((r) => r.method === 'POST' && r.path === '/jobs')!.functionArn);
    expect(createJob.env[LAMBDA_ENV.CORS_ALLOW_ORIGINS]).toBe([`http://${WEB_HOST}`, ...config.devOrigins].join(','));
    for (const fn of model.functions) for (const value of Object.values(fn.env)) expect(value).not.toMatch(/Fn::|\$\{|<<marker/);
  });

  it('has the jobs table with its key, the owner, webhook and admin indexes and the TTL attribute', () => {
    expect(model.tables).toHaveLength(3);
    const table = model.tables.find((t) => t.keySchema[0]!.AttributeName === TABLE.partitionKey);
    expect(table!.keySchema).toEqual([{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(table!.globalSecondaryIndexes.map((g) => g.IndexName)).toEqual([
      TABLE.ownerIndex,
      TABLE.webhookIndex,
      TABLE.statusIndex,
      TABLE.codeIndex,
      TABLE.monthIndex,
    ]);
    expect(table!.ttlAttribute).toBe(TABLE.ttlAttribute);
  });

  it('has the audit trail table, keyed by month and time, with its TTL', () => {
    const audit = model.tables.find((t) => t.keySchema[0]!.AttributeName === AUDIT_TABLE.partitionKey);
    expect(audit!.keySchema).toEqual([
      { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(audit!.ttlAttribute).toBe(AUDIT_TABLE.ttlAttribute);
  });

  it('has the key registry table, keyed by the key hash', () => {
    const registry = model.tables.find((t) => t.keySchema[0]!.AttributeName === KEY_TABLE.partitionKey);
    expect(registry!.keySchema).toEqual([{ AttributeName: KEY_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(registry!.globalSecondaryIndexes.map((g) => g.IndexName)).toEqual([KEY_TABLE.principalIndex]);
  });

  it('reads the REQUEST authorizer: its function, identity source and TTL, on every method but GET /health and preflights', () => {
    for (const route of model.api.routes) {
      const open = (route.method === 'GET' && route.path === '/health') || route.method === 'OPTIONS';
      expect({ route: `${route.method} ${route.path}`, authorized: route.authorizer !== undefined }).toEqual({
        route: `${route.method} ${route.path}`,
        authorized: !open,
      });
    }
    const authorizer = model.api.routes.find((r) => r.authorizer)!.authorizer!;
    // x-api-key OR Authorization: no identity source, no API Gateway cache (the function caches for itself).
    expect(authorizer).toMatchObject({ type: 'REQUEST', identitySources: [], ttlSeconds: 0 });
    // The authorizer names the usage-plan key.
    expect(model.api.apiKeySource).toBe('AUTHORIZER');
    expect(model.functions.map((f) => f.arn)).toContain(authorizer.functionArn);
  });

  it('resolves the state machine definition: local function ARNs, the task definition family, no intrinsics left', () => {
    const [machine] = model.stateMachines;
    const text = JSON.stringify(machine!.definition);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{AWS::/);
    const states = machine!.definition.States as Record<string, { Type: string; Resource?: string; Parameters?: Record<string, unknown> }>;
    const tasks = Object.values(states).filter((s) => s.Type === 'Task');
    for (const task of tasks.filter((t) => t.Resource!.includes(':lambda:'))) {
      // Direct function ARNs, or the lambda:invoke integration naming the function in its parameters.
      const arn = task.Resource!.endsWith(':states:::lambda:invoke') ? task.Parameters!.FunctionName : task.Resource;
      expect(fnFor(String(arn)).modulePath).toBeTruthy();
    }
    const ecs = tasks.find((t) => t.Resource!.endsWith(':states:::ecs:runTask.sync'))!;
    expect(ecs.Parameters!.TaskDefinition).toBe(model.taskDefinitions[0]!.family);
  });

  it('knows what the runner container gets: template env, image ENV and the entrypoint staged in cdk.out', () => {
    const [container] = model.taskDefinitions[0]!.containers;
    expect(container!.environment[RUNNER_ENV.CONVERTER_IMAGE]).toBe(config.converterImage);
    expect(container!.mountPoints[0]!.containerPath).toBe(container!.environment[RUNNER_ENV.SCRATCH_DIR]);
    const image = container!.image!;
    expect(image.entrypoint[0]).toBe('node');
    const program = image.copies.get(image.entrypoint[1]!);
    expect(program && existsSync(program)).toBeTruthy();
    expect(image.env.K2P_COMMAND).toBe('k2p');
  });

  it('runs the reaper and the webhook sender on the schedules in the template, and writes the page config with the configured limits', () => {
    const scheduleOf = (prefix: string) => model.schedules.find((s) => fnFor(s.targetArns[0]).logicalId.startsWith(prefix));
    const schedule = scheduleOf('Reaper');
    expect(rateToMs(schedule!.expression)).toBe(5 * 60_000);
    expect(fnFor(schedule!.targetArns[0]).reservedConcurrency).toBe(1);
    expect(rateToMs(scheduleOf('Webhooks')!.expression)).toBe(60_000);
    expect(model.schedules).toHaveLength(2);
  });

  it('keeps the template’s strict callback policy; only the local functions get loopback and http added', () => {
    const sender = fnFor(model.schedules.find((s) => fnFor(s.targetArns[0]).logicalId.startsWith('Webhooks'))!.targetArns[0]);
    expect([sender.env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS], sender.env[LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]]).toEqual(['', 'false']);
    const local = allowLocalReceivers(sender);
    expect([local.env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS], local.env[LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]]).toEqual(['127.0.0.0/8,::1/128', 'true']);
    expect(sender.env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]).toBe('');
    const configured = allowLocalReceivers({ ...sender, env: { ...sender.env, [LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]: '10.0.0.0/8' } });
    expect(configured.env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]).toBe('10.0.0.0/8,127.0.0.0/8,::1/128');
    const { [LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS]: _none, ...withoutPolicy } = sender.env;
    expect(allowLocalReceivers({ ...sender, env: withoutPolicy }).env).toEqual(withoutPolicy);
    expect(model.site?.config.bundleLimits).toEqual({ ...config.bundleLimits });
  });

  it('gives only the local authorizer the local OpenID stand-in as its issuer, http on loopback allowed; the template stays https only', () => {
    const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
    const authorizer = fnFor(authorizerArn);
    expect(authorizer.env.OIDC_ALLOW_LOOPBACK_HTTP).toBeUndefined();
    const identity = { issuer: 'http://127.0.0.1:18786', clientId: 'k2p-web-local', groupsClaim: 'cognito:groups', adminGroup: 'admins' };
    const templateIdentity = {
      ...authorizer,
      env: { ...authorizer.env, OIDC_ISSUER: 'https://idp.example', OIDC_JWKS_URI: 'https://idp.example/k' },
    };
    const local = useLocalIdentity(templateIdentity, new Set([authorizerArn]), identity);
    expect(local.env).toMatchObject({
      OIDC_ISSUER: identity.issuer,
      OIDC_AUDIENCE: 'k2p-web-local',
      OIDC_GROUPS_CLAIM: 'cognito:groups',
      OIDC_ADMIN_GROUP: 'admins',
      OIDC_ALLOW_LOOPBACK_HTTP: 'true',
      PEOPLE_USAGE_KEY: authorizer.env.PEOPLE_USAGE_KEY,
    });
    // The template's JWKS URI belongs to the template's issuer: the stand-in's comes from its discovery document.
    expect(local.env).not.toHaveProperty('OIDC_JWKS_URI');
    const other = model.functions.find((f) => f.arn !== authorizerArn)!;
    expect(useLocalIdentity(other, new Set([authorizerArn]), identity)).toBe(other);
  });
});

describe('the event rules, read from a real synthesis', () => {
  it("routes the conversion cluster's STOPPED task events to the task-stopped function", () => {
    expect(model.eventRules).toHaveLength(1);
    const [rule] = model.eventRules;
    const cluster = model.stateMachines[0]!.definition.States as Record<string, { Parameters?: { Cluster?: string } }>;
    expect(rule!.pattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [cluster.RunConverter!.Parameters!.Cluster], lastStatus: ['STOPPED'] },
    });
    expect(fnFor(rule!.targetArns[0]).exportName).toBe('handler');
    expect(fnFor(rule!.targetArns[0]).env[LAMBDA_ENV.JOBS_TABLE_NAME]).toBeTruthy();
  });
});

describe('intrinsics and Dockerfiles (small inputs)', () => {
  const template: Template = {
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Named: {
        Type: 'AWS::S3::Bucket',
        Properties: { BucketName: { 'Fn::Join': ['-', ['data', { Ref: 'AWS::AccountId' }, { Ref: 'AWS::Region' }]] } },
      },
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Site: { Type: 'AWS::CloudFront::Distribution', Properties: {} },
    },
  };
  const resolver = new Resolver(template, {
    stackName: 'S',
    accountId: '000000000000',
    region: 'us-east-1',
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    webHost: '127.0.0.1:9',
  });

  it('resolves Ref, GetAtt, Join, Sub, Select and Split to local names', () => {
    expect(resolver.resolve({ Ref: 'Table' })).toBe('S-Table');
    expect(resolver.resolve({ Ref: 'Named' })).toBe('data-000000000000-us-east-1');
    expect(resolver.resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe('arn:aws:lambda:us-east-1:000000000000:function:S-Fn');
    expect(resolver.resolve({ 'Fn::Sub': 'x-${Table}-${AWS::Region}-${Fn.Arn}' })).toBe(
      'x-S-Table-us-east-1-arn:aws:lambda:us-east-1:000000000000:function:S-Fn',
    );
    expect(resolver.resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    // The CloudFront origin becomes the local page, over http.
    expect(resolver.resolve({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': ['Site', 'DomainName'] }]] })).toBe('http://127.0.0.1:9');
    expect(() => resolver.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/cannot resolve Fn::ImportValue/);
  });

  it('reads ENV, ENTRYPOINT and COPY of the final Dockerfile stage, with ARGs', () => {
    const image = parseDockerfile(
      [
        'ARG BASE=x',
        'FROM node AS build',
        'ENV LOST=1',
        'FROM ${BASE}',
        'ARG V=1',
        'ENV A="${V}" \\',
        '    B=/data',
        'WORKDIR /opt/app',
        'COPY dist/app.mjs ./',
        'ENTRYPOINT ["node", "/opt/app/app.mjs"]',
      ].join('\n'),
      '/ctx',
      { V: '2' },
    );
    expect(image.env).toEqual({ A: '2', B: '/data' });
    expect(image.entrypoint).toEqual(['node', '/opt/app/app.mjs']);
    expect(image.copies.get('/opt/app/app.mjs')).toBe('/ctx/dist/app.mjs');
  });
});
