/** GET /admin/jobs/{id}/logs: any owner's conversion log (log.txt) as UTF-8 text (admin role; reading is not audited). */
import { apiHandler, pathJobId, requireRole, text } from '../runtime/http';
import { jobObjects, jobStore } from '../runtime/services';
import { readJobLog } from '../use-cases/job-logs';

const store = jobStore();
const objects = jobObjects();

export const handler = apiHandler(async (event) => {
  requireRole(event, 'admin');
  return text(200, await readJobLog(store, objects, pathJobId(event)));
});
