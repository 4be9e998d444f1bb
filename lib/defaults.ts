/**
 * Secure defaults gathered in one visible place: every construct takes its
 * runtime, bucket, queue and log settings from here, so a reviewer can check
 * the security posture without reading each construct.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { LAMBDA_RUNTIME_NAME, SERVICE_ESBUILD_TARGET } from '../core/runtime-contract';
import type { RemovalPolicyName } from './config';

/** Repository root: handler entries (core/service-env.ts HANDLERS) and runner/ are relative to it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Lambda runtime of every function: the service's one Node.js major (core/runtime-contract.ts). */
export const LAMBDA_RUNTIME = lambdaRuntime(LAMBDA_RUNTIME_NAME);

/** Graviton: cheaper per GB-second and what the bundles are built for. */
export const LAMBDA_ARCHITECTURE = lambda.Architecture.ARM_64;

/** esbuild target matching {@link LAMBDA_RUNTIME}. */
export const ESBUILD_TARGET = SERVICE_ESBUILD_TARGET;

/** aws-cdk-lib's own Runtime object for `name` (it carries the bundling image and inline-code support). */
function lambdaRuntime(name: string): lambda.Runtime {
  const runtime = lambda.Runtime.ALL.find((r) => r.name === name);
  if (!runtime) throw new Error(`aws-cdk-lib knows no Lambda runtime ${name}; update aws-cdk-lib or core/runtime-contract.ts`);
  return runtime;
}

/**
 * ESM bundles still meet CommonJS dependencies that call require() on Node
 * built-ins; this banner gives them a require bound to the bundle.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __k2pCreateRequire } from 'node:module'; const require = __k2pCreateRequire(import.meta.url);";

/** Maps the configuration's removal policy for data (buckets, table). */
export function dataRemovalPolicy(name: RemovalPolicyName): RemovalPolicy {
  return name === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}

/**
 * What every table of the stack shares: on demand, point-in-time recovery, and deletion protection whenever the
 * table is retained (so `cdk destroy` and a console click cannot drop retained data).
 */
export function durableTableProps(removalPolicy: RemovalPolicy) {
  return {
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    removalPolicy,
  } satisfies Partial<dynamodb.TableProps>;
}

/** Log groups hold ids and codes, never bundle contents: they go with the stack. */
export const LOG_REMOVAL_POLICY = RemovalPolicy.DESTROY;

/** Converts the configured day count to the CloudWatch enum (validated in config.ts). */
export function logRetention(days: number): logs.RetentionDays {
  return days as logs.RetentionDays;
}

/** Access-log retention of the server/CloudFront access-log bucket. */
export const ACCESS_LOG_RETENTION = Duration.days(90);

/** Incomplete multipart uploads are aborted after this long on every bucket. */
export const ABORT_INCOMPLETE_UPLOAD_AFTER = Duration.days(1);

/**
 * Properties every bucket starts from: private, encrypted, TLS only, no ACLs,
 * versioning off (objects are short-lived by design and deleted on request).
 */
export function secureBucketProps(removalPolicy: RemovalPolicy): s3.BucketProps {
  return {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: false,
    removalPolicy,
  };
}

/** Properties every SQS queue starts from: SSE, TLS only, 14 days to inspect failures. */
export const SECURE_QUEUE_PROPS: sqs.QueueProps = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(14),
};

/** Margin added to a Lambda step's timeout when it is invoked by Step Functions. */
export const LAMBDA_STEP_TIMEOUT = Duration.seconds(30);
