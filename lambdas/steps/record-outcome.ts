/** State RecordOutcome: read report.json, end the job terminal, free its slot (idempotent on retries). */
import { eventHandler } from '../runtime/event-handler';
import { capacity, jobObjects, jobStore, limits } from '../runtime/services';
import { recordOutcome, type RecordOutcomeDeps, type RecordOutcomeOutput } from '../use-cases/conversion-steps';
import { RecordOutcomeInputSchema } from './step-schemas';

const deps: RecordOutcomeDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), limits: limits() };

export const handler = eventHandler<unknown, RecordOutcomeOutput>(async (event) => {
  const { jobId, taskError } = RecordOutcomeInputSchema.parse(event);
  return recordOutcome(deps, jobId, taskError);
});
