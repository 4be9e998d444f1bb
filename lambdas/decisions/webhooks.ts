/**
 * Webhook decisions, pure: the event a job's first terminal state produces
 * (never a presigned URL or a secret), its signature header, what an attempt's
 * outcome means, and when to try again (exponential back-off with jitter,
 * capped, for at least the retry window, then FAILED).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { DEFAULT_WORKFLOW_NAME, WEBHOOK_EVENT_TYPE, WEBHOOK_SECRET_PREFIX, type WebhookEvent } from '../../core/api-schemas';
import { isErrorCode } from '../../core/errors';
import type { JobRecord, WebhookDelivery } from '../../core/types';

export const WEBHOOK_RETRY = Object.freeze({
  /** Wait after the first failed attempt; doubles after each further one. */
  firstDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  /** Up to this share of a delay is taken off at random, so failed receivers are not hit in lockstep. */
  jitter: 0.2,
  /** Attempts go on until one fails this long after the event; then the delivery is FAILED. */
  retryWindowMs: 24 * 3_600_000,
});

/** How long a sender owns a claimed delivery; longer than one attempt (10 s timeout) plus bookkeeping. */
export const WEBHOOK_LEASE_MS = 60_000;
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** A new signing secret: `whsec_` + 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** hex(HMAC-SHA256(secret, `${t}.${body}`)): the key is the secret string as UTF-8. */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}

/** `t=<unix>,v1=<sig>[,v1=<sig of the previous secret>]`. */
export function signatureHeader(secrets: readonly string[], timestampSeconds: number, body: string): string {
  return [`t=${timestampSeconds}`, ...secrets.map((secret) => `v1=${webhookSignature(secret, timestampSeconds, body)}`)].join(',');
}

export type EventJob = Pick<JobRecord, 'jobId' | 'workflowName' | 'error' | 'resultExpiresAt' | 'finishedAt'> &
  Required<Pick<JobRecord, 'webhookEvent'>>;

/** The job.finished event for the job's first terminal state. */
export function webhookEvent(job: EventJob): WebhookEvent {
  const first = job.webhookEvent;
  const code = first.status === 'SUCCEEDED' || !job.error || !isErrorCode(job.error.code) ? null : job.error.code;
  return {
    type: WEBHOOK_EVENT_TYPE,
    id: first.id,
    createdAt: first.at,
    job: {
      jobId: job.jobId,
      status: first.status,
      code,
      workflowName: job.workflowName ?? DEFAULT_WORKFLOW_NAME,
      resultExpiresAt: first.status === 'SUCCEEDED' ? (job.resultExpiresAt ?? null) : null,
      finishedAt: job.finishedAt ?? first.at,
    },
  };
}

/** What one attempt came to: a response (any status) or no response at all. */
export type AttemptResult = { status: number; location?: string } | { error: string };

export function attemptDelivered(result: AttemptResult): boolean {
  return 'status' in result && result.status >= 200 && result.status < 300;
}

function attemptError(result: AttemptResult): string | null {
  if ('error' in result) return result.error;
  if (result.status >= 300 && result.status < 400) {
    return `redirect (HTTP ${result.status}${result.location ? ` to ${result.location}` : ''}) not followed; answer 2xx at the URL itself`;
  }
  return attemptDelivered(result) ? null : `HTTP ${result.status}`;
}

/** Delay before the next attempt after `failures` failed attempts (≥ 1). */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(WEBHOOK_RETRY.firstDelayMs * 2 ** Math.max(0, failures - 1), WEBHOOK_RETRY.maxDelayMs);
  return Math.round(base * (1 - WEBHOOK_RETRY.jitter * random()));
}

/** The delivery record after an attempt at `nowMs`, and when the next one is due (undefined: done). */
export function afterAttempt(
  previous: WebhookDelivery | undefined,
  result: AttemptResult,
  eventAtMs: number,
  nowMs: number,
  random: () => number = Math.random,
): { delivery: WebhookDelivery; nextAttemptMs?: number } {
  const attempts = (previous?.attempts ?? 0) + 1;
  const base = {
    attempts,
    lastAttemptAt: new Date(nowMs).toISOString(),
    lastResponseCode: 'status' in result ? result.status : null,
    lastError: attemptError(result),
  };
  if (attemptDelivered(result)) return { delivery: { ...base, status: 'DELIVERED', nextAttemptAt: null } };
  if (nowMs - eventAtMs >= WEBHOOK_RETRY.retryWindowMs) return { delivery: { ...base, status: 'FAILED', nextAttemptAt: null } };
  const nextAttemptMs = nowMs + retryDelayMs(attempts, random);
  return { delivery: { ...base, status: 'PENDING', nextAttemptAt: new Date(nextAttemptMs).toISOString() }, nextAttemptMs };
}

/** The record a job with a callback starts with. */
export const PENDING_DELIVERY: WebhookDelivery = Object.freeze({
  status: 'PENDING',
  attempts: 0,
  lastAttemptAt: null,
  lastResponseCode: null,
  lastError: null,
  nextAttemptAt: null,
});
