/** GET /jobs: the caller's jobs, newest first, paginated with an opaque nextToken. */
import { ListJobsQuerySchema } from '../../core/api-schemas';
import { createDocumentClient } from '../storage/dynamodb-client';
import { tableConfig } from '../runtime/config';
import { apiHandler, json, ownerOf } from '../runtime/http';
import { listOwnedJobs } from '../use-cases/job-queries';
import { JobStore } from '../storage/job-store';
import { toJobView } from '../decisions/job-view';

const DEFAULT_PAGE_SIZE = 20;
const store = new JobStore(createDocumentClient(), tableConfig().tableName);

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const query = ListJobsQuerySchema.parse(event.queryStringParameters ?? {});
  const page = await listOwnedJobs(store, owner, query.limit ?? DEFAULT_PAGE_SIZE, query.nextToken);
  return json(200, { jobs: page.jobs.map(toJobView), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
});
