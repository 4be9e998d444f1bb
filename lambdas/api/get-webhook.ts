/** GET /webhook: the caller's default callback URL and when its signing secret was made (never the secret). */
import { apiHandler, json, ownerOf } from '../runtime/http';
import { callbackPolicy, webhookSettings } from '../runtime/services';
import { getWebhookSettings, type WebhookSettingsDeps } from '../use-cases/webhooks';

const deps: WebhookSettingsDeps = { settings: webhookSettings(), policy: callbackPolicy() };

export const handler = apiHandler(async (event) => json(200, await getWebhookSettings(deps, ownerOf(event))));
