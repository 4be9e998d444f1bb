/**
 * Deployment configuration: what an operator may change with `cdk.json`
 * context or `cdk deploy -c key=value`, with its defaults and validation in
 * one place. Everything else is fixed in lib/defaults.ts.
 */
import { type BundleLimits, type ServiceLimits, SERVICE_LIMIT_ALIASES, resolveBundleLimits, resolveServiceLimits } from '../core/limits';
import { parseCidr } from '../core/callback-url';
import { KNIME2PY_VERSION } from '../core/runner-contract';

export type CpuArchitectureName = 'ARM64' | 'X86_64';
export type RemovalPolicyName = 'retain' | 'destroy';

export interface ThrottleConfig {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Largest burst of requests. */
  readonly burstLimit: number;
}

export interface UsagePlanConfig extends ThrottleConfig {
  /** Requests per day per API key. */
  readonly quotaPerDay: number;
}

/** Who signs people in: empty issuer = the stack's own Cognito user pool; otherwise any OpenID Connect issuer. */
export interface IdentityProviderConfig {
  /** https issuer URL exactly as tokens carry it in `iss`; empty = the user pool the stack creates. */
  readonly issuer: string;
  /** The page's app client id at that issuer (tokens' `aud` or `client_id`); required with an issuer, empty otherwise. */
  readonly clientId: string;
  /** Claim listing the user's groups (`cognito:groups` for Cognito, often `groups` elsewhere). */
  readonly groupsClaim: string;
  /** Members of this group are administrators. */
  readonly adminGroup: string;
  /** Origins the page must reach to sign in besides the issuer's own (a token endpoint on another host); for the CSP. */
  readonly extraOrigins: readonly string[];
}

/** The stack's own Cognito user pool (used when identityProvider.issuer is empty). */
export interface UserPoolConfig {
  /** Whether anyone may create an account on the hosted sign-in page (default: administrators create accounts). */
  readonly selfSignUp: boolean;
  /** Prefix of the hosted sign-in domain `<prefix>.auth.<region>.amazoncognito.com`; empty = `<stack name>-<account id>`. */
  readonly domainPrefix: string;
  /** Name of a corporate SAML identity provider people may sign in through (with samlMetadataUrl); empty = none. */
  readonly samlProviderName: string;
  /** https URL of that provider's SAML metadata document. */
  readonly samlMetadataUrl: string;
}

export interface K2pWebConfig {
  /** Bundle policy limits (upload size, entries, ratios …) handed to every function and the runner. */
  readonly bundleLimits: BundleLimits;
  /** Service limits (in-flight jobs, URL lifetimes, converter timeout, retention days …). */
  readonly serviceLimits: ServiceLimits;
  /** Availability zones of the isolated VPC (1 or 2; each AZ costs one set of interface endpoints). */
  readonly azCount: number;
  /** Fargate task CPU units (256 = 0.25 vCPU). */
  readonly taskCpu: number;
  /** Fargate task memory, MiB. */
  readonly taskMemoryMiB: number;
  /** CPU architecture of the converter task (the knime2py base image must exist for it). */
  readonly converterArchitecture: CpuArchitectureName;
  /** knime2py base image the runner is built FROM: a tag or, better, a digest-pinned reference. */
  readonly converterImage: string;
  /** knime2py version reported by /health before the runner reports its own. */
  readonly converterVersion: string;
  /** Seconds a Fargate task may take to start (pull, ENI) on top of the converter's own limit. */
  readonly taskStartMarginSeconds: number;
  /** Reserved concurrency of the upload validator. */
  readonly validateConcurrency: number;
  /** Stage-wide API throttling. */
  readonly apiThrottle: ThrottleConfig;
  /** Usage plan of the public web page's API key. */
  readonly webPlan: UsagePlanConfig;
  /** Usage plan for programmatic (CLI) keys. */
  readonly defaultPlan: UsagePlanConfig;
  /** Usage plan shared by everyone signed in with a bearer token (one bucket; per-person limits are the principal's). */
  readonly peoplePlan: UsagePlanConfig;
  /** Usage plan shared by every registered key without an API Gateway key of its own (admin-made keys). */
  readonly programsPlan: UsagePlanConfig;
  /** Extra browser origins allowed by CORS (e.g. http://localhost:5173 while developing the page). */
  readonly devOrigins: readonly string[];
  /** Requests per 5 minutes per client IP before the optional WAF blocks; 0 = no WAF. */
  readonly wafRateLimit: number;
  /** E-mail address subscribed to the alarm topic; empty = no subscription. */
  readonly alarmEmail: string;
  /** Retention of every log group, days. */
  readonly logRetentionDays: number;
  /** Whether the data bucket, job table and site bucket are kept or deleted by `cdk destroy`. */
  readonly removalPolicy: RemovalPolicyName;
  /** CIDRs webhooks may reach although private, loopback or link-local (default: none — public addresses only). */
  readonly webhookAllowCidrs: readonly string[];
  /** Whether callback URLs may use http (default: https only). */
  readonly webhookAllowHttp: boolean;
  /** The OpenID Connect issuer whose bearer tokens the authorizer accepts. */
  readonly identityProvider: IdentityProviderConfig;
  /** The Cognito user pool the stack makes when identityProvider names no issuer. */
  readonly userPool: UserPoolConfig;
  /** On: the page works without sign-in through one public, shared API key and its tight plan; off: no key is published. */
  readonly anonymousAccess: boolean;
  /**
   * How many of the jobs table's admin indexes (byStatus, byErrorCode, byCreatedMonth, in that order) exist (0–3).
   * CloudFormation adds one GSI per table update, so a table made before them reaches 3 in three deploys (1, 2, 3).
   */
  readonly adminIndexes: number;
}

export const DEFAULT_CONFIG: K2pWebConfig = Object.freeze({
  bundleLimits: resolveBundleLimits(),
  serviceLimits: resolveServiceLimits(),
  azCount: 2,
  taskCpu: 512,
  taskMemoryMiB: 1024,
  converterArchitecture: 'ARM64',
  converterImage: `ghcr.io/vitalii-kaplan/knime2py:v${KNIME2PY_VERSION}`,
  converterVersion: KNIME2PY_VERSION,
  taskStartMarginSeconds: 240,
  validateConcurrency: 5,
  apiThrottle: Object.freeze({ rateLimit: 50, burstLimit: 100 }),
  webPlan: Object.freeze({ rateLimit: 5, burstLimit: 10, quotaPerDay: 2000 }),
  defaultPlan: Object.freeze({ rateLimit: 10, burstLimit: 20, quotaPerDay: 10000 }),
  peoplePlan: Object.freeze({ rateLimit: 20, burstLimit: 40, quotaPerDay: 20000 }),
  programsPlan: Object.freeze({ rateLimit: 50, burstLimit: 100, quotaPerDay: 50000 }),
  devOrigins: Object.freeze([]) as readonly string[],
  wafRateLimit: 0,
  alarmEmail: '',
  logRetentionDays: 30,
  removalPolicy: 'retain',
  webhookAllowCidrs: Object.freeze([]) as readonly string[],
  webhookAllowHttp: false,
  identityProvider: Object.freeze({
    issuer: '',
    clientId: '',
    groupsClaim: 'cognito:groups',
    adminGroup: 'admins',
    extraOrigins: Object.freeze([]) as readonly string[],
  }),
  userPool: Object.freeze({ selfSignUp: false, domainPrefix: '', samlProviderName: '', samlMetadataUrl: '' }),
  anonymousAccess: false,
  adminIndexes: 3,
} satisfies K2pWebConfig);

/** The context keys read by {@link configFromContext}, one per {@link K2pWebConfig} field. */
export const CONTEXT_KEYS = Object.keys(DEFAULT_CONFIG) as (keyof K2pWebConfig)[];

/** Valid Fargate CPU/memory pairs (MiB) for the sizes a converter can sensibly use. */
const FARGATE_MEMORY: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type Raw = Record<string, unknown>;

/** Context values given on the command line arrive as strings: accept JSON there. */
function parseMaybeJson(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new Error(`Context "${key}" is not valid JSON: ${value}`);
    }
  }
  return value;
}

function integer(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`Context "${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  const v = typeof value === 'string' ? value.trim() : value;
  const match = allowed.find((a) => typeof v === 'string' && a.toLowerCase() === v.toLowerCase());
  if (!match) throw new Error(`Context "${key}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return match;
}

function record(key: string, value: unknown): Raw {
  const parsed = parseMaybeJson(key, value);
  if (parsed === undefined || parsed === null || parsed === '') return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`Context "${key}" must be an object, got ${JSON.stringify(value)}`);
  }
  return parsed as Raw;
}

function rejectUnknown(key: string, raw: Raw, known: readonly string[]): void {
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new Error(`Context "${key}" has unknown field(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
}

function throttle<T extends ThrottleConfig>(key: string, value: unknown, defaults: T): T {
  const raw = record(key, value);
  rejectUnknown(key, raw, Object.keys(defaults));
  const out: Record<string, number> = {};
  for (const [field, def] of Object.entries(defaults) as [string, number][]) {
    out[field] = raw[field] === undefined ? def : integer(`${key}.${field}`, raw[field], 1, 1_000_000);
  }
  if (out.burstLimit! < out.rateLimit!) {
    throw new Error(`Context "${key}.burstLimit" (${out.burstLimit}) must be at least its rateLimit (${out.rateLimit})`);
  }
  return Object.freeze(out) as unknown as T;
}

/** A JSON list, or a comma-separated string as typed on the command line; the value itself otherwise. */
function listOf(key: string, value: unknown): unknown {
  const parsed = parseMaybeJson(key, value);
  if (parsed === undefined || parsed === null || parsed === '') return [];
  return typeof parsed === 'string'
    ? parsed
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : parsed;
}

function origins(key: string, value: unknown): readonly string[] {
  const list = listOf(key, value);
  if (!Array.isArray(list)) throw new Error(`Context "${key}" must be a list of origins, got ${JSON.stringify(value)}`);
  for (const origin of list) {
    if (typeof origin !== 'string' || !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      throw new Error(
        `Context "${key}" entry ${JSON.stringify(origin)} is not an origin like http://localhost:5173 (scheme, host, optional port, no path or wildcard)`,
      );
    }
  }
  return Object.freeze([...list] as string[]);
}

function cidrs(key: string, value: unknown): readonly string[] {
  const list = listOf(key, value);
  if (!Array.isArray(list) || list.some((c) => typeof c !== 'string')) {
    throw new Error(`Context "${key}" must be a list of CIDRs like ["10.0.0.0/8"], got ${JSON.stringify(value)}`);
  }
  for (const cidr of list as string[]) {
    try {
      parseCidr(cidr);
    } catch (error) {
      throw new Error(`Context "${key}": ${(error as Error).message}`, { cause: error });
    }
  }
  return Object.freeze([...(list as string[])]);
}

function bool(key: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`Context "${key}" must be true or false, got ${JSON.stringify(value)}`);
}

function identityProvider(key: string, value: unknown, defaults: IdentityProviderConfig): IdentityProviderConfig {
  const raw = record(key, value);
  rejectUnknown(key, raw, Object.keys(defaults));
  const text = (field: Exclude<keyof IdentityProviderConfig, 'extraOrigins'>) =>
    raw[field] === undefined || raw[field] === null ? defaults[field] : String(raw[field]).trim();
  const out = {
    issuer: text('issuer'),
    clientId: text('clientId'),
    groupsClaim: text('groupsClaim'),
    adminGroup: text('adminGroup'),
    extraOrigins: raw.extraOrigins === undefined ? defaults.extraOrigins : origins(`${key}.extraOrigins`, raw.extraOrigins),
  };
  if (out.issuer !== '') {
    let url: URL | undefined;
    try {
      url = new URL(out.issuer);
    } catch {
      url = undefined;
    }
    // Tokens are compared with the issuer byte for byte, and its JWKS must come over TLS.
    if (!url || url.protocol !== 'https:' || url.search || url.hash || url.username || url.password) {
      throw new Error(
        `Context "${key}.issuer" must be an https URL without query or fragment, exactly as tokens carry it in "iss" (e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123), got ${JSON.stringify(raw.issuer)}`,
      );
    }
    if (!/^[\w.:@/-]{1,256}$/.test(out.clientId)) {
      throw new Error(
        `Context "${key}.clientId" must name the page's app client at ${out.issuer} (1–256 characters, no spaces), got ${JSON.stringify(raw.clientId)}`,
      );
    }
  } else if (out.clientId !== '') {
    throw new Error(`Context "${key}.clientId" needs an issuer; leave both empty to use the user pool the stack creates`);
  }
  if (!/^[\w.:/-]{1,128}$/.test(out.groupsClaim)) {
    throw new Error(
      `Context "${key}.groupsClaim" must be a claim name like cognito:groups or groups, got ${JSON.stringify(raw.groupsClaim)}`,
    );
  }
  if (out.adminGroup.length === 0 || out.adminGroup.length > 128 || /[\s,]/.test(out.adminGroup)) {
    throw new Error(
      `Context "${key}.adminGroup" must be a group name (1–128 characters, no spaces or commas), got ${JSON.stringify(raw.adminGroup)}`,
    );
  }
  return Object.freeze(out);
}

/** Cognito forbids these words in a prefix domain; the prefix is one DNS label. */
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function userPool(key: string, value: unknown, defaults: UserPoolConfig): UserPoolConfig {
  const raw = record(key, value);
  rejectUnknown(key, raw, Object.keys(defaults));
  const text = (field: 'domainPrefix' | 'samlProviderName' | 'samlMetadataUrl') =>
    raw[field] === undefined || raw[field] === null ? defaults[field] : String(raw[field]).trim();
  const out = {
    selfSignUp: raw.selfSignUp === undefined ? defaults.selfSignUp : bool(`${key}.selfSignUp`, raw.selfSignUp),
    domainPrefix: text('domainPrefix'),
    samlProviderName: text('samlProviderName'),
    samlMetadataUrl: text('samlMetadataUrl'),
  };
  if (out.domainPrefix !== '' && (!DOMAIN_PREFIX.test(out.domainPrefix) || /aws|amazon|cognito/.test(out.domainPrefix))) {
    throw new Error(
      `Context "${key}.domainPrefix" must be lowercase letters, digits and hyphens (1–63, not starting or ending with a hyphen, without aws, amazon or cognito), got ${JSON.stringify(raw.domainPrefix)}`,
    );
  }
  if ((out.samlProviderName === '') !== (out.samlMetadataUrl === '')) {
    throw new Error(`Context "${key}.samlProviderName" and "${key}.samlMetadataUrl" go together: set both or neither`);
  }
  if (out.samlProviderName !== '' && !/^[\w.-]{3,32}$/.test(out.samlProviderName)) {
    throw new Error(
      `Context "${key}.samlProviderName" must be 3–32 letters, digits, dots, hyphens or underscores, got ${JSON.stringify(raw.samlProviderName)}`,
    );
  }
  if (out.samlMetadataUrl !== '' && !/^https:\/\/[^\s]+$/.test(out.samlMetadataUrl)) {
    throw new Error(`Context "${key}.samlMetadataUrl" must be an https URL, got ${JSON.stringify(raw.samlMetadataUrl)}`);
  }
  return Object.freeze(out);
}

/**
 * Validates raw configuration values (from context or tests) and fills in the
 * defaults. Throws a message naming the bad key and the accepted values.
 */
export function resolveConfig(raw: Raw = {}): K2pWebConfig {
  rejectUnknown('(config)', raw, CONTEXT_KEYS);
  const has = (key: keyof K2pWebConfig) => raw[key] !== undefined && raw[key] !== null;
  const d = DEFAULT_CONFIG;

  const taskCpu = has('taskCpu') ? integer('taskCpu', raw.taskCpu, 256, 4096) : d.taskCpu;
  const taskMemoryMiB = has('taskMemoryMiB') ? integer('taskMemoryMiB', raw.taskMemoryMiB, 512, 30720) : d.taskMemoryMiB;
  const allowedMemory = FARGATE_MEMORY[taskCpu];
  if (!allowedMemory) {
    throw new Error(`Context "taskCpu" must be one of ${Object.keys(FARGATE_MEMORY).join(', ')}, got ${taskCpu}`);
  }
  if (!allowedMemory.includes(taskMemoryMiB)) {
    throw new Error(`Context "taskMemoryMiB" ${taskMemoryMiB} is not valid for taskCpu ${taskCpu}; use one of ${allowedMemory.join(', ')}`);
  }

  const logRetentionDays = has('logRetentionDays') ? integer('logRetentionDays', raw.logRetentionDays, 1, 3653) : d.logRetentionDays;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new Error(`Context "logRetentionDays" must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }

  const converterImage = has('converterImage') ? String(raw.converterImage).trim() : d.converterImage;
  if (!/^[a-z0-9][a-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/.test(converterImage) || converterImage.length > 255) {
    throw new Error(
      `Context "converterImage" must be an image reference like registry/name:tag or registry/name@sha256:<64 hex>, got ${JSON.stringify(raw.converterImage)}`,
    );
  }

  const alarmEmail = has('alarmEmail') ? String(raw.alarmEmail).trim() : d.alarmEmail;
  if (alarmEmail !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    throw new Error(`Context "alarmEmail" must be an e-mail address or empty, got ${JSON.stringify(raw.alarmEmail)}`);
  }

  const wafRateLimit = has('wafRateLimit') ? integer('wafRateLimit', raw.wafRateLimit, 0, 2_000_000_000) : d.wafRateLimit;
  if (wafRateLimit !== 0 && wafRateLimit < 10) {
    throw new Error(
      `Context "wafRateLimit" must be 0 (no WAF) or at least 10 requests per 5 minutes (the WAF minimum), got ${wafRateLimit}`,
    );
  }

  const serviceLimits = resolveServiceLimits(record('serviceLimits', raw.serviceLimits) as never);
  const bundleLimits = resolveBundleLimits(record('bundleLimits', raw.bundleLimits) as never);
  rejectUnknown('serviceLimits', record('serviceLimits', raw.serviceLimits), [
    ...Object.keys(d.serviceLimits),
    ...Object.values(SERVICE_LIMIT_ALIASES).map((alias) => alias.key),
  ]);
  rejectUnknown('bundleLimits', record('bundleLimits', raw.bundleLimits), Object.keys(d.bundleLimits));

  return Object.freeze({
    bundleLimits,
    serviceLimits,
    // An environment-agnostic stack sees at most two AZs (Fn::GetAZs); more needs an env-specific stack.
    azCount: has('azCount') ? integer('azCount', raw.azCount, 1, 2) : d.azCount,
    taskCpu,
    taskMemoryMiB,
    converterArchitecture: has('converterArchitecture')
      ? oneOf('converterArchitecture', raw.converterArchitecture, ['ARM64', 'X86_64'] as const)
      : d.converterArchitecture,
    converterImage,
    converterVersion: has('converterVersion') ? String(raw.converterVersion).trim() || d.converterVersion : d.converterVersion,
    taskStartMarginSeconds: has('taskStartMarginSeconds')
      ? integer('taskStartMarginSeconds', raw.taskStartMarginSeconds, 60, 900)
      : d.taskStartMarginSeconds,
    validateConcurrency: has('validateConcurrency')
      ? integer('validateConcurrency', raw.validateConcurrency, 1, 1000)
      : d.validateConcurrency,
    apiThrottle: throttle('apiThrottle', raw.apiThrottle, d.apiThrottle),
    webPlan: throttle('webPlan', raw.webPlan, d.webPlan),
    defaultPlan: throttle('defaultPlan', raw.defaultPlan, d.defaultPlan),
    peoplePlan: throttle('peoplePlan', raw.peoplePlan, d.peoplePlan),
    programsPlan: throttle('programsPlan', raw.programsPlan, d.programsPlan),
    devOrigins: has('devOrigins') ? origins('devOrigins', raw.devOrigins) : d.devOrigins,
    wafRateLimit,
    alarmEmail,
    logRetentionDays,
    removalPolicy: has('removalPolicy') ? oneOf('removalPolicy', raw.removalPolicy, ['retain', 'destroy'] as const) : d.removalPolicy,
    webhookAllowCidrs: has('webhookAllowCidrs') ? cidrs('webhookAllowCidrs', raw.webhookAllowCidrs) : d.webhookAllowCidrs,
    webhookAllowHttp: has('webhookAllowHttp') ? bool('webhookAllowHttp', raw.webhookAllowHttp) : d.webhookAllowHttp,
    identityProvider: identityProvider('identityProvider', raw.identityProvider, d.identityProvider),
    userPool: userPool('userPool', raw.userPool, d.userPool),
    anonymousAccess: has('anonymousAccess') ? bool('anonymousAccess', raw.anonymousAccess) : d.anonymousAccess,
    adminIndexes: has('adminIndexes') ? integer('adminIndexes', raw.adminIndexes, 0, 3) : d.adminIndexes,
  } satisfies K2pWebConfig);
}

/** Reads every configuration key from CDK context (cdk.json or `-c key=value`). */
export function configFromContext(tryGetContext: (key: string) => unknown): K2pWebConfig {
  const raw: Raw = {};
  for (const key of CONTEXT_KEYS) {
    const value = tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  return resolveConfig(raw);
}
