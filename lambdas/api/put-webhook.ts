/** PUT /webhook: set or clear the caller's default callback URL (checked like a job's callbackUrl). */
import { PutWebhookRequestSchema } from '../../core/api-schemas';
import { apiHandler, json, jsonBody, ownerOf } from '../runtime/http';
import { callbackPolicy, webhookSettings } from '../runtime/services';
import { putWebhookUrl, type WebhookSettingsDeps } from '../use-cases/webhooks';

const deps: WebhookSettingsDeps = { settings: webhookSettings(), policy: callbackPolicy() };

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const request = PutWebhookRequestSchema.parse(jsonBody(event));
  return json(200, await putWebhookUrl(deps, owner, request.url));
});
