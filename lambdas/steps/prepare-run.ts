/** State PrepareRun: QUEUED → RUNNING and the runner's presigned URLs; skip when the job is gone. */
import { eventHandler } from '../runtime/event-handler';
import { bucket, jobStore, limits, s3Client } from '../runtime/services';
import { prepareRun, type PrepareRunDeps, type PrepareRunOutput } from '../use-cases/conversion-steps';
import { PrepareRunInputSchema } from './step-schemas';

const deps: PrepareRunDeps = { store: jobStore(), s3: s3Client(), bucket: bucket(), limits: limits() };

export const handler = eventHandler<unknown, PrepareRunOutput>(async (event) => {
  const { jobId } = PrepareRunInputSchema.parse(event);
  return prepareRun(deps, jobId);
});
