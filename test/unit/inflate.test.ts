import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inflateRawPublic } from '../../core/node/entry-check';
import { entryEngine } from '../../core/node/fast-path';
import { InflateError, inflateMode, inflateRawInto, inflateRawIntoPublic } from '../../core/node/fast-path/inflate';

type Outcome = { written: number; bytes: string } | { error: true };

/**
 * What the validator makes of an outcome: the inflated bytes, or a rejection
 * (corrupt, or longer than the cap; which of the two may depend on how much
 * output room zlib had when it met the damage).
 */
function verdict(outcome: Outcome): string {
  return 'error' in outcome || outcome.bytes === '(full)' ? 'rejected' : outcome.bytes;
}

function run(inflate: typeof inflateRawInto, input: Uint8Array, cap: number): Outcome {
  const output = new Uint8Array(cap);
  try {
    const written = inflate(input, output);
    // A full output means "longer than the cap": its contents are not defined then.
    return { written, bytes: written === cap ? '(full)' : Buffer.from(output.subarray(0, written)).toString('hex') };
  } catch (error) {
    expect(error).toBeInstanceOf(InflateError);
    return { error: true };
  }
}

describe('inflateRawInto', () => {
  it('reuses one zlib handle on this Node version (else it falls back to the public API, slower)', () => {
    inflateRawInto(zlib.deflateRawSync(Buffer.from('x')), new Uint8Array(2));
    expect(inflateMode()).toBe('reused handle');
  });

  it('inflates exactly, reports output beyond the cap as a full output, and fails on corrupt or truncated data', () => {
    const text = Buffer.from('<entry key="a" type="xstring" value="b"/>\n'.repeat(1000));
    const deflated = zlib.deflateRawSync(text);
    expect(run(inflateRawInto, deflated, text.length + 1)).toEqual({ written: text.length, bytes: text.toString('hex') });
    expect(run(inflateRawInto, deflated, 1000)).toMatchObject({ written: 1000 });
    expect(run(inflateRawInto, deflated.subarray(0, 10), text.length + 1)).toEqual({ error: true });
    expect(run(inflateRawInto, Buffer.from([0xff, 0xff, 0xff]), 100)).toEqual({ error: true });
    // The handle recovers after an error.
    expect(run(inflateRawInto, deflated, text.length + 1)).toMatchObject({ written: text.length });
    expect(run(inflateRawInto, zlib.deflateRawSync(Buffer.alloc(0)), 1)).toEqual({ written: 0, bytes: '' });
  });

  it('agrees with the public API on random and damaged streams (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 9 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.integer({ min: -5, max: 5 }),
        (data, level, flips, slack) => {
          const deflated = Uint8Array.from(zlib.deflateRawSync(data, { level }));
          for (const [at, value] of flips) if (deflated.length > 0) deflated[at % deflated.length] = value;
          const cap = Math.max(1, data.length + 1 + slack);
          expect(verdict(run(inflateRawInto, deflated, cap))).toBe(verdict(run(inflateRawIntoPublic, deflated, cap)));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000), seed: Number(process.env.FUZZ_SEED ?? 20261122) },
    );
  });

  it('gives exactly the plain path’s outcome: the same bytes, "too long" or error message (property)', () => {
    const handle = entryEngine(['zlib-handle']);
    const outcome = (inflate: typeof inflateRawPublic, input: Uint8Array, maxBytes: number) => {
      try {
        const data = inflate(input, maxBytes);
        return data ? Buffer.from(data).toString('hex') : 'too long';
      } catch (error) {
        expect(error).toBeInstanceOf(InflateError);
        return `error: ${(error as Error).message}`;
      }
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.integer({ min: -80, max: 5 }),
        fc.nat(),
        (data, unfinished, flips, slack, cut) => {
          // An unfinished stream (no final block) ends where its data does: the "cut right after the output" case.
          const options = unfinished ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {};
          const deflated = Uint8Array.from(zlib.deflateRawSync(data, options)).subarray(0, cut % 4 === 0 ? undefined : cut);
          for (const [at, value] of flips) if (deflated.length > 0) deflated[at % deflated.length] = value;
          const maxBytes = Math.max(0, data.length + slack);
          expect(outcome(handle.inflate, deflated, maxBytes)).toBe(outcome(inflateRawPublic, deflated, maxBytes));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000), seed: Number(process.env.FUZZ_SEED ?? 20261122) },
    );
  });
});
