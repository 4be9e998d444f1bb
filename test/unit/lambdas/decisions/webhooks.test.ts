/**
 * Webhook decisions: the signature header (one v1 per secret), the event a
 * job's first terminal state produces, and the retry schedule (30 s doubling,
 * capped at an hour, jittered, for at least 24 hours, then FAILED).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookEventSchema } from '../../../../core/api-schemas';
import {
  afterAttempt,
  newWebhookSecret,
  retryDelayMs,
  signatureHeader,
  webhookEvent,
  WEBHOOK_RETRY,
  type EventJob,
} from '../../../../lambdas/decisions/webhooks';

const hmac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');

describe('signing', () => {
  it('signs `t.body` with every secret given, current first', () => {
    const body = '{"type":"job.finished"}';
    expect(signatureHeader(['whsec_new'], 1_700_000_000, body)).toBe(`t=1700000000,v1=${hmac('whsec_new', `1700000000.${body}`)}`);
    const both = signatureHeader(['whsec_new', 'whsec_old'], 1_700_000_000, body);
    expect(both.split(',')).toEqual([
      't=1700000000',
      `v1=${hmac('whsec_new', `1700000000.${body}`)}`,
      `v1=${hmac('whsec_old', `1700000000.${body}`)}`,
    ]);
  });

  it('changes with the body, the timestamp and the secret', () => {
    const base = signatureHeader(['s'], 1, 'a');
    expect(signatureHeader(['s'], 1, 'b')).not.toBe(base);
    expect(signatureHeader(['s'], 2, 'a').split(',')[1]).not.toBe(base.split(',')[1]);
    expect(signatureHeader(['t'], 1, 'a')).not.toBe(base);
  });

  it('makes secrets of 32 random bytes behind whsec_', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

describe('the event', () => {
  const job: EventJob = {
    jobId: 'mb1x9k2f0q7h3c5n8r2t4v6w1',
    workflowName: 'Churn',
    resultExpiresAt: '2025-05-13T09:14:41.871Z',
    finishedAt: '2025-05-06T09:14:41.871Z',
    webhookEvent: { id: 'e1', status: 'SUCCEEDED', at: '2025-05-06T09:14:42.000Z' },
  };

  it('describes the first terminal state, with the result expiry but no link or secret', () => {
    const event = webhookEvent(job);
    expect(WebhookEventSchema.parse(event)).toEqual(event);
    expect(event).toEqual({
      type: 'job.finished',
      id: 'e1',
      createdAt: '2025-05-06T09:14:42.000Z',
      job: {
        jobId: job.jobId,
        status: 'SUCCEEDED',
        code: null,
        workflowName: 'Churn',
        resultExpiresAt: '2025-05-13T09:14:41.871Z',
        finishedAt: '2025-05-06T09:14:41.871Z',
      },
    });
    expect(JSON.stringify(event)).not.toMatch(/https?:|X-Amz|whsec_/);
  });

  it('reports the error code of a failed job, and no result expiry', () => {
    const failed = webhookEvent({
      ...job,
      error: { code: 'CONVERTER_PARSE_ERROR', message: 'x' },
      webhookEvent: { id: 'e2', status: 'FAILED', at: job.finishedAt! },
    });
    expect(failed.job).toMatchObject({ status: 'FAILED', code: 'CONVERTER_PARSE_ERROR', resultExpiresAt: null });
  });

  it('keeps the first terminal state although the job moved on (SUCCEEDED, then DELETED)', () => {
    const { finishedAt: _f, ...unfinished } = job;
    const event = webhookEvent({ ...unfinished, webhookEvent: { id: 'e3', status: 'EXPIRED', at: '2025-05-06T10:00:00.000Z' } });
    expect(event.job).toMatchObject({ status: 'EXPIRED', finishedAt: '2025-05-06T10:00:00.000Z' });
  });
});

describe('the retry schedule', () => {
  it('waits 30 s, doubling, capped at an hour; jitter only shortens by up to 20 %', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map((n) => retryDelayMs(n, noJitter) / 1000)).toEqual([
      30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600,
    ]);
    expect(retryDelayMs(1, () => 1)).toBe(24_000);
    expect(retryDelayMs(12, () => 0.5)).toBe(3_240_000);
  });

  const at = (ms: number) => new Date(ms).toISOString();
  const eventAt = Date.parse('2025-05-06T00:00:00.000Z');

  it('marks 2xx delivered, anything else (3xx included) a failure to retry', () => {
    expect(afterAttempt(undefined, { status: 204 }, eventAt, eventAt, () => 0).delivery).toEqual({
      status: 'DELIVERED',
      attempts: 1,
      lastAttemptAt: at(eventAt),
      lastResponseCode: 204,
      lastError: null,
      nextAttemptAt: null,
    });
    const redirected = afterAttempt(undefined, { status: 302, location: 'https://elsewhere.example/' }, eventAt, eventAt, () => 0);
    expect(redirected.delivery).toMatchObject({ status: 'PENDING', lastResponseCode: 302, nextAttemptAt: at(eventAt + 30_000) });
    expect(redirected.delivery.lastError).toMatch(/redirect \(HTTP 302 to https:\/\/elsewhere\.example\/\) not followed/);
    expect(afterAttempt(undefined, { error: 'ECONNREFUSED: connect ECONNREFUSED' }, eventAt, eventAt, () => 0).delivery).toMatchObject({
      status: 'PENDING',
      lastResponseCode: null,
      lastError: 'ECONNREFUSED: connect ECONNREFUSED',
    });
  });

  it('keeps retrying for at least 24 hours, then gives up (FAILED)', () => {
    let now = eventAt;
    let delivery = undefined as ReturnType<typeof afterAttempt>['delivery'] | undefined;
    const attemptsAt: number[] = [];
    for (;;) {
      attemptsAt.push(now);
      const next = afterAttempt(delivery, { status: 503 }, eventAt, now, () => 1);
      delivery = next.delivery;
      if (next.nextAttemptMs === undefined) break;
      now = next.nextAttemptMs;
    }
    expect(delivery.status).toBe('FAILED');
    expect(delivery.nextAttemptAt).toBeNull();
    expect(attemptsAt.at(-1)! - eventAt).toBeGreaterThanOrEqual(WEBHOOK_RETRY.retryWindowMs);
    expect(attemptsAt.at(-2)! - eventAt).toBeLessThan(WEBHOOK_RETRY.retryWindowMs);
    // With the shortest jitter every wait: 8 growing waits (≈ 51 min), then hourly at 48 min each.
    expect(delivery.attempts).toBe(attemptsAt.length);
    expect(delivery.attempts).toBeGreaterThan(25);
    expect(delivery.attempts).toBeLessThan(40);
  });
});
