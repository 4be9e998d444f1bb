import { describe, expect, it } from 'vitest';
import { Token } from 'aws-cdk-lib';
import { BUNDLE_LIMIT_ENV, SERVICE_LIMIT_ENV } from '../../core/limits';
import { SERVICE_NODE_MAJOR } from '../../core/runtime-contract';
import { HANDLERS, LAMBDA_ENV } from '../../core/service-env';
import { flatten, fullStack, logicalIdOf, resourcesOf } from './fixtures';
import type { Loose } from './fixtures';

describe('K2pWebStack', () => {
  const { stack, template } = fullStack();
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Loose> }>;
  const serviceFunctions = {
    createJob: stack.api.functions.createJob,
    getJob: stack.api.functions.getJob,
    listJobs: stack.api.functions.listJobs,
    getResult: stack.api.functions.getResult,
    deleteJob: stack.api.functions.deleteJob,
    health: stack.api.functions.health,
    cancelJob: stack.api.functions.cancelJob,
    taskStopped: stack.taskStopEvents.function,
    validateUpload: stack.validation.function,
    prepareRun: stack.conversion.prepareRun,
    recordOutcome: stack.conversion.recordOutcome,
    reaper: stack.reaper.function,
    getWebhook: stack.api.functions.getWebhook,
    putWebhook: stack.api.functions.putWebhook,
    rotateWebhookSecret: stack.api.functions.rotateWebhookSecret,
    deliverWebhooks: stack.webhooks.sender,
    getLogs: stack.api.functions.getLogs,
    authorizer: stack.api.authorizerFunction,
    getMe: stack.api.functions.getMe,
    adminListJobs: stack.api.functions.adminListJobs,
    adminJobCounts: stack.api.functions.adminJobCounts,
    adminGetJob: stack.api.functions.adminGetJob,
    adminCancelJob: stack.api.functions.adminCancelJob,
    adminDeleteJob: stack.api.functions.adminDeleteJob,
    adminListAudit: stack.api.functions.adminListAudit,
    adminGetJobLog: stack.api.functions.adminGetJobLog,
    adminListKeys: stack.api.functions.adminListKeys,
    adminCreateKey: stack.api.functions.adminCreateKey,
    adminDisableKey: stack.api.functions.adminDisableKey,
    adminEnableKey: stack.api.functions.adminEnableKey,
    adminRotateKey: stack.api.functions.adminRotateKey,
    adminDeleteKey: stack.api.functions.adminDeleteKey,
    adminListPeople: stack.api.functions.adminListPeople,
    adminPutPerson: stack.api.functions.adminPutPerson,
    adminUsage: stack.api.functions.adminUsage,
  };

  it('creates one function per handler', () => {
    expect(Object.keys(serviceFunctions).sort()).toEqual(Object.keys(HANDLERS).sort());
  });

  it(`runs every function on Node.js ${SERVICE_NODE_MAJOR} / ARM with tracing, JSON logs into its own log group with retention`, () => {
    for (const [name, sf] of Object.entries(serviceFunctions)) {
      const fn = resources[logicalIdOf(stack, sf.fn)]!.Properties;
      expect({ name, runtime: fn.Runtime, arch: fn.Architectures, tracing: fn.TracingConfig }).toEqual({
        name,
        runtime: `nodejs${SERVICE_NODE_MAJOR}.x`,
        arch: ['arm64'],
        tracing: { Mode: 'Active' },
      });
      expect(fn.LoggingConfig).toEqual({ LogFormat: 'JSON', LogGroup: { Ref: logicalIdOf(stack, sf.logGroup) } });
      expect(resources[logicalIdOf(stack, sf.logGroup)]!.Properties.RetentionInDays).toBe(30);
      // Its own role, with no managed policy (no AWSLambdaBasicExecutionRole and its logs:* on "*").
      const role = resources[logicalIdOf(stack, sf.role)]!.Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(fn.Role).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack, sf.role), 'Arn'] });
    }
  });

  it('gives every function the service environment: names, versions, Powertools and every limit', () => {
    for (const [name, sf] of Object.entries(serviceFunctions)) {
      const env = resources[logicalIdOf(stack, sf.fn)]!.Properties.Environment.Variables;
      expect(env[LAMBDA_ENV.JOBS_TABLE_NAME]).toEqual({ Ref: logicalIdOf(stack, stack.jobTable.table) });
      expect(env[LAMBDA_ENV.DATA_BUCKET_NAME]).toEqual({ Ref: logicalIdOf(stack, stack.storage.dataBucket) });
      expect(env[LAMBDA_ENV.SERVICE_VERSION]).toBe('9.9.9-test');
      expect(env[LAMBDA_ENV.CONVERTER_IMAGE]).toBe('ghcr.io/vitalii-kaplan/knime2py:v0.1.11');
      expect(env[LAMBDA_ENV.CONVERTER_VERSION]).toBe('0.1.11');
      expect(env.POWERTOOLS_SERVICE_NAME).toBe('k2p-web');
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('K2pWeb');
      for (const v of [...Object.values(BUNDLE_LIMIT_ENV), ...Object.values(SERVICE_LIMIT_ENV)])
        expect({ name, v, set: typeof env[v] }).toEqual({ name, v, set: 'string' });
      // Cancel and delete (the owner's and the admin's) stop executions (states:StopExecution) of running jobs.
      const needsMachine = ['validateUpload', 'reaper', 'cancelJob', 'deleteJob', 'adminCancelJob', 'adminDeleteJob'].includes(name);
      expect({ name, machine: env[LAMBDA_ENV.STATE_MACHINE_ARN] !== undefined }).toEqual({ name, machine: needsMachine });
    }
  });

  it('grants no wildcard action and no admin rights anywhere', () => {
    for (const [id, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      for (const s of policy.Properties.PolicyDocument.Statement) {
        if (s.Effect !== 'Allow') continue;
        for (const action of [s.Action].flat() as string[]) {
          expect({ id, action, wildcardService: /^[a-z0-9-]+:\*$|^\*$/.test(action) }).toEqual({ id, action, wildcardService: false });
        }
      }
    }
  });

  it('lets only the site origin (and configured dev origins) call the API and the bucket from a browser', () => {
    const site = `https://\${${logicalIdOf(stack, stack.website.distribution)}.DomainName}`;
    const bucket = resources[logicalIdOf(stack, stack.storage.dataBucket)]!.Properties;
    expect(bucket.CorsConfiguration.CorsRules[0].AllowedOrigins.map(flatten)).toEqual([site]);
    expect(flatten(resources[logicalIdOf(stack, stack.api.functions.getJob.fn)]!.Properties.Environment.Variables.CORS_ALLOW_ORIGINS)).toBe(
      site,
    );
    const dev = fullStack({ devOrigins: ['http://localhost:5173'] });
    const devBucket = dev.template.toJSON().Resources[logicalIdOf(dev.stack, dev.stack.storage.dataBucket)].Properties;
    expect(devBucket.CorsConfiguration.CorsRules[0].AllowedOrigins.map(flatten)).toEqual([
      `https://\${${logicalIdOf(dev.stack, dev.stack.website.distribution)}.DomainName}`,
      'http://localhost:5173',
    ]);
  });

  it('names the data bucket from stack, account and region, the same host the CSP allows', () => {
    const bucket = resources[logicalIdOf(stack, stack.storage.dataBucket)]!.Properties;
    expect(flatten(bucket.BucketName)).toBe('k2pweb-data-${AWS::AccountId}-${AWS::Region}');
    const csp =
      resources[logicalIdOf(stack, stack.website.headersPolicy)]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig
        .ContentSecurityPolicy.ContentSecurityPolicy;
    expect(flatten(csp)).toContain('https://k2pweb-data-${AWS::AccountId}-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}');
    expect(flatten(csp)).toContain(`https://\${${logicalIdOf(stack, stack.api.api)}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}`);
  });

  it('outputs the API URL, key ids and the sign-in (user pool, client, domain, issuer), never a key value', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'SiteUrl',
        'ClientApiKeyId',
        'DefaultUsagePlanId',
        'AlarmTopicArn',
        'DashboardName',
        'UserPoolId',
        'UserPoolClientId',
        'SignInDomain',
        'Issuer',
      ]),
    );
    // Anonymous access is off by default: there is no public web key to name.
    expect(outputs.WebApiKeyId).toBeUndefined();
    expect(outputs.ClientApiKeyId!.Value).toEqual({ Ref: logicalIdOf(stack, stack.api.clientApiKey) });
    expect(outputs.UserPoolClientId!.Value).toEqual({ Ref: logicalIdOf(stack, stack.identity.client!) });
    expect(JSON.stringify(outputs)).not.toMatch(/WebApiKeyValue|"value"/);

    const anonymous = fullStack({ anonymousAccess: true });
    const anonymousOutputs = anonymous.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(anonymousOutputs.WebApiKeyId!.Value).toEqual({ Ref: logicalIdOf(anonymous.stack, anonymous.stack.api.webApiKey!) });
    expect(JSON.stringify(anonymousOutputs)).not.toMatch(/WebApiKeyValue|"value"/);
  });

  it('is environment-agnostic and takes its sizes from the configuration', () => {
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    expect(Token.isUnresolved(stack.account) && Token.isUnresolved(stack.region)).toBe(true);
    const small = fullStack({ azCount: 1, taskCpu: 1024, taskMemoryMiB: 4096, validateConcurrency: 3 });
    small.template.resourceCountIs('AWS::EC2::Subnet', 1);
    small.template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '1024', Memory: '4096' });
    small.template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
  });

  it('keeps data by default and can be told to delete it with the stack', () => {
    expect(template.toJSON().Resources[logicalIdOf(stack, stack.storage.dataBucket)].DeletionPolicy).toBe('Retain');
    const destroy = fullStack({ removalPolicy: 'destroy' });
    const r = destroy.template.toJSON().Resources;
    expect(r[logicalIdOf(destroy.stack, destroy.stack.storage.dataBucket)].DeletionPolicy).toBe('Delete');
    expect(r[logicalIdOf(destroy.stack, destroy.stack.jobTable.table)].DeletionPolicy).toBe('Delete');
  });
});
