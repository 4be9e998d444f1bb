/** GET /jobs/{id}/result: 302 to a short-lived download (or the link as JSON with ?redirect=false). */
import { DEFAULT_WORKFLOW_NAME, resultFilename, ResultQuerySchema } from '../../core/api-schemas';
import { DomainError } from '../../core/errors';
import { apiHandler, json, ownerOf, pathJobId, redirect } from '../runtime/http';
import { bucket, jobObjects, jobStore, limits, s3Client } from '../runtime/services';
import { resultDownloadUrl } from '../storage/presign-download';
import { requireOwnedJob, requireResult } from '../use-cases/job-queries';

const store = jobStore();
const objects = jobObjects();
const { downloadUrlSeconds } = limits();

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const query = ResultQuerySchema.parse(event.queryStringParameters ?? {});
  const job = await requireOwnedJob(store, pathJobId(event), owner);
  requireResult(job, Date.now());
  // Lifecycle rules may remove a result independently of the job record.
  if ((await objects.size(job.jobId, 'result')) === undefined) throw new DomainError('RESULT_GONE');
  const workflowName = job.workflowName ?? DEFAULT_WORKFLOW_NAME;
  const url = await resultDownloadUrl(s3Client(), bucket(), job.jobId, workflowName, downloadUrlSeconds);
  if (query.redirect === 'false') {
    const expiresAt = new Date(Date.now() + downloadUrlSeconds * 1000).toISOString();
    return json(200, { url, expiresAt, filename: resultFilename(workflowName) });
  }
  return redirect(url);
});
