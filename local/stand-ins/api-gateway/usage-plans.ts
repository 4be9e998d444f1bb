/**
 * API keys and usage plans as API Gateway applies them to a method that
 * requires a key: the key value (the x-api-key header, or the authorizer's
 * usageIdentifierKey under apiKeySource AUTHORIZER) names an enabled key in a usage plan;
 * the plan throttles it (a token bucket per key, or per key and method where
 * the plan overrides the method, inside the stage's own limit) and counts it
 * against the plan's quota. Methods without a key see the stage limit only.
 */
import type { ApiModel, RouteModel, ThrottleModel, UsagePlanModel } from '../../model/stack-model';
import { Quota, TokenBucket } from './throttle';

export interface LocalApiKey {
  /** Logical id in the template. */
  logicalId: string;
  /** The key id API Gateway would assign (requestContext.identity.apiKeyId). */
  id: string;
  /** The secret value sent in x-api-key. */
  value: string;
  enabled: boolean;
}

/** The local key that the stack output `outputName` (e.g. WebApiKeyId) names. */
export function keyByOutput(api: ApiModel, keys: LocalApiKey[], outputName: string): { id: string; value: string } {
  const logicalId = api.apiKeys.find((k) => k.outputName === outputName)?.logicalId;
  const key = keys.find((k) => k.logicalId === logicalId);
  if (!key) throw new Error(`The template has no API key named by the output ${outputName}`);
  return { id: key.id, value: key.value };
}

/** The gateway responses a request can be refused with before it reaches the integration. */
export type Refusal = 'INVALID_API_KEY' | 'THROTTLED' | 'QUOTA_EXCEEDED';

export interface Admission {
  /** The caller's key, once it is known to be valid (also when the request is then throttled). */
  key?: LocalApiKey;
  refused?: Refusal;
}

export class UsagePlans {
  private readonly keysByValue: Map<string, LocalApiKey>;
  private readonly stageBucket: TokenBucket | undefined;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly quotas = new Map<string, Quota>();

  constructor(
    private readonly api: ApiModel,
    keys: LocalApiKey[],
    /** Monotonic time for token buckets (ms). */
    private readonly monotonicNow: () => number,
    /** Wall-clock time for quotas (ms). */
    private readonly now: () => number,
  ) {
    this.keysByValue = new Map(keys.map((k) => [k.value, k]));
    this.stageBucket = api.stageThrottle
      ? new TokenBucket(api.stageThrottle.rateLimit, api.stageThrottle.burstLimit, monotonicNow())
      : undefined;
  }

  /** Lets one request to `method` on `route` through, or says why API Gateway refuses it. */
  admit(route: RouteModel, method: string, apiKey: string | string[] | undefined): Admission {
    if (!route.apiKeyRequired) return this.stageBucket && !this.stageBucket.take(this.monotonicNow()) ? { refused: 'THROTTLED' } : {};
    const key = typeof apiKey === 'string' ? this.keysByValue.get(apiKey) : undefined;
    const plan = key ? this.api.usagePlans.find((p) => p.apiKeyIds.includes(key.logicalId)) : undefined;
    if (!key || !key.enabled || !plan) return { refused: 'INVALID_API_KEY' };
    return { key, refused: this.limit(key, plan, `${route.path}/${method}`) };
  }

  /** The stage limit, then the plan's throttle for this key and method, then its quota. */
  private limit(key: LocalApiKey, plan: UsagePlanModel, methodKey: string): Refusal | undefined {
    const t = this.monotonicNow();
    if (this.stageBucket && !this.stageBucket.take(t)) return 'THROTTLED';
    const methodLimits = plan.methodThrottle[methodKey];
    const limits = methodLimits ?? plan.throttle;
    if (limits && !this.bucketFor(methodLimits ? `${key.id} ${methodKey}` : key.id, limits).take(t)) return 'THROTTLED';
    if (!plan.quota) return undefined;
    let quota = this.quotas.get(key.id);
    if (!quota) this.quotas.set(key.id, (quota = new Quota(plan.quota.limit, plan.quota.period)));
    return quota.take(this.now()) ? undefined : 'QUOTA_EXCEEDED';
  }

  private bucketFor(id: string, limits: ThrottleModel): TokenBucket {
    let bucket = this.buckets.get(id);
    if (!bucket) this.buckets.set(id, (bucket = new TokenBucket(limits.rateLimit, limits.burstLimit, this.monotonicNow())));
    return bucket;
  }
}
