/** POST /jobs: admit a job and hand back a presigned upload. */
import { CreateJobRequestSchema, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER, IdempotencyKeySchema } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import { toJobView } from '../decisions/job-view';
import { apiHandler, header, json, jsonBody, ownerOf } from '../runtime/http';
import {
  bucket,
  bundleLimits,
  callbackPolicy,
  capacity,
  idempotencyStore,
  jobObjects,
  jobStore,
  limits,
  s3Client,
  webhookSettings,
} from '../runtime/services';
import { createJob, type CreateJobDeps } from '../use-cases/job-creation';

const deps: CreateJobDeps = {
  store: jobStore(),
  capacity: capacity(),
  objects: jobObjects(),
  idempotency: idempotencyStore(),
  s3: s3Client(),
  bucket: bucket(),
  limits: limits(),
  bundleLimits: bundleLimits(),
  webhooks: { settings: webhookSettings(), policy: callbackPolicy() },
};

function idempotencyKeyOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const parsed = IdempotencyKeySchema.safeParse(raw);
  if (!parsed.success)
    throw new DomainError('INVALID_REQUEST', 'The Idempotency-Key header must be 1–255 printable ASCII characters.', {
      details: { header: IDEMPOTENCY_KEY_HEADER },
    });
  return parsed.data;
}

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const request = CreateJobRequestSchema.parse(jsonBody(event));
  const idempotencyKey = idempotencyKeyOf(header(event, IDEMPOTENCY_KEY_HEADER));
  const { created, job, upload } = await createJob(deps, { owner, request, idempotencyKey });
  const headers: Record<string, string> = { Location: `/jobs/${job.jobId}`, ...(created ? {} : { [IDEMPOTENT_REPLAY_HEADER]: 'true' }) };
  return json(201, { job: toJobView(job), ...(upload ? { upload } : {}) }, headers);
});
