import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../core/errors';
import { DEFAULT_BUNDLE_LIMITS } from '../../core/limits';
import { validateBundle } from '../../core/node/validate-bundle';
import type { ValidationVerdict } from '../../core/types';
import { buildZip, folderEntries, minimalBundle, SAMPLES_DIR } from '../support/zip-builder';

const seeds = [
  buildZip({ entries: minimalBundle() }),
  buildZip({ entries: folderEntries(join(SAMPLES_DIR, '_synthetic_nested')) }),
  buildZip({ entries: folderEntries(join(SAMPLES_DIR, 'KNIME_io_csv')) }),
];

/** The plain path's verdict on the same bytes: the fast path must give exactly it (code, message, entry, stats). */
async function expectPlainAgrees(zip: Uint8Array, verdict: ValidationVerdict): Promise<void> {
  expect(await validateBundle(zip, DEFAULT_BUNDLE_LIMITS, { fastPath: 'off' })).toEqual(verdict);
}

describe('validateBundle under random corruption (property)', () => {
  it('always returns a verdict with a known code, never throws, and stays within time and memory bounds', async () => {
    const rssBefore = process.memoryUsage().rss;
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (seedIndex, edits, cut) => {
          const zip = Buffer.from(seeds[seedIndex]!);
          for (const [position, value] of edits) zip[position % zip.length] = value;
          const input = cut === undefined ? zip : zip.subarray(0, cut % (zip.length + 1));
          const started = performance.now();
          const verdict = await validateBundle(input);
          slowest = Math.max(slowest, performance.now() - started);
          await expectPlainAgrees(input, verdict);
          if (!verdict.ok) {
            expect(Object.keys(ERRORS)).toContain(verdict.code);
            expect(ERRORS[verdict.code].family).toBe('bundle');
            expect(typeof verdict.message).toBe('string');
          }
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1500), seed: Number(process.env.FUZZ_SEED ?? 7) },
    );
    expect(slowest).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  }, 120_000);

  it('mutations of header fields (sizes, offsets, counts) never escape the bounds', async () => {
    // Aim at the 32-bit size/offset fields of every header: the values attackers lie with.
    const zip = seeds[1]!;
    const fieldOffsets: number[] = [];
    for (let i = 0; i + 4 <= zip.length; i++) {
      const signature = zip.readUInt32LE(i);
      if (signature === 0x04034b50) fieldOffsets.push(i + 14, i + 18, i + 22, i + 26);
      if (signature === 0x02014b50) fieldOffsets.push(i + 16, i + 20, i + 24, i + 28, i + 42);
      if (signature === 0x06054b50) fieldOffsets.push(i + 8, i + 10, i + 12, i + 16);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fieldOffsets),
        fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 0xffff, 0x10000, 46),
        async (at, value) => {
          const mutated = Buffer.from(zip);
          mutated.writeUInt32LE(value >>> 0, at);
          const started = performance.now();
          const verdict = await validateBundle(mutated);
          expect(performance.now() - started).toBeLessThan(1000);
          expect(typeof verdict.ok).toBe('boolean');
          await expectPlainAgrees(mutated, verdict);
        },
      ),
      { numRuns: 600, seed: 11 },
    );
  }, 120_000);
});
