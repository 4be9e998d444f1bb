/** GET /jobs: the caller's jobs, newest first, paginated with an opaque nextToken. */
import { DEFAULT_LIST_LIMIT, ListJobsQuerySchema } from '../../core/api-schemas';
import { toJobView } from '../decisions/job-view';
import { apiHandler, json, ownerOf } from '../runtime/http';
import { jobStore } from '../runtime/services';
import { listOwnedJobs } from '../use-cases/job-queries';

const store = jobStore();

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const query = ListJobsQuerySchema.parse(event.queryStringParameters ?? {});
  const page = await listOwnedJobs(store, owner, query.limit ?? DEFAULT_LIST_LIMIT, query.nextToken);
  return json(200, { jobs: page.jobs.map(toJobView), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
});
