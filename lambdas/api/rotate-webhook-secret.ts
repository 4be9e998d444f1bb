/** POST /webhook/secret: create or rotate the caller's signing secret; the answer is the only time it is shown. */
import { apiHandler, json, ownerOf } from '../runtime/http';
import { callbackPolicy, webhookSettings } from '../runtime/services';
import { rotateWebhookSecret, type WebhookSettingsDeps } from '../use-cases/webhooks';

const deps: WebhookSettingsDeps = { settings: webhookSettings(), policy: callbackPolicy() };

export const handler = apiHandler(async (event) => json(201, await rotateWebhookSecret(deps, ownerOf(event))));
