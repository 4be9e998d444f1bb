/**
 * Webhooks: a principal's settings (default callback URL, signing secret
 * shown once and rotated with an overlap), the callback a new job gets, and
 * delivery from the outbox — due jobs are claimed with a lease (so two
 * senders never make the same attempt), POSTed signed, and either taken out
 * of the queue (delivered, or failed after the retry window) or made due again.
 */
import type { WebhookSecret, WebhookSettings } from '../../core/api-schemas';
import { WEBHOOK_EVENT_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from '../../core/api-schemas';
import type { CallbackPolicy } from '../../core/callback-url';
import { DomainError, ERRORS } from '../../core/errors';
import { METRIC } from '../../core/metrics';
import {
  afterAttempt,
  newWebhookSecret,
  signatureHeader,
  webhookEvent,
  WEBHOOK_LEASE_MS,
  WEBHOOK_TIMEOUT_MS,
  type AttemptResult,
} from '../decisions/webhooks';
import { checkCallback, postCallback, type CallbackRequest, type Resolver } from '../storage/callback-http';
import type { JobStore, StoredJob } from '../storage/job-store';
import type { StoredWebhookSettings, WebhookSettingsStore } from '../storage/webhook-settings';
import { countMetric, logger } from '../runtime/observability';

/** After a rotation, deliveries carry signatures with both secrets this long. */
export const PREVIOUS_SECRET_OVERLAP_MS = 24 * 3_600_000;

export interface WebhookSettingsDeps {
  settings: WebhookSettingsStore;
  policy: CallbackPolicy;
  resolver?: Resolver;
  now?: () => number;
}

function settingsView(stored: StoredWebhookSettings | undefined, nowMs: number): WebhookSettings {
  const overlap = stored?.previousSecretValidUntil;
  return {
    url: stored?.url ?? null,
    secretCreatedAt: stored?.secretCreatedAt ?? null,
    ...(overlap && Date.parse(overlap) > nowMs ? { previousSecretValidUntil: overlap } : {}),
  };
}

export async function getWebhookSettings(deps: WebhookSettingsDeps, principal: string): Promise<WebhookSettings> {
  const now = deps.now ?? Date.now;
  return settingsView(await deps.settings.get(principal), now());
}

/** Throws CALLBACK_URL_REFUSED unless the URL (and every address its host resolves to now) is acceptable. */
export async function requireAcceptableCallback(
  deps: Pick<WebhookSettingsDeps, 'policy' | 'resolver'>,
  url: string,
  field: string,
): Promise<void> {
  const verdict = await checkCallback(url, deps.policy, deps.resolver);
  if (!verdict.ok) {
    throw new DomainError('CALLBACK_URL_REFUSED', `${ERRORS.CALLBACK_URL_REFUSED.message.replace(/\.$/, '')}: ${verdict.reason}.`, {
      details: { field, reason: verdict.reason },
    });
  }
}

export async function putWebhookUrl(deps: WebhookSettingsDeps, principal: string, url: string | null): Promise<WebhookSettings> {
  const now = deps.now ?? Date.now;
  if (url !== null) await requireAcceptableCallback(deps, url, 'url');
  const stored = await deps.settings.putUrl(principal, url, new Date(now()).toISOString());
  logger.info('Webhook URL set', { cleared: url === null });
  return settingsView(stored, now());
}

/** Creates the first secret or rotates: the new one is returned this once; the old one keeps signing for the overlap. */
export async function rotateWebhookSecret(deps: WebhookSettingsDeps, principal: string): Promise<WebhookSecret> {
  const now = deps.now ?? Date.now;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await deps.settings.get(principal);
    const secret = newWebhookSecret();
    const nowMs = now();
    const createdAt = new Date(nowMs).toISOString();
    const until = new Date(nowMs + PREVIOUS_SECRET_OVERLAP_MS).toISOString();
    if (await deps.settings.rotateSecret(principal, current?.secret, secret, createdAt, until)) {
      logger.info('Webhook secret created', { rotated: current?.secret !== undefined });
      return { secret, createdAt };
    }
  }
  throw new DomainError('SERVER_BUSY', 'The webhook secret is being rotated by another request.', { retryAfterSeconds: 1 });
}

/**
 * The callback a new job gets: its own URL, else the principal's default;
 * undefined when neither. Refused URLs are 422, a missing secret 409.
 */
export async function resolveJobCallback(
  deps: WebhookSettingsDeps,
  principal: string,
  callbackUrl: string | undefined,
): Promise<{ url: string } | undefined> {
  const settings = await deps.settings.get(principal);
  const url = callbackUrl ?? settings?.url;
  if (!url) return undefined;
  await requireAcceptableCallback(deps, url, callbackUrl ? 'callbackUrl' : 'webhook.url');
  if (!settings?.secret) {
    throw new DomainError('WEBHOOK_NOT_CONFIGURED', ERRORS.WEBHOOK_NOT_CONFIGURED.message, {
      details: { hint: 'POST /webhook/secret first' },
    });
  }
  return { url };
}

// ---------------------------------------------------------------- delivery

export interface DeliveryDeps {
  store: JobStore;
  settings: WebhookSettingsStore;
  policy: CallbackPolicy;
  /** `k2p-web-webhooks/<version>`. */
  userAgent: string;
  resolver?: Resolver;
  /** The POST itself (tests may observe it); postCallback by default. */
  send?: (request: CallbackRequest) => Promise<AttemptResult>;
  now?: () => number;
  random?: () => number;
  /** Time left in this invocation; no new attempt starts when it is short. */
  remainingMs?: () => number;
}

export interface DeliverySummary {
  attempted: number;
  delivered: number;
  retrying: number;
  failed: number;
  /** Due jobs another sender claimed first. */
  skipped: number;
}

const BATCH = 25;
const PARALLEL = 8;

/** The secrets a delivery is signed with now: the current one, and the previous one during its overlap. */
function signingSecrets(settings: StoredWebhookSettings | undefined, nowMs: number): string[] {
  if (!settings?.secret) return [];
  const previousValid =
    settings.previousSecret && settings.previousSecretValidUntil && Date.parse(settings.previousSecretValidUntil) > nowMs;
  return previousValid ? [settings.secret, settings.previousSecret!] : [settings.secret];
}

async function attemptOne(deps: DeliveryDeps, seen: StoredJob, summary: DeliverySummary): Promise<void> {
  const now = deps.now ?? Date.now;
  if (!seen.webhookAt) return;
  const leaseUntil = new Date(now() + WEBHOOK_LEASE_MS).toISOString();
  const job = await deps.store.claimWebhook(seen.jobId, seen.webhookAt, leaseUntil);
  if (!job) {
    summary.skipped++;
    return;
  }
  summary.attempted++;
  const settings = await deps.settings.get(job.owner);
  const nowMs = now();
  let result: AttemptResult;
  const secrets = signingSecrets(settings, nowMs);
  if (!job.callback || !job.webhookEvent) result = { error: 'the job has no callback event to deliver' };
  else if (secrets.length === 0) result = { error: 'the API key has no webhook signing secret' };
  else {
    const body = JSON.stringify(webhookEvent({ ...job, webhookEvent: job.webhookEvent }));
    const t = Math.floor(nowMs / 1000);
    const request: CallbackRequest = {
      url: job.callback.url,
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': deps.userAgent,
        [WEBHOOK_SIGNATURE_HEADER]: signatureHeader(secrets, t, body),
        [WEBHOOK_EVENT_ID_HEADER]: job.webhookEvent.id,
      },
    };
    result = await (deps.send ?? ((r) => postCallback(r, deps.policy, { resolver: deps.resolver, timeoutMs: WEBHOOK_TIMEOUT_MS })))(
      request,
    );
  }
  const eventAt = Date.parse(job.webhookEvent?.at ?? job.webhookAt ?? new Date(nowMs).toISOString());
  const { delivery, nextAttemptMs } = afterAttempt(job.webhook, result, eventAt, now(), deps.random);
  const recorded = await deps.store.recordWebhookAttempt(
    job.jobId,
    leaseUntil,
    delivery,
    nextAttemptMs === undefined ? undefined : new Date(nextAttemptMs).toISOString(),
  );
  const log = { jobId: job.jobId, attempt: delivery.attempts, status: delivery.status, responseCode: delivery.lastResponseCode };
  if (!recorded) logger.warn('Webhook lease lost before the attempt was recorded', log);
  if (delivery.status === 'DELIVERED') {
    summary.delivered++;
    countMetric(METRIC.webhooksDelivered);
    logger.info('Webhook delivered', log);
  } else if (delivery.status === 'FAILED') {
    summary.failed++;
    countMetric(METRIC.webhooksFailed);
    logger.warn('Webhook delivery failed for good', { ...log, error: delivery.lastError });
  } else {
    summary.retrying++;
    countMetric(METRIC.webhookAttemptsFailed);
    logger.info('Webhook attempt failed; will retry', { ...log, error: delivery.lastError, nextAttemptAt: delivery.nextAttemptAt });
  }
}

async function attemptAll(deps: DeliveryDeps, due: StoredJob[], summary: DeliverySummary): Promise<void> {
  const queue = [...due];
  const roomFor = () => (deps.remainingMs ? deps.remainingMs() > WEBHOOK_TIMEOUT_MS + 10_000 : true);
  const worker = async () => {
    for (let job = queue.shift(); job && roomFor(); job = queue.shift()) {
      try {
        await attemptOne(deps, job, summary);
      } catch (error) {
        // The lease runs out and the job is due again: one job's storage error must not stop the others.
        logger.error('Webhook attempt could not be made', { jobId: job.jobId, error: error as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, due.length) }, worker));
}

const emptySummary = (): DeliverySummary => ({ attempted: 0, delivered: 0, retrying: 0, failed: 0, skipped: 0 });

/** Every delivery due now, batch after batch while time allows (the schedule's sweep). */
export async function deliverDueWebhooks(deps: DeliveryDeps): Promise<DeliverySummary> {
  const now = deps.now ?? Date.now;
  const summary = emptySummary();
  for (let round = 0; round < 40; round++) {
    const due = await deps.store.listWebhookDue(new Date(now()).toISOString(), BATCH);
    if (due.length === 0) break;
    const before = summary.attempted;
    await attemptAll(deps, due, summary);
    // Nothing taken (all claimed elsewhere, the index lagging behind, or no time left): the next sweep picks it up.
    if (summary.attempted === before) break;
  }
  return summary;
}

/** One job's delivery if it is due (the on-demand invocation right after a job ends). */
export async function deliverJobWebhook(deps: DeliveryDeps, jobId: string): Promise<DeliverySummary> {
  const now = deps.now ?? Date.now;
  const summary = emptySummary();
  const job = await deps.store.get(jobId);
  if (job?.webhookQueue && job.webhookAt && job.webhookAt <= new Date(now()).toISOString()) await attemptAll(deps, [job], summary);
  return summary;
}
