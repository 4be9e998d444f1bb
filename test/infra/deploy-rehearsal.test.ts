/**
 * The synthesized template checked the way deploy day will, offline: the
 * state machine definition is valid ASL (asl-validator), every IAM statement
 * on Resource "*" is one AWS (or a CDK-managed construct) requires and is
 * listed here with why, the AWS Control Tower proactive controls (cfn-guard,
 * through @cdklabs/cdk-validator-cfnguard) find nothing unacknowledged, and the
 * account rehearsal app (scripts/account-rehearsal.ts) still synthesizes with
 * every output it reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, type IPolicyValidationContextBeta1 } from 'aws-cdk-lib';
import validateAsl from 'asl-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lib/config';
import { K2pWebStack } from '../../lib/k2p-web-stack';
import { loadStackModel } from '../../local/model/stack-model';
import { buildRunner } from '../../runner/build';
import { REHEARSAL_OUTPUTS, REHEARSAL_STACK, rehearsalApp } from '../../scripts/account-rehearsal';
import type { Loose } from './fixtures';

const TIMEOUT = 600_000;

/** A logical id without its CDK hash suffix, so entries survive unrelated changes. */
const withoutHash = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

/**
 * Every IAM statement on Resource "*": (policy, actions) → why AWS requires it.
 * A statement that is not here fails the test: scope it, or add it with its reason.
 */
const WILDCARD_RESOURCES: { policy: RegExp; actions: string[]; reason: string }[] = [
  {
    policy: /RoleDefaultPolicy$/,
    actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    reason: 'Lambda active tracing: X-Ray trace and telemetry uploads have no resource-level permissions, AWS requires "*".',
  },
  {
    policy: /^ConversionStateMachineRoleDefaultPolicy$/,
    actions: ['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    reason: 'Step Functions tracing: the X-Ray actions have no resource-level permissions, AWS requires "*".',
  },
  {
    policy: /^ConversionStateMachineRoleDefaultPolicy$/,
    actions: [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
    ],
    reason: 'Step Functions logging to CloudWatch Logs: AWS documents these log-delivery actions as requiring Resource "*".',
  },
  {
    policy: /^ConversionStateMachineRoleDefaultPolicy$/,
    actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
    reason:
      'The .sync ECS integration describes and stops the task it started, whose ARN exists only at run time; aws-cdk-lib (EcsRunTask) grants both on "*".',
  },
  {
    policy: /^ConversionExecutionRoleDefaultPolicy$/,
    actions: ['ecr:GetAuthorizationToken'],
    reason:
      'Pulling the runner image: ecr:GetAuthorizationToken has no resource-level permissions, AWS requires "*" (the pull itself is scoped to the repository).',
  },
  {
    policy: /^NetworkS3PrefixListLookupCustomResourcePolicy$/,
    actions: ['ec2:DescribePrefixLists'],
    reason: 'EC2 Describe* actions have no resource-level permissions: AWS requires "*" (the S3 prefix list lookup at deploy time).',
  },
  {
    policy: /^CustomCDKBucketDeployment.*ServiceRoleDefaultPolicy$/,
    actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
    reason: 'BucketDeployment (CDK-managed) invalidates the site distribution after a deploy; aws-cdk-lib grants both on "*".',
  },
];

/** Control Tower proactive controls (rule name) → why this stack does not follow it, and on which resources. */
const GUARD_ACKNOWLEDGED: Record<string, { resources: RegExp; reason: string }> = {
  cloudfront_origin_failover_enabled_check: {
    resources: /^WebsiteDistribution$/,
    reason:
      'A static page from one private bucket; a failover origin needs a second bucket in another region for a page that can be redeployed in minutes.',
  },
  cloudfront_custom_ssl_certificate_check: {
    resources: /^WebsiteDistribution$/,
    reason:
      'Served on the default *.cloudfront.net certificate; a custom domain with an ACM certificate is an operator choice outside this template.',
  },
  cloudfront_sni_enabled_check: {
    resources: /^WebsiteDistribution$/,
    reason: 'SNI applies to a custom certificate only; the default *.cloudfront.net certificate has none to configure.',
  },
  cloudfront_security_policy_check: {
    resources: /^WebsiteDistribution$/,
    reason: 'CloudFront fixes the TLS policy of the default *.cloudfront.net certificate; a custom domain can set TLSv1.2_2021.',
  },
  cloudwatch_log_group_retention_period_check: {
    resources: /Logs/,
    reason:
      'Retention is the logRetentionDays setting (default 30 days): the logs hold job ids and principals, so keeping them a year is the operator’s decision, not a default.',
  },
  cloudwatch_log_group_encrypted_check: {
    resources: /Logs/,
    reason:
      'CloudWatch Logs encrypts every log group at rest with service keys; no key value or token is ever logged (tested), so a customer KMS key adds cost without protecting a secret.',
  },
  dynamodb_table_encrypted_kms_check: {
    resources: /^JobTable$/,
    reason:
      'Encrypted at rest with the AWS owned key; the table holds job metadata, no secrets (webhook secrets and key values are never stored in clear).',
  },
  ecs_task_definition_memory_hard_limit_check: {
    resources: /^ConversionTaskDefinition$/,
    reason: 'Fargate enforces the task-level memory (taskMemoryMiB) as the hard limit of the single container.',
  },
  lambda_function_public_access_prohibited_check: {
    resources: /^Api(RestApi.*ApiPermission|AuthorizerFunction.*Permissions)/,
    reason:
      'Invoke permissions for the API Gateway service principal, each scoped by SourceArn to this API (aws-cdk-lib LambdaIntegration and the authorizer): not public.',
  },
  lambda_inside_vpc_check: {
    resources: /Function|Handler|Provider|AWS679f53fac002430cb0da5b7982bd2287|CustomCDKBucketDeployment/,
    reason:
      'The functions call only IAM-authorized AWS APIs (and the webhook sender, receivers on the internet); only the untrusted converter runs in the VPC, without egress. A VPC for the functions would add NAT cost and no protection.',
  },
  s3_bucket_default_encryption_kms_check: {
    resources: /^(StorageAccessLogs|StorageDataBucket|WebsiteSiteBucket)$/,
    reason:
      'SSE-S3 with TLS enforced: server access logs can only be delivered to SSE-S3 buckets, and presigned browser uploads and CloudFront would need KMS grants for no added protection.',
  },
  s3_bucket_versioning_enabled_check: {
    resources: /^(StorageAccessLogs|StorageDataBucket|WebsiteSiteBucket)$/,
    reason:
      'Bundles and results must be gone when their retention ends or the user deletes the job (versions would keep them); the site is redeployed from source; logs are append-only.',
  },
  s3_bucket_logging_enabled_check: {
    resources: /^StorageAccessLogs$/,
    reason: 'This is the access-log bucket itself: logging it into itself would log its own log writes.',
  },
  s3_event_notifications_enabled_check: {
    resources: /^(StorageAccessLogs|StorageDataBucket|WebsiteSiteBucket)$/,
    reason:
      'The data bucket notifies the validator through Custom::S3BucketNotifications, which the rule cannot see; the log and site buckets have no one to notify.',
  },
  s3_bucket_acl_prohibited_check: {
    resources: /^StorageAccessLogs$/,
    reason: 'CloudFront standard logging delivers with ACLs, so the access-log bucket must allow them (BucketOwnerPreferred).',
  },
  s3_lifecycle_policy_check: {
    resources: /^WebsiteSiteBucket$/,
    reason: 'The site bucket holds the current page only: every deploy replaces it and prunes the rest.',
  },
  s3_bucket_object_lock_enabled_check: {
    resources: /^(StorageAccessLogs|StorageDataBucket|WebsiteSiteBucket)$/,
    reason: 'Object Lock forbids the deletions the service promises (retention, DELETE /jobs/{id}, pruned deploys).',
  },
  sqs_dlq_check: {
    resources: /^ValidationFailureQueue$/,
    reason: 'This queue is itself the dead-letter destination of the validator’s failed asynchronous invocations.',
  },
};

type TemplateJson = { Resources: Record<string, Loose>; Outputs?: Record<string, unknown> };

function wildcardStatements(template: TemplateJson): { policy: string; actions: string[] }[] {
  const found: { policy: string; actions: string[] }[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const documents: Loose[] = [];
    if (['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type)) documents.push(resource.Properties.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role')
      documents.push(...((resource.Properties.Policies ?? []) as Loose[]).map((p) => p.PolicyDocument));
    for (const statement of documents.flatMap((d) => d.Statement as Loose[])) {
      if (statement.Effect !== 'Allow' || ![statement.Resource].flat().includes('*')) continue;
      found.push({ policy: withoutHash(logicalId), actions: [statement.Action].flat().map(String).sort() });
    }
  }
  return found;
}

function unlisted(template: TemplateJson): string[] {
  return wildcardStatements(template)
    .filter(({ policy, actions }) => !WILDCARD_RESOURCES.some((w) => w.policy.test(policy) && w.actions.join() === actions.join()))
    .map(({ policy, actions }) => `${policy}: ${actions.join(', ')} on "*"`);
}

describe('deploy rehearsal, offline', () => {
  let outdir: string;
  let template: TemplateJson;
  let rehearsal: TemplateJson;

  beforeAll(async () => {
    await buildRunner();
    outdir = mkdtempSync(join(tmpdir(), 'k2p-rehearsal-'));
    const app = new App({ outdir: join(outdir, 'product') });
    new K2pWebStack(app, 'K2pWeb', { config: resolveConfig() });
    template = app.synth().getStackByName('K2pWeb').template as TemplateJson;
    const other = rehearsalApp({ outdir: join(outdir, 'rehearsal') });
    rehearsal = other.app.synth().getStackByName(REHEARSAL_STACK).template as TemplateJson;
  }, TIMEOUT);
  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('the state machine definition is valid Amazon States Language', () => {
    const model = loadStackModel({ cdkOut: join(outdir, 'product'), stackName: 'K2pWeb', webHost: '127.0.0.1:8780' });
    expect(model.stateMachines.length).toBeGreaterThan(0);
    for (const machine of model.stateMachines) {
      const result = validateAsl(structuredClone(machine.definition), { checkPaths: true, checkArn: true });
      expect(result.errors, machine.logicalId).toEqual([]);
      expect(result.isValid).toBe(true);
    }
  });

  it('ASL validation catches a broken definition (the check can fail)', () => {
    const model = loadStackModel({ cdkOut: join(outdir, 'product'), stackName: 'K2pWeb', webHost: '127.0.0.1:8780' });
    const broken = structuredClone(model.stateMachines[0]!.definition) as Loose;
    broken.StartAt = 'NoSuchState';
    expect(validateAsl(broken).isValid).toBe(false);
  });

  it('every IAM statement on Resource "*" is listed with the reason AWS requires it', () => {
    expect(unlisted(template)).toEqual([]);
    expect(unlisted(rehearsal)).toEqual([]);
    // Every listed entry still matches something: a stale entry is removed, not kept as a blank cheque.
    const seen = wildcardStatements(template);
    for (const entry of WILDCARD_RESOURCES)
      expect(
        seen.some((s) => entry.policy.test(s.policy) && entry.actions.join() === s.actions.join()),
        entry.reason,
      ).toBe(true);
  });

  it('a new wildcard statement fails the inventory', () => {
    const extra: TemplateJson = structuredClone(template);
    extra.Resources.SneakyPolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] } },
    };
    expect(unlisted(extra)).toEqual(['SneakyPolicy: s3:GetObject on "*"']);
  });

  it(
    'the Control Tower proactive controls (cfn-guard) find nothing unacknowledged',
    () => {
      const path = join(outdir, 'guard.template.json');
      writeFileSync(path, JSON.stringify(template));
      const report = new CfnGuardValidator().validate({ templatePaths: [path] } as unknown as IPolicyValidationContextBeta1);
      const findings = report.violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ rule: v.ruleName, resource: withoutHash(r.resourceLogicalId) })),
      );
      // The guard binary ran and judged this template (it finds, among others, the acknowledged default certificate).
      expect(findings.length).toBeGreaterThan(0);
      const open = findings.filter((f) => !GUARD_ACKNOWLEDGED[f.rule]?.resources.test(f.resource)).map((f) => `${f.rule} at ${f.resource}`);
      expect(open).toEqual([]);
      const stale = Object.keys(GUARD_ACKNOWLEDGED).filter((rule) => !findings.some((f) => f.rule === rule));
      expect(stale).toEqual([]);
    },
    TIMEOUT,
  );

  it('the account rehearsal app synthesizes, with every output the rehearsal reads and everything deleted with it', () => {
    for (const name of REHEARSAL_OUTPUTS) expect(Object.keys(rehearsal.Outputs ?? {})).toContain(name);
    // API Gateway's CloudWatch role is a per-region account setting that other APIs may rely on: aws-cdk-lib retains it.
    const accountSetting = Object.entries(rehearsal.Resources).find(([, r]) => r.Type === 'AWS::ApiGateway::Account');
    const accountRole = accountSetting?.[1].Properties.CloudWatchRoleArn?.['Fn::GetAtt']?.[0];
    const retained = Object.entries(rehearsal.Resources)
      .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.UpdateReplacePolicy === 'Retain')
      .map(([id]) => id)
      .filter((id) => id !== accountSetting?.[0] && id !== accountRole);
    expect(retained).toEqual([]);
  });
});
