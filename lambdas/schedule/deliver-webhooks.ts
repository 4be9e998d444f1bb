/**
 * Scheduled (every minute): deliver every due job.finished event. Invoked
 * asynchronously with `{jobId}` right after a conversion ends: deliver that one now.
 */
import { JobIdSchema } from '../../core/api-schemas';
import { eventHandler } from '../runtime/event-handler';
import { callbackPolicy, jobStore, webhookSettings } from '../runtime/services';
import { versionInfo } from '../runtime/config';
import { deliverDueWebhooks, deliverJobWebhook, type DeliveryDeps, type DeliverySummary } from '../use-cases/webhooks';

const deps: DeliveryDeps = {
  store: jobStore(),
  settings: webhookSettings(),
  policy: callbackPolicy(),
  userAgent: `k2p-web-webhooks/${versionInfo().version}`,
};

export const handler = eventHandler<{ jobId?: unknown }, DeliverySummary>(async (event, context) => {
  const withTime = { ...deps, remainingMs: () => context.getRemainingTimeInMillis() };
  const jobId = JobIdSchema.safeParse(event?.jobId);
  return jobId.success ? deliverJobWebhook(withTime, jobId.data) : deliverDueWebhooks(withTime);
});
