/** Inputs of the state machine's Lambda steps: the payloads lib/conversion.ts hands to PrepareRun and RecordOutcome. */
import * as z from 'zod/mini';
import { JobIdSchema } from '../../core/api-schemas';

export const PrepareRunInputSchema = z.object({ jobId: JobIdSchema });

export const RecordOutcomeInputSchema = z.object({
  jobId: JobIdSchema,
  /**
   * The Catch's `{Error, Cause}` when the task failed, timed out or never started, or PrepareRun
   * failed; `{}` (or null) on the success path, which means no error.
   */
  taskError: z.pipe(
    z.nullish(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
    z.transform((value) => (value?.Error === undefined ? undefined : value)),
  ),
});
