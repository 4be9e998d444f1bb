/**
 * GET /jobs/{id}: the job as its owner sees it; Retry-After while it is still moving.
 * With `waitSeconds`, a job still moving is held until its status changes (or the wait ends).
 */
import { GetJobQuerySchema, JOB_WAIT_HEADER } from '../../core/api-schemas';
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf, pathJobId } from '../runtime/http';
import { jobStore } from '../runtime/services';
import { requireOwnedJob } from '../use-cases/job-queries';
import { waitForJobChange } from '../use-cases/job-waiting';

const store = jobStore();

/** Kept free of the function's remaining time, so the answer (not a timeout) always reaches the client. */
const ANSWER_MARGIN_MS = 3000;

export const handler = apiHandler(async (event, context) => {
  const owner = ownerOf(event);
  const { waitSeconds } = GetJobQuerySchema.parse(event.queryStringParameters ?? {});
  const jobId = pathJobId(event);
  let job;
  const headers: Record<string, string> = {};
  if (waitSeconds === undefined) {
    job = await requireOwnedJob(store, jobId, owner);
  } else {
    const waitMs = Math.max(0, Math.min(waitSeconds * 1000, context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS));
    job = await waitForJobChange(store, jobId, owner, { waitMs });
    headers[JOB_WAIT_HEADER] = String(Math.floor(waitMs / 1000));
  }
  const view = toJobView(job);
  if (view.retryAfterSeconds) headers['Retry-After'] = String(view.retryAfterSeconds);
  return json(200, view, headers);
});
