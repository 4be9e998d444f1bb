/**
 * Configuration from the environment, read at a handler's module scope
 * (through lambdas/runtime/services.ts, once per value). Names come from
 * core/service-env.ts and core/limits.ts; the CDK app and local mode set them.
 */
import { bundleLimitsFromEnv, serviceLimitsFromEnv, type BundleLimits, type ServiceLimits } from '../../core/limits';
import { callbackPolicyFrom, type CallbackPolicy } from '../../core/callback-url';
import { LAMBDA_ENV } from '../../core/service-env';

type Env = Record<string, string | undefined>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set; the deployment must provide it.`);
  return value;
}

export function tableName(env: Env = process.env): string {
  return requireEnv(LAMBDA_ENV.JOBS_TABLE_NAME, env);
}

/** The key registry table (the authorizer's). */
export function keyTableName(env: Env = process.env): string {
  return requireEnv(LAMBDA_ENV.KEY_TABLE_NAME, env);
}

/** The audit trail table (admin actions). */
export function auditTableName(env: Env = process.env): string {
  return requireEnv(LAMBDA_ENV.AUDIT_TABLE_NAME, env);
}

export function serviceLimits(env: Env = process.env): ServiceLimits {
  return serviceLimitsFromEnv(env);
}

export function bucketName(env: Env = process.env): string {
  return requireEnv(LAMBDA_ENV.DATA_BUCKET_NAME, env);
}

export function stateMachineArn(env: Env = process.env): string {
  return requireEnv(LAMBDA_ENV.STATE_MACHINE_ARN, env);
}

export function bundleLimits(env: Env = process.env): BundleLimits {
  return bundleLimitsFromEnv(env);
}

/** Which callback URLs webhooks may reach (https and public addresses unless the operator allow-listed more). */
export function callbackPolicy(env: Env = process.env): CallbackPolicy {
  return callbackPolicyFrom(env[LAMBDA_ENV.WEBHOOK_ALLOW_CIDRS], env[LAMBDA_ENV.WEBHOOK_ALLOW_HTTP]);
}

export interface VersionInfo {
  version: string;
  converter: { image: string | null; version: string | null };
}

export function versionInfo(env: Env = process.env): VersionInfo {
  return {
    version: env[LAMBDA_ENV.SERVICE_VERSION] || 'unknown',
    converter: {
      image: env[LAMBDA_ENV.CONVERTER_IMAGE] || null,
      version: env[LAMBDA_ENV.CONVERTER_VERSION] || null,
    },
  };
}
