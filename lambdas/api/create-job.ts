/** POST /jobs: admit a job and hand back a presigned upload. */
import { CreateJobRequestSchema, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER, IdempotencyKeySchema } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { Capacity } from '../storage/capacity';
import { bucketName, bundleLimits, tableConfig } from '../runtime/config';
import { apiHandler, header, json, jsonBody, ownerOf } from '../runtime/http';
import { IdempotencyStore } from '../storage/idempotency';
import { createJob, type CreateJobDeps } from '../use-cases/job-creation';
import { JobStore } from '../storage/job-store';
import { toJobView } from '../decisions/job-view';

const ddb = createDocumentClient();
const { tableName, limits } = tableConfig();
const deps: CreateJobDeps = {
  store: new JobStore(ddb, tableName),
  capacity: new Capacity(ddb, tableName),
  idempotency: new IdempotencyStore(ddb, tableName),
  s3: createS3Client(),
  bucket: bucketName(),
  limits,
  bundleLimits: bundleLimits(),
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
