import { describe, expect, it } from 'vitest';
import { RecordOutcomeInputSchema } from '../../../../lambdas/steps/step-schemas';

describe('RecordOutcome input', () => {
  it('reads the success path’s empty taskError (and null) as no error, and keeps a caught error', () => {
    expect(RecordOutcomeInputSchema.parse({ jobId: 'abcdefgh1234', taskError: {} }).taskError).toBeUndefined();
    expect(RecordOutcomeInputSchema.parse({ jobId: 'abcdefgh1234', taskError: null }).taskError).toBeUndefined();
    expect(RecordOutcomeInputSchema.parse({ jobId: 'abcdefgh1234', taskError: { Error: 'States.Timeout', Cause: 'x' } }).taskError).toEqual(
      {
        Error: 'States.Timeout',
        Cause: 'x',
      },
    );
  });
});
