/** S3 ObjectCreated on bundles/: validate the upload, then queue (and start) or reject the job. */
import type { S3Event } from 'aws-lambda';
import { validateBundle } from '../../core/node/validate-bundle';
import { eventHandler } from '../runtime/event-handler';
import { bundleLimits, capacity, executions, jobObjects, jobStore, limits } from '../runtime/services';
import { handleUploadRecord, type UploadOutcome, type UploadValidationDeps } from '../use-cases/upload-validation';

const deps: UploadValidationDeps = {
  store: jobStore(),
  capacity: capacity(),
  objects: jobObjects(),
  executions: executions(),
  validate: (zip, bundle) => validateBundle(zip, bundle),
  limits: limits(),
  bundleLimits: bundleLimits(),
};

export const handler = eventHandler<S3Event, { outcomes: UploadOutcome[] }>(async (event) => {
  const outcomes: UploadOutcome[] = [];
  // One at a time: a failure re-delivers the whole event, and every record is idempotent.
  for (const record of event.Records ?? []) outcomes.push(await handleUploadRecord(deps, record));
  return { outcomes };
});
