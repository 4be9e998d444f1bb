/** GET /jobs/{id}/logs: the conversion log (log.txt) as UTF-8 text, for the job's owner only. */
import { apiHandler, ownerOf, pathJobId, text } from '../runtime/http';
import { jobObjects, jobStore } from '../runtime/services';
import { readJobLog } from '../use-cases/job-logs';

const store = jobStore();
const objects = jobObjects();

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  return text(200, await readJobLog(store, objects, pathJobId(event), owner));
});
