import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ErrorEnvelopeSchema, MAX_JOB_WAIT_SECONDS } from '../../core/api-schemas';
import { ERRORS } from '../../core/errors';
import { KEY_TABLE } from '../../core/principal';
import { LAMBDA_ENV, TABLE } from '../../core/service-env';
import { API_ROUTES, GATEWAY_RESPONSES, INTEGRATION_TIMEOUT_SECONDS, JobsApi } from '../../lib/api';
import { AuditTrail } from '../../lib/audit-trail';
import { JobTable } from '../../lib/job-table';
import { KeyRegistry } from '../../lib/key-registry';
import { Storage } from '../../lib/storage';
import { flatten, functionDefaults, logicalIdOf, newStack, resourcesOf, statementsOfRole } from './fixtures';
import type { Loose } from './fixtures';

const SITE = 'https://d111111abcdef8.cloudfront.net';

function build(props: Partial<ConstructorParameters<typeof JobsApi>[2]> = {}) {
  const stack = newStack('Api');
  const storage = new Storage(stack, 'Storage', { corsOrigins: [SITE] });
  const jobTable = new JobTable(stack, 'JobTable');
  const keyRegistry = new KeyRegistry(stack, 'KeyRegistry');
  const auditTrail = new AuditTrail(stack, 'AuditTrail');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
  });
  const api = new JobsApi(stack, 'Api', {
    storage,
    jobTable,
    auditTrail,
    keyRegistry,
    stateMachine,
    functions: functionDefaults,
    siteOrigin: SITE,
    ...props,
  });
  return { stack, api, template: Template.fromStack(stack) };
}

/** Method resources keyed "VERB /path". */
function methodsByRoute(template: Template): Record<string, Record<string, Loose>> {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Loose> }>;
  const pathOf = (ref: Loose): string => {
    if (ref && typeof ref === 'object' && 'Fn::GetAtt' in ref) return '';
    const r = resources[ref.Ref]!;
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  return Object.fromEntries(
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::Method')
      .map((m) => [`${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`, m.Properties]),
  );
}

describe('JobsApi', () => {
  const { stack, api, template } = build();
  const methods = methodsByRoute(template);

  it('has exactly the documented routes, each on its own function', () => {
    const routes = Object.keys(methods)
      .filter((k) => !k.startsWith('OPTIONS'))
      .sort();
    expect(routes).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of API_ROUTES) {
      const uri = flatten(methods[`${r.method} ${r.path}`]!.Integration.Uri);
      expect(uri).toContain(`${logicalIdOf(stack, api.functions[r.handler].fn)}.Arn`);
      expect(methods[`${r.method} ${r.path}`]!.Integration.Type).toBe('AWS_PROXY');
    }
  });

  it('runs the one REQUEST authorizer on every method except GET /health and CORS preflights', () => {
    const authorizers = template.findResources('AWS::ApiGateway::Authorizer');
    expect(Object.keys(authorizers)).toHaveLength(1);
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    expect(authorizer.Properties.Type).toBe('REQUEST');
    // x-api-key OR Authorization: no identity source (each would be required), so API Gateway cannot cache either.
    expect(authorizer.Properties).not.toHaveProperty('IdentitySource');
    expect(authorizer.Properties.AuthorizerResultTtlInSeconds).toBe(0);
    expect(flatten(authorizer.Properties.AuthorizerUri)).toContain(`${logicalIdOf(stack, api.authorizerFunction.fn)}.Arn`);
    for (const [route, method] of Object.entries(methods)) {
      const open = route === 'GET /health' || route.startsWith('OPTIONS ');
      const authorized = method.AuthorizationType === 'CUSTOM' && method.AuthorizerId?.Ref === authorizerId;
      expect({ route, authorized }).toEqual({ route, authorized: !open });
      if (open) expect(method.AuthorizationType ?? 'NONE').toBe('NONE');
    }
  });

  it('lets the authorizer read and touch only the key registry table, no wildcard', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, api.authorizerFunction.role));
    const registryId = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.startsWith('KeyRegistry'))!;
    const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]!.Action].flat().sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(JSON.stringify(dynamo[0]!.Resource)).toContain(registryId);
    expect(JSON.stringify(dynamo[0]!.Resource)).not.toContain('*');
  });

  it('requires an API key on every method except GET /health and CORS preflights', () => {
    for (const [route, method] of Object.entries(methods)) {
      const open = route === 'GET /health' || route.startsWith('OPTIONS ');
      expect({ route, required: method.ApiKeyRequired === true }).toEqual({ route, required: !open });
    }
    // The authorizer names the usage-plan key (usageIdentifierKey), so bearer-token callers are throttled too.
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      ApiKeySourceType: 'AUTHORIZER',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('answers CORS preflights for the site origin only', () => {
    const preflight = methods['OPTIONS /jobs']!;
    const headers = preflight.Integration.IntegrationResponses[0].ResponseParameters;
    expect(headers['method.response.header.Access-Control-Allow-Origin']).toBe(`'${SITE}'`);
    expect(headers['method.response.header.Access-Control-Allow-Headers']).toContain('X-Api-Key');
    expect(headers['method.response.header.Access-Control-Allow-Headers']).toContain('Authorization');
    const withDev = methodsByRoute(build({ devOrigins: ['http://localhost:5173'] }).template)['OPTIONS /jobs']!;
    expect(JSON.stringify(withDev.Integration.IntegrationResponses)).toContain('localhost:5173');
  });

  it('validates the POST /jobs body against the shared schema and the path parameters elsewhere', () => {
    const [, model] = resourcesOf(template, 'AWS::ApiGateway::Model')[0]!;
    expect(model!.Properties.ContentType).toBe('application/json');
    const schema = model!.Properties.Schema;
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.options.properties.workbook.enum).toEqual(['py', 'ipynb', 'both']);
    expect(schema.properties.options.properties.graph.enum).toEqual(['json', 'dot', 'off', 'both']);
    const validators = Object.fromEntries(resourcesOf(template, 'AWS::ApiGateway::RequestValidator').map(([id, v]) => [id, v.Properties]));
    const post = methods['POST /jobs']!;
    expect(validators[post.RequestValidatorId.Ref]).toMatchObject({ ValidateRequestBody: true, ValidateRequestParameters: true });
    expect(post.RequestModels).toEqual({ 'application/json': { Ref: resourcesOf(template, 'AWS::ApiGateway::Model')[0]![0] } });
    for (const route of ['GET /jobs/{id}', 'DELETE /jobs/{id}', 'GET /jobs/{id}/result']) {
      expect(methods[route]!.RequestParameters).toEqual({ 'method.request.path.id': true });
      expect(validators[methods[route]!.RequestValidatorId.Ref]).toMatchObject({ ValidateRequestParameters: true });
    }
  });

  it('answers gateway errors with the JSON envelope, the site origin and the stable codes', () => {
    const responses = resourcesOf(template, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => r.Properties);
    expect(responses).toHaveLength(GATEWAY_RESPONSES.length);
    const byType = Object.fromEntries(responses.map((r) => [r.ResponseType, r]));
    for (const spec of GATEWAY_RESPONSES) {
      const r = byType[spec.type.responseType]!;
      const body = r.ResponseTemplates['application/json'] as string;
      expect(body).toContain(`"code":"${spec.code}"`);
      expect(body).toContain('"requestId":"$context.requestId"');
      expect(body).toMatch(/^\{"error":\{/);
      expect(r.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']).toBe(`'${SITE}'`);
      // Once API Gateway substitutes its variables: the same envelope the handlers send.
      const substituted = JSON.parse(
        body
          .replace(/\$context\.error\.messageString/g, '"x"')
          .replace(/\$context\.error\.validationErrorString/g, 'x')
          .replace(/\$context\.[A-Za-z.]+/g, 'x'),
      );
      expect(ErrorEnvelopeSchema.safeParse(substituted).success, body).toBe(true);
      expect(
        Object.keys(substituted.error).every((key) => ['code', 'message', 'details', 'requestId'].includes(key)),
        body,
      ).toBe(true);
      expect(Object.keys(ERRORS)).toContain(spec.code);
    }
    expect(byType.INVALID_API_KEY!.ResponseTemplates['application/json']).toContain('"code":"FORBIDDEN"');
    expect(byType.THROTTLED).toMatchObject({ ResponseParameters: { 'gatewayresponse.header.Retry-After': "'1'" } });
    expect(byType.QUOTA_EXCEEDED!.ResponseTemplates['application/json']).toContain('"code":"RATE_LIMITED"');
    expect(byType.MISSING_AUTHENTICATION_TOKEN).toMatchObject({ StatusCode: '404' });
    expect(byType.BAD_REQUEST_BODY!.ResponseTemplates['application/json']).toContain('$context.error.validationErrorString');
    expect(byType.DEFAULT_5XX!.ResponseTemplates['application/json']).toContain('"code":"INTERNAL_ERROR"');
    // An authorizer that cannot decide (identity provider unreachable) fails closed with a retryable 503.
    for (const type of ['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR']) {
      expect(byType[type]).toMatchObject({ StatusCode: '503', ResponseParameters: { 'gatewayresponse.header.Retry-After': "'5'" } });
      expect(byType[type]!.ResponseTemplates['application/json']).toContain('"code":"AUTH_UNAVAILABLE"');
    }
    expect(byType.UNAUTHORIZED!.StatusCode ?? '401').toBe('401');
    expect(byType.UNAUTHORIZED!.ResponseTemplates['application/json']).toContain('"code":"UNAUTHORIZED"');
  });

  it('logs JSON access lines (no bodies), errors only for execution logs, with stage throttling and tracing', () => {
    const [, stage] = resourcesOf(template, 'AWS::ApiGateway::Stage')[0]!;
    const format = JSON.parse(stage!.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', apiKeyId: '$context.identity.apiKeyId' });
    expect(JSON.stringify(format)).not.toMatch(/\$input|requestBody|x-api-key|apiKey"/);
    expect(stage!.Properties.AccessLogSetting.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack, api.accessLogGroup), 'Arn'] });
    expect(stage!.Properties.TracingEnabled).toBe(true);
    expect(stage!.Properties.StageName).toBe('v1');
    expect(stage!.Properties.MethodSettings).toEqual([
      {
        DataTraceEnabled: false,
        HttpMethod: '*',
        LoggingLevel: 'ERROR',
        MetricsEnabled: true,
        ResourcePath: '/*',
        ThrottlingBurstLimit: 100,
        ThrottlingRateLimit: 50,
      },
    ]);
  });

  it('has a tight web plan (which cannot list jobs nor touch webhook settings), a default plan for programmatic keys, a programs plan and a people plan, one key each', () => {
    const plans = Object.fromEntries(resourcesOf(template, 'AWS::ApiGateway::UsagePlan').map(([id, p]) => [id, p.Properties]));
    expect(Object.keys(plans)).toHaveLength(4);
    const programs = plans[logicalIdOf(stack, api.programsPlan)]!;
    expect(programs).toMatchObject({
      UsagePlanName: 'Api-programs',
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: { Limit: 50000, Period: 'DAY' },
    });
    expect(programs.ApiStages[0].Throttle ?? {}).toEqual({});
    const web = plans[logicalIdOf(stack, api.webPlan!)]!;
    const def = plans[logicalIdOf(stack, api.defaultPlan)]!;
    const people = plans[logicalIdOf(stack, api.peoplePlan)]!;
    expect(people).toMatchObject({
      UsagePlanName: 'Api-people',
      Throttle: { RateLimit: 20, BurstLimit: 40 },
      Quota: { Limit: 20000, Period: 'DAY' },
    });
    expect(people.ApiStages[0].Throttle ?? {}).toEqual({});
    expect(web).toMatchObject({
      UsagePlanName: 'Api-web',
      Throttle: { RateLimit: 5, BurstLimit: 10 },
      Quota: { Limit: 2000, Period: 'DAY' },
    });
    expect(web.ApiStages[0].Throttle).toEqual({
      '/jobs/GET': { RateLimit: 0, BurstLimit: 0 },
      '/webhook/GET': { RateLimit: 0, BurstLimit: 0 },
      '/webhook/PUT': { RateLimit: 0, BurstLimit: 0 },
      '/webhook/secret/POST': { RateLimit: 0, BurstLimit: 0 },
    });
    expect(def).toMatchObject({
      UsagePlanName: 'Api-default',
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      Quota: { Limit: 10000, Period: 'DAY' },
    });
    expect(def.ApiStages[0].Throttle ?? {}).toEqual({});
    const keys = resourcesOf(template, 'AWS::ApiGateway::UsagePlanKey').map(([, k]) => [
      k.Properties.KeyId.Ref,
      k.Properties.UsagePlanId.Ref,
    ]);
    expect(keys.sort()).toEqual(
      [
        [logicalIdOf(stack, api.webApiKey!), logicalIdOf(stack, api.webPlan!)],
        [logicalIdOf(stack, api.clientApiKey), logicalIdOf(stack, api.defaultPlan)],
        [logicalIdOf(stack, api.peopleApiKey), logicalIdOf(stack, api.peoplePlan)],
        [logicalIdOf(stack, api.programsApiKey), logicalIdOf(stack, api.programsPlan)],
      ].sort(),
    );
    // Key values clients send are generated by API Gateway, never written into the template; only the People and
    // Programs keys' values are (the authorizer names them; under apiKeySource AUTHORIZER a client sending one gains nothing).
    for (const [id, key] of resourcesOf(template, 'AWS::ApiGateway::ApiKey')) {
      if (id === logicalIdOf(stack, api.peopleApiKey)) expect(key.Properties.Value).toBe(api.peopleUsageKey);
      else if (id === logicalIdOf(stack, api.programsApiKey)) expect(key.Properties.Value).toBe(api.programsUsageKey);
      else expect(key.Properties.Value).toBeUndefined();
    }
    for (const value of [api.peopleUsageKey, api.programsUsageKey]) expect(value.length).toBeGreaterThanOrEqual(20);
    expect(api.programsUsageKey).not.toBe(api.peopleUsageKey);
    expect([api.peopleUsageKey, api.programsUsageKey]).toEqual([build().api.peopleUsageKey, build().api.programsUsageKey]);
  });

  it('gives the authorizer the key registry, the People key value and, with an identity, the OIDC issuer settings', () => {
    const envOf = (b: ReturnType<typeof build>) =>
      Object.fromEntries(
        resourcesOf(b.template, 'AWS::Lambda::Function')
          .filter(([id]) => id === logicalIdOf(b.stack, b.api.authorizerFunction.fn))
          .map(([, f]) => f.Properties.Environment.Variables as Record<string, Loose>)
          .flatMap((vars) => Object.entries(vars)),
      );
    const plain = envOf({ stack, api, template });
    expect(plain.PEOPLE_USAGE_KEY).toBe(api.peopleUsageKey);
    expect(plain.PROGRAMS_USAGE_KEY).toBe(api.programsUsageKey);
    expect(plain.KEY_TABLE_NAME).toBeDefined();
    // Without an identity bearer tokens are refused: no issuer at all.
    expect(Object.keys(plain).filter((k) => k.startsWith('OIDC_'))).toEqual([]);
    const identity = {
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
      audience: 'client123',
      groupsClaim: 'cognito:groups',
      adminGroup: 'admins',
    };
    const withIdentity = envOf(build({ identity }));
    expect(withIdentity).toMatchObject({
      OIDC_ISSUER: identity.issuer,
      OIDC_AUDIENCE: 'client123',
      OIDC_GROUPS_CLAIM: 'cognito:groups',
      OIDC_ADMIN_GROUP: 'admins',
    });
    expect(withIdentity).not.toHaveProperty('OIDC_JWKS_URI');
    // Loopback http is local mode's business only: the template never allows it.
    expect(withIdentity).not.toHaveProperty('OIDC_ALLOW_LOOPBACK_HTTP');
    expect(envOf(build({ identity: { ...identity, jwksUri: 'https://idp.example/keys' } })).OIDC_JWKS_URI).toBe('https://idp.example/keys');
  });

  it('takes plan limits from its props', () => {
    const b = build({
      webPlan: { rateLimit: 1, burstLimit: 2, quotaPerDay: 100 },
      peoplePlan: { rateLimit: 3, burstLimit: 6, quotaPerDay: 300 },
      programsPlan: { rateLimit: 4, burstLimit: 9, quotaPerDay: 400 },
      throttle: { rateLimit: 7, burstLimit: 8 },
    });
    b.template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'Api-programs',
      Throttle: { RateLimit: 4, BurstLimit: 9 },
      Quota: { Limit: 400 },
    });
    b.template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'Api-people',
      Throttle: { RateLimit: 3, BurstLimit: 6 },
      Quota: { Limit: 300 },
    });
    b.template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 1, BurstLimit: 2 }, Quota: { Limit: 100 } });
    b.template.hasResourceProperties('AWS::ApiGateway::Stage', { MethodSettings: [{ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 8 }] });
  });

  it('has no WAF by default, and a per-IP rate-based rule on the stage when configured', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    const b = build({ wafRateLimit: 500 });
    b.template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [{ Name: 'RateLimitPerIp', Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP' } } }],
    });
    const [, assoc] = resourcesOf(b.template, 'AWS::WAFv2::WebACLAssociation')[0]!;
    expect(flatten(assoc!.Properties.ResourceArn)).toMatch(
      /^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}::\/restapis\/.+\/stages\/.+$/,
    );
  });

  it('grants each function only what its route needs', () => {
    const s3 = (name: keyof typeof api.functions) =>
      statementsOfRole(template, logicalIdOf(stack, api.functions[name].role))
        .filter((s) => String(s.Action).startsWith('s3:'))
        .map((s) => `${s.Action} ${flatten(s.Resource).replace(/^\$\{[^}]+\}/, '<bucket>')}`)
        .sort();
    const writesTable = (name: keyof typeof api.functions) =>
      statementsOfRole(template, logicalIdOf(stack, api.functions[name].role)).some((s) =>
        JSON.stringify(s.Action).includes('dynamodb:PutItem'),
      );
    expect(s3('createJob')).toEqual(['s3:PutObject <bucket>/bundles/*']);
    expect(s3('getResult')).toEqual(['s3:GetObject <bucket>/results/*']);
    expect(s3('deleteJob')).toEqual(['s3:DeleteObject <bucket>/bundles/*', 's3:DeleteObject <bucket>/results/*']);
    expect(s3('getJob')).toEqual([]);
    expect(s3('listJobs')).toEqual([]);
    expect(s3('health')).toEqual([]);
    expect(s3('getLogs')).toEqual(['s3:GetObject <bucket>/results/*']);
    expect(writesTable('getLogs')).toBe(false);
    expect([writesTable('createJob'), writesTable('deleteJob')]).toEqual([true, true]);
    expect([writesTable('getJob'), writesTable('listJobs'), writesTable('getResult'), writesTable('health')]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(
      statementsOfRole(template, logicalIdOf(stack, api.functions.health.role)).some((s) => JSON.stringify(s.Action).includes('dynamodb')),
    ).toBe(false);
  });

  it('grants the admin readers GetItem and Query on the named admin indexes only: no Scan, no index wildcard, no writes', () => {
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.startsWith('JobTable'))!;
    for (const name of ['adminListJobs', 'adminJobCounts', 'adminGetJob'] as const) {
      const dynamo = statementsOfRole(template, logicalIdOf(stack, api.functions[name].role)).filter((s) =>
        [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')),
      );
      const grants = dynamo
        .map(
          (s) =>
            `${[s.Action].flat().sort().join(',')} ${[s.Resource]
              .flat()
              .map((r: Loose) => flatten(r))
              .join(',')}`,
        )
        .sort();
      expect(grants, name).toEqual([
        `dynamodb:GetItem \${${tableId}.Arn}`,
        `dynamodb:Query \${${tableId}.Arn}/index/${TABLE.statusIndex},\${${tableId}.Arn}/index/${TABLE.codeIndex},\${${tableId}.Arn}/index/${TABLE.ownerIndex},\${${tableId}.Arn}/index/${TABLE.monthIndex}`,
      ]);
    }
  });

  it('lets the admin actions append to the audit trail (PutItem only) and the audit lister Query it; no one else reaches it', () => {
    const auditId = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.startsWith('AuditTrail'))!;
    const auditGrants = (name: keyof typeof api.functions) =>
      statementsOfRole(template, logicalIdOf(stack, api.functions[name].role))
        .filter((s) => JSON.stringify(s.Resource).includes(auditId))
        .map((s) => [s.Action].flat().sort().join(','));
    expect(auditGrants('adminCancelJob')).toEqual(['dynamodb:PutItem']);
    expect(auditGrants('adminDeleteJob')).toEqual(['dynamodb:PutItem']);
    expect(auditGrants('adminListAudit')).toEqual(['dynamodb:Query']);
    const appenders = [
      'adminCreateKey',
      'adminDisableKey',
      'adminEnableKey',
      'adminRotateKey',
      'adminDeleteKey',
      'adminPutPerson',
    ] as const;
    for (const name of appenders) expect(auditGrants(name), name).toEqual(['dynamodb:PutItem']);
    const auditing: readonly string[] = ['adminCancelJob', 'adminDeleteJob', 'adminListAudit', ...appenders];
    for (const route of API_ROUTES.filter((r) => !auditing.includes(r.handler))) {
      expect(auditGrants(route.handler), route.handler).toEqual([]);
    }
    const env = (name: keyof typeof api.functions) =>
      template.toJSON().Resources[logicalIdOf(stack, api.functions[name].fn)].Properties.Environment.Variables as Record<string, Loose>;
    for (const name of ['adminCancelJob', 'adminDeleteJob', 'adminListAudit'] as const) {
      expect(env(name)[LAMBDA_ENV.AUDIT_TABLE_NAME], name).toEqual({ Ref: auditId });
    }
  });

  it('gives the key, people and usage routes exactly their key registry actions, capacity reads by batch, and no apigateway:* anywhere', () => {
    const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    const registryId = tables.find((id) => id.startsWith('KeyRegistry'))!;
    const jobTableId = tables.find((id) => id.startsWith('JobTable'))!;
    const grantsOn = (name: keyof typeof api.functions, tableId: string) =>
      statementsOfRole(template, logicalIdOf(stack, api.functions[name].role))
        .filter((s) => JSON.stringify(s.Resource).includes(tableId))
        .map(
          (s) =>
            `${[s.Action].flat().sort().join(',')} ${[s.Resource]
              .flat()
              .map((r: Loose) => flatten(r).replace(`\${${tableId}.Arn}`, '<table>'))
              .join(',')}`,
        )
        .sort();
    const index = `<table>/index/${KEY_TABLE.principalIndex}`;
    expect(grantsOn('adminListKeys', registryId)).toEqual(['dynamodb:Query ' + index, 'dynamodb:Scan <table>']);
    expect(grantsOn('adminListPeople', registryId)).toEqual(['dynamodb:Query ' + index, 'dynamodb:Scan <table>']);
    expect(grantsOn('adminCreateKey', registryId)).toEqual(['dynamodb:PutItem <table>', 'dynamodb:Query ' + index]);
    for (const name of ['adminDisableKey', 'adminEnableKey', 'adminPutPerson'] as const) {
      expect(grantsOn(name, registryId), name).toEqual(['dynamodb:UpdateItem <table>']);
    }
    expect(grantsOn('adminRotateKey', registryId)).toEqual(['dynamodb:DeleteItem,dynamodb:GetItem,dynamodb:PutItem <table>']);
    expect(grantsOn('adminDeleteKey', registryId)).toEqual(['dynamodb:DeleteItem <table>']);
    expect(grantsOn('adminUsage', registryId)).toEqual(['dynamodb:Query ' + index]);
    const registryUsers: readonly string[] = [
      ...['adminListKeys', 'adminListPeople', 'adminCreateKey', 'adminDisableKey', 'adminEnableKey'],
      ...['adminRotateKey', 'adminDeleteKey', 'adminPutPerson', 'adminUsage'],
    ];
    for (const route of API_ROUTES.filter((r) => !registryUsers.includes(r.handler)))
      expect(grantsOn(route.handler, registryId), route.handler).toEqual([]);
    // The job table: capacity items by BatchGetItem for key views; usage Queries byCreatedMonth; the log reader gets one job.
    for (const name of [
      'adminListKeys',
      'adminCreateKey',
      'adminDisableKey',
      'adminEnableKey',
      'adminRotateKey',
      'adminDeleteKey',
    ] as const) {
      expect(grantsOn(name, jobTableId), name).toEqual(['dynamodb:BatchGetItem <table>']);
    }
    expect(grantsOn('adminUsage', jobTableId)).toEqual([`dynamodb:Query <table>/index/${TABLE.monthIndex}`]);
    expect(grantsOn('adminGetJobLog', jobTableId)).toEqual(['dynamodb:GetItem <table>']);
    expect(grantsOn('adminListPeople', jobTableId)).toEqual([]);
    expect(grantsOn('adminPutPerson', jobTableId)).toEqual([]);
    // Admin-made keys are no API Gateway keys: no function may manage API Gateway.
    const roles = [...Object.values(api.functions).map((f) => f.role), api.authorizerFunction.role];
    for (const role of roles) {
      const actions = statementsOfRole(template, logicalIdOf(stack, role)).flatMap((s) => [s.Action].flat() as string[]);
      expect(actions.filter((a) => a.startsWith('apigateway:'))).toEqual([]);
    }
  });

  it('lets get-job hold a long poll: its timeout exceeds the longest wait and ends before the gateway’s 29 s', () => {
    const timeoutOf = (handler: (typeof API_ROUTES)[number]['handler']) =>
      template.toJSON().Resources[logicalIdOf(stack, api.functions[handler].fn)].Properties.Timeout as number;
    expect(timeoutOf('getJob')).toBeGreaterThan(MAX_JOB_WAIT_SECONDS);
    expect(timeoutOf('getJob')).toBeLessThan(INTEGRATION_TIMEOUT_SECONDS);
    // No method shortens the gateway's integration timeout below the wait.
    for (const method of Object.values(methods)) {
      const timeout = method.Integration?.TimeoutInMillis as number | undefined;
      expect(timeout === undefined || timeout >= (MAX_JOB_WAIT_SECONDS + 5) * 1000).toBe(true);
    }
    expect(timeoutOf('listJobs')).toBe(10);
  });

  it('tells the functions which browser origin may read their responses', () => {
    for (const r of API_ROUTES) {
      const fn = template.toJSON().Resources[logicalIdOf(stack, api.functions[r.handler].fn)].Properties;
      expect(fn.Environment.Variables.CORS_ALLOW_ORIGINS).toBe(SITE);
    }
  });
});
