/** Inputs of the state machine's Lambda steps (ARCHITECTURE.md / lib/ conversion construct). */
import * as z from 'zod/mini';
import { JobIdSchema } from '../../core/api-schemas';

export const PrepareRunInputSchema = z.object({ jobId: JobIdSchema });

export const RecordOutcomeInputSchema = z.object({
  jobId: JobIdSchema,
  /** Present when the task failed, timed out or never started, or PrepareRun failed (the Catch's `{Error, Cause}`). */
  taskError: z.pipe(
    z.nullish(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
    z.transform((value) => value ?? undefined),
  ),
});
