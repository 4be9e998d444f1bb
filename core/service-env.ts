/**
 * The contract between the CDK app (and local mode) and the code it runs:
 * environment variable names, S3 key layout and DynamoDB key names. The infra
 * sets these by name; handlers and the runner read them by name.
 */

/** Environment of the Lambda functions. */
export const LAMBDA_ENV = {
  JOBS_TABLE_NAME: 'JOBS_TABLE_NAME',
  DATA_BUCKET_NAME: 'DATA_BUCKET_NAME',
  STATE_MACHINE_ARN: 'STATE_MACHINE_ARN',
  SERVICE_VERSION: 'SERVICE_VERSION',
  CONVERTER_IMAGE: 'CONVERTER_IMAGE',
  CONVERTER_VERSION: 'CONVERTER_VERSION',
  /** Comma-separated browser origins allowed to read API responses (the site, dev origins). */
  CORS_ALLOW_ORIGINS: 'CORS_ALLOW_ORIGINS',
  /** Comma-separated CIDRs callback URLs may reach although private, loopback or link-local (operator allow-list). */
  WEBHOOK_ALLOW_CIDRS: 'WEBHOOK_ALLOW_CIDRS',
  /** `true`: callback URLs may use http (default: https only). */
  WEBHOOK_ALLOW_HTTP: 'WEBHOOK_ALLOW_HTTP',
  /** The key registry table (API key hashes → principals); the authorizer reads it. */
  KEY_TABLE_NAME: 'KEY_TABLE_NAME',
  /**
   * The value of the stack's People API key: the authorizer returns it as `usageIdentifierKey` for bearer-token
   * callers, so all people share the People usage plan (apiKeySource AUTHORIZER; not a secret there).
   */
  PEOPLE_USAGE_KEY: 'PEOPLE_USAGE_KEY',
  /**
   * The value of the stack's Programs API key: the authorizer returns it as `usageIdentifierKey` for registered keys
   * that are no API Gateway key of their own (every key made by POST /admin/keys or `npm run keys -- create`), so
   * they share the Programs usage plan (not a secret, as PEOPLE_USAGE_KEY).
   */
  PROGRAMS_USAGE_KEY: 'PROGRAMS_USAGE_KEY',
  /** The audit trail table (admin actions; AUDIT_TABLE). */
  AUDIT_TABLE_NAME: 'AUDIT_TABLE_NAME',
} as const;

/** Environment of the authorizer: the OpenID Connect issuer whose bearer tokens it accepts. */
export const OIDC_ENV = {
  /** Issuer exactly as tokens carry it in `iss` (its discovery document names the JWKS). */
  OIDC_ISSUER: 'OIDC_ISSUER',
  /** The page's app client id: tokens' `aud` (or Cognito access tokens' `client_id`). */
  OIDC_AUDIENCE: 'OIDC_AUDIENCE',
  /** Claim listing the user's groups (`cognito:groups`, `groups`). */
  OIDC_GROUPS_CLAIM: 'OIDC_GROUPS_CLAIM',
  /** Group whose members get the admin role. */
  OIDC_ADMIN_GROUP: 'OIDC_ADMIN_GROUP',
  /** Optional: the JWKS URL, when it is not to be read from the issuer's discovery document. */
  OIDC_JWKS_URI: 'OIDC_JWKS_URI',
  /**
   * `true`: an http issuer/JWKS on a loopback address is accepted (local mode's OpenID stand-in only; set by local
   * mode on its running functions, never by the template). Default: https only.
   */
  OIDC_ALLOW_LOOPBACK_HTTP: 'OIDC_ALLOW_LOOPBACK_HTTP',
} as const;

/** Environment of the runner container (set by the state machine's container overrides and task definition). */
export const RUNNER_ENV = {
  JOB_ID: 'JOB_ID',
  INPUT_URL: 'INPUT_URL',
  INPUT_SHA256: 'INPUT_SHA256',
  RESULT_URL: 'RESULT_URL',
  REPORT_URL: 'REPORT_URL',
  WORKFLOW_NAME: 'WORKFLOW_NAME',
  K2P_WORKBOOK: 'K2P_WORKBOOK',
  K2P_GRAPH: 'K2P_GRAPH',
  K2P_COMMAND: 'K2P_COMMAND',
  SCRATCH_DIR: 'SCRATCH_DIR',
  CONVERTER_IMAGE: 'CONVERTER_IMAGE',
  /**
   * The knime2py release in the image (runner/Dockerfile sets it and fails the build when the installed package
   * differs): the runner reports it instead of starting Python to ask, which costs each job a second interpreter.
   */
  CONVERTER_VERSION: 'CONVERTER_VERSION',
  /** Presigned PUT of log.txt (the conversion log, bounded and scrubbed). */
  LOG_URL: 'LOG_URL',
} as const;

/** Where the runner's scratch volume is mounted (Dockerfile VOLUME and the task's bind mount). */
export const RUNNER_SCRATCH_DIR = '/scratch';

/** S3 layout of the data bucket. Lifecycle rules and the upload notification filter on these prefixes. */
export const BUNDLE_PREFIX = 'bundles/';
export const RESULT_PREFIX = 'results/';

export const s3Keys = {
  bundle: (jobId: string) => `${BUNDLE_PREFIX}${jobId}/bundle.zip`,
  result: (jobId: string) => `${RESULT_PREFIX}${jobId}/result.zip`,
  report: (jobId: string) => `${RESULT_PREFIX}${jobId}/report.json`,
  log: (jobId: string) => `${RESULT_PREFIX}${jobId}/log.txt`,
};

/** Parses a bundle key back to its job id; undefined for keys outside the expected layout. */
export function jobIdFromBundleKey(key: string): string | undefined {
  const match = /^bundles\/([A-Za-z0-9_-]{8,64})\/bundle\.zip$/.exec(key);
  return match?.[1];
}

/** DynamoDB layout of the jobs table (one table: jobs, capacity counters, idempotency keys). */
export const TABLE = {
  partitionKey: 'pk',
  ownerIndex: 'byOwner',
  ownerIndexPartitionKey: 'owner',
  ownerIndexSortKey: 'createdAt',
  ttlAttribute: 'expiresAt',
  /** Sparse index of jobs with a webhook delivery due: only jobs with a callback carry its partition attribute. */
  webhookIndex: 'byWebhookDue',
  webhookIndexPartitionKey: 'webhookQueue',
  webhookIndexSortKey: 'webhookAt',
  /** Every job by status, newest first: `status` itself is the partition, so every status move moves the job in it. */
  statusIndex: 'byStatus',
  statusIndexPartitionKey: 'status',
  statusIndexSortKey: 'createdAt',
  /** Sparse: only jobs with an `error` carry `errorCode` (the job store keeps it equal to error.code). */
  codeIndex: 'byErrorCode',
  codeIndexPartitionKey: 'errorCode',
  codeIndexSortKey: 'createdAt',
  /** Every job by the month it was created (`YYYY-MM`, UTC): the unfiltered admin listing, newest first. */
  monthIndex: 'byCreatedMonth',
  monthIndexPartitionKey: 'createdMonth',
  monthIndexSortKey: 'createdAt',
} as const;

/** DynamoDB layout of the audit trail table: one item per admin action, partitioned by month, newest last. */
export const AUDIT_TABLE = {
  /** `YYYY-MM` (UTC) of the action. */
  partitionKey: 'month',
  /** `<ISO time>#<entry id>`: unique, and in time order within the month. */
  sortKey: 'entry',
  ttlAttribute: 'expiresAt',
} as const;

/** Lambda entry points (relative to the repository root), by logical name. */
export const HANDLERS = {
  createJob: 'lambdas/api/create-job.ts',
  getJob: 'lambdas/api/get-job.ts',
  listJobs: 'lambdas/api/list-jobs.ts',
  getResult: 'lambdas/api/get-result.ts',
  deleteJob: 'lambdas/api/delete-job.ts',
  health: 'lambdas/api/health.ts',
  getLogs: 'lambdas/api/get-logs.ts',
  validateUpload: 'lambdas/s3-events/validate-upload.ts',
  prepareRun: 'lambdas/steps/prepare-run.ts',
  recordOutcome: 'lambdas/steps/record-outcome.ts',
  reaper: 'lambdas/schedule/reaper.ts',
  getWebhook: 'lambdas/api/get-webhook.ts',
  putWebhook: 'lambdas/api/put-webhook.ts',
  rotateWebhookSecret: 'lambdas/api/rotate-webhook-secret.ts',
  deliverWebhooks: 'lambdas/schedule/deliver-webhooks.ts',
  cancelJob: 'lambdas/api/cancel-job.ts',
  taskStopped: 'lambdas/events/task-stopped.ts',
  authorizer: 'lambdas/auth/authorizer.ts',
  getMe: 'lambdas/api/get-me.ts',
  adminListJobs: 'lambdas/api/admin-list-jobs.ts',
  adminJobCounts: 'lambdas/api/admin-job-counts.ts',
  adminGetJob: 'lambdas/api/admin-get-job.ts',
  adminCancelJob: 'lambdas/api/admin-cancel-job.ts',
  adminDeleteJob: 'lambdas/api/admin-delete-job.ts',
  adminListAudit: 'lambdas/api/admin-list-audit.ts',
  adminGetJobLog: 'lambdas/api/admin-get-job-log.ts',
  adminListKeys: 'lambdas/api/admin-list-keys.ts',
  adminCreateKey: 'lambdas/api/admin-create-key.ts',
  adminDisableKey: 'lambdas/api/admin-disable-key.ts',
  adminEnableKey: 'lambdas/api/admin-enable-key.ts',
  adminRotateKey: 'lambdas/api/admin-rotate-key.ts',
  adminDeleteKey: 'lambdas/api/admin-delete-key.ts',
  adminListPeople: 'lambdas/api/admin-list-people.ts',
  adminPutPerson: 'lambdas/api/admin-put-person.ts',
  adminUsage: 'lambdas/api/admin-usage.ts',
} as const;

export type HandlerName = keyof typeof HANDLERS;
