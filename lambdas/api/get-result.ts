/** GET /jobs/{id}/result: 302 to a short-lived download (or the link as JSON with ?redirect=false). */
import { DEFAULT_WORKFLOW_NAME, resultFilename, ResultQuerySchema } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { bucketName, tableConfig } from '../runtime/config';
import { apiHandler, json, ownerOf, pathJobId, redirect } from '../runtime/http';
import { JobObjects } from '../storage/job-objects';
import { requireOwnedJob, requireResult } from '../use-cases/job-queries';
import { JobStore } from '../storage/job-store';
import { resultDownloadUrl } from '../storage/presign-download';

const { tableName, limits } = tableConfig();
const store = new JobStore(createDocumentClient(), tableName);
const s3 = createS3Client();
const bucket = bucketName();
const objects = new JobObjects(s3, bucket);

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const query = ResultQuerySchema.parse(event.queryStringParameters ?? {});
  const job = await requireOwnedJob(store, pathJobId(event), owner);
  requireResult(job, Date.now());
  // Lifecycle rules may remove a result independently of the job record.
  if ((await objects.size(job.jobId, 'result')) === undefined) throw new DomainError('RESULT_GONE');
  const workflowName = job.workflowName ?? DEFAULT_WORKFLOW_NAME;
  const url = await resultDownloadUrl(s3, bucket, job.jobId, workflowName, limits.downloadUrlSeconds);
  if (query.redirect === 'false') {
    const expiresAt = new Date(Date.now() + limits.downloadUrlSeconds * 1000).toISOString();
    return json(200, { url, expiresAt, filename: resultFilename(workflowName) });
  }
  return redirect(url);
});
