/**
 * Limits with their defaults, in one place. The CDK app passes overrides from
 * `cdk.json` context to every function and the runner as environment variables
 * (names below), so the validator in the Lambda, the runner and the CLI agree.
 */

const MiB = 1024 * 1024;

export interface BundleLimits {
  /** Largest accepted upload (the ZIP itself), bytes. */
  readonly maxUploadBytes: number;
  readonly maxEntries: number;
  /** Largest unpacked size of one entry, bytes. */
  readonly maxEntryBytes: number;
  /** Largest unpacked size of all entries together, bytes. */
  readonly maxTotalUnpackedBytes: number;
  /** Largest unpacked/compressed ratio, applied to entries above `ratioThresholdBytes`. */
  readonly maxCompressionRatio: number;
  readonly ratioThresholdBytes: number;
  /** Longest entry name, in UTF-8 bytes. */
  readonly maxPathBytes: number;
  /** Most path segments in an entry name. */
  readonly maxPathDepth: number;
  /** Deepest XML element nesting accepted. */
  readonly maxXmlDepth: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = Object.freeze({
  maxUploadBytes: 50 * MiB,
  maxEntries: 5000,
  maxEntryBytes: 10 * MiB,
  maxTotalUnpackedBytes: 200 * MiB,
  maxCompressionRatio: 100,
  ratioThresholdBytes: 1 * MiB,
  maxPathBytes: 512,
  maxPathDepth: 12,
  maxXmlDepth: 256,
});

export interface ServiceLimits {
  /** Jobs in flight across all keys before POST /jobs answers SERVER_BUSY. */
  readonly globalInFlight: number;
  /** Jobs in flight per principal (person or program) before POST /jobs answers RATE_LIMITED. */
  readonly perPrincipalInFlight: number;
  /** Jobs admitted per principal per UTC day before POST /jobs answers RATE_LIMITED. */
  readonly perPrincipalPerDay: number;
  /** Lifetime of the presigned upload, seconds (≤ 15 minutes). */
  readonly uploadUrlSeconds: number;
  /** Lifetime of the presigned result download, seconds (≤ 5 minutes). */
  readonly downloadUrlSeconds: number;
  /** Wall-clock limit of one knime2py run, seconds. */
  readonly converterTimeoutSeconds: number;
  /** Largest total size of the converter's outputs, bytes. */
  readonly maxOutputBytes: number;
  /** Days a result stays downloadable (S3 lifecycle). */
  readonly resultRetentionDays: number;
  /** Days an uploaded bundle is kept (S3 lifecycle; normally deleted much sooner). */
  readonly bundleRetentionDays: number;
  /** Days a job record is kept (DynamoDB TTL). */
  readonly jobRecordDays: number;
  /** How long an Idempotency-Key is remembered, seconds. */
  readonly idempotencySeconds: number;
}

export const DEFAULT_SERVICE_LIMITS: ServiceLimits = Object.freeze({
  globalInFlight: 20,
  perPrincipalInFlight: 5,
  perPrincipalPerDay: 200,
  uploadUrlSeconds: 15 * 60,
  downloadUrlSeconds: 5 * 60,
  converterTimeoutSeconds: 300,
  maxOutputBytes: 50 * MiB,
  resultRetentionDays: 7,
  bundleRetentionDays: 1,
  jobRecordDays: 30,
  idempotencySeconds: 24 * 3600,
});

/** Environment variable names carrying limit overrides (set by the CDK app / local mode). */
export const BUNDLE_LIMIT_ENV: Readonly<Record<keyof BundleLimits, string>> = {
  maxUploadBytes: 'LIMIT_MAX_UPLOAD_BYTES',
  maxEntries: 'LIMIT_MAX_ENTRIES',
  maxEntryBytes: 'LIMIT_MAX_ENTRY_BYTES',
  maxTotalUnpackedBytes: 'LIMIT_MAX_TOTAL_UNPACKED_BYTES',
  maxCompressionRatio: 'LIMIT_MAX_COMPRESSION_RATIO',
  ratioThresholdBytes: 'LIMIT_RATIO_THRESHOLD_BYTES',
  maxPathBytes: 'LIMIT_MAX_PATH_BYTES',
  maxPathDepth: 'LIMIT_MAX_PATH_DEPTH',
  maxXmlDepth: 'LIMIT_MAX_XML_DEPTH',
};

export const SERVICE_LIMIT_ENV: Readonly<Record<keyof ServiceLimits, string>> = {
  globalInFlight: 'LIMIT_GLOBAL_IN_FLIGHT',
  perPrincipalInFlight: 'LIMIT_PER_PRINCIPAL_IN_FLIGHT',
  perPrincipalPerDay: 'LIMIT_PER_PRINCIPAL_PER_DAY',
  uploadUrlSeconds: 'LIMIT_UPLOAD_URL_SECONDS',
  downloadUrlSeconds: 'LIMIT_DOWNLOAD_URL_SECONDS',
  converterTimeoutSeconds: 'LIMIT_CONVERTER_TIMEOUT_SECONDS',
  maxOutputBytes: 'LIMIT_MAX_OUTPUT_BYTES',
  resultRetentionDays: 'LIMIT_RESULT_RETENTION_DAYS',
  bundleRetentionDays: 'LIMIT_BUNDLE_RETENTION_DAYS',
  jobRecordDays: 'LIMIT_JOB_RECORD_DAYS',
  idempotencySeconds: 'LIMIT_IDEMPOTENCY_SECONDS',
};

/**
 * Earlier names still accepted, so an existing `cdk.json` or environment keeps
 * working: the limit was per API key before jobs belonged to principals.
 */
export const SERVICE_LIMIT_ALIASES: Readonly<Partial<Record<keyof ServiceLimits, { key: string; env: string }>>> = {
  perPrincipalInFlight: { key: 'perKeyInFlight', env: 'LIMIT_PER_KEY_IN_FLIGHT' },
};

/** Hard ceilings a configuration may not exceed (the presigned URLs' documented maxima). */
const CEILINGS: Partial<Record<keyof ServiceLimits, number>> = {
  uploadUrlSeconds: 15 * 60,
  downloadUrlSeconds: 5 * 60,
};

function mergeNumbers<T extends object>(defaults: T, overrides: Partial<Record<keyof T, unknown>>, describe: (key: keyof T) => string): T {
  const merged: Record<string, number> = { ...(defaults as Record<string, number>) };
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const raw = overrides[key];
    if (raw === undefined || raw === '') continue;
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) {
      throw new Error(`Limit ${describe(key)} must be a positive integer, got ${JSON.stringify(raw)}`);
    }
    merged[key] = value;
  }
  return Object.freeze(merged) as T;
}

export function resolveBundleLimits(overrides: Partial<Record<keyof BundleLimits, unknown>> = {}): BundleLimits {
  return mergeNumbers(DEFAULT_BUNDLE_LIMITS, overrides, (k) => String(k));
}

/** Folds an earlier name into its current one; both given with different values is an error, not a silent pick. */
function withAliases(overrides: Record<string, unknown>): Partial<Record<keyof ServiceLimits, unknown>> {
  const merged: Record<string, unknown> = { ...overrides };
  for (const [key, alias] of Object.entries(SERVICE_LIMIT_ALIASES)) {
    const old = merged[alias.key];
    delete merged[alias.key];
    if (old === undefined || old === '') continue;
    const current = merged[key];
    if (current === undefined || current === '') merged[key] = old;
    else if (String(current) !== String(old)) {
      throw new Error(
        `Limit ${key} is given twice (${alias.key}/${alias.env} is its earlier name): ${JSON.stringify(current)} and ${JSON.stringify(old)}`,
      );
    }
  }
  return merged;
}

/** Service limits from overrides keyed by limit name (`cdk.json`); an earlier name (`perKeyInFlight`) is read as its current one. */
export function resolveServiceLimits(overrides: Record<string, unknown> = {}): ServiceLimits {
  const limits = mergeNumbers(DEFAULT_SERVICE_LIMITS, withAliases(overrides), (k) => String(k));
  for (const [key, ceiling] of Object.entries(CEILINGS) as [keyof ServiceLimits, number][]) {
    if (limits[key] > ceiling) throw new Error(`Limit ${key} must be at most ${ceiling}, got ${limits[key]}`);
  }
  return limits;
}

function fromEnv<T extends object>(names: Readonly<Record<keyof T, string>>, env: Record<string, string | undefined>) {
  const overrides: Partial<Record<keyof T, unknown>> = {};
  for (const [key, name] of Object.entries(names) as [keyof T, string][]) overrides[key] = env[name];
  return overrides;
}

/** Limits from environment variables (Lambda, runner, local mode), falling back to the defaults. */
export function bundleLimitsFromEnv(env: Record<string, string | undefined>): BundleLimits {
  return resolveBundleLimits(fromEnv<BundleLimits>(BUNDLE_LIMIT_ENV, env));
}

export function serviceLimitsFromEnv(env: Record<string, string | undefined>): ServiceLimits {
  const overrides: Record<string, unknown> = fromEnv<ServiceLimits>(SERVICE_LIMIT_ENV, env);
  // An earlier variable name arrives under the earlier key name, so one alias rule serves env and cdk.json.
  for (const alias of Object.values(SERVICE_LIMIT_ALIASES)) overrides[alias.key] = env[alias.env];
  return resolveServiceLimits(overrides);
}

/** Environment variables that carry the given limits (what the CDK app and local mode set). */
export function limitsToEnv(bundle: BundleLimits, service: ServiceLimits): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(BUNDLE_LIMIT_ENV)) env[name] = String(bundle[key as keyof BundleLimits]);
  for (const [key, name] of Object.entries(SERVICE_LIMIT_ENV)) env[name] = String(service[key as keyof ServiceLimits]);
  return env;
}
