/**
 * The plain path is the reference: the fast path (core/node/fast-path/), each
 * piece alone and all together, must give exactly its verdicts (code,
 * message, entry and stats) on the sample workflows, intact and damaged.
 * (The unit and fuzz suites of the validator also run under both switch
 * positions.)
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BUNDLE_LIMITS } from '../../core/limits';
import { FAST_PATH_ENV, FAST_PIECES, parseFastPathSetting, type FastPiece } from '../../core/node/fast-path';
import { inflateMode } from '../../core/node/fast-path/inflate';
import { wasmXmlFastPath } from '../../core/node/fast-path/xml-wasm';
import { validateBundle, type ValidateOptions } from '../../core/node/validate-bundle';
import type { ValidationVerdict } from '../../core/types';
import { RECORD_BYTES } from '../../core/zip-format';
import { bundleFiles, sampleBundle, SAMPLES_DIR, zipFiles } from '../support/samples';
import { sampleNames } from '../support/zip-builder';

const SAMPLES = sampleNames();

/** Every non-empty set of pieces. */
const PIECE_SETS: { label: string; options: ValidateOptions }[] = [];
for (let mask = 1; mask < 1 << FAST_PIECES.length; mask++) {
  const pieces = FAST_PIECES.filter((_, i) => mask & (1 << i));
  PIECE_SETS.push({ label: pieces.join('+'), options: { fastPath: pieces } });
}

function plain(zip: Uint8Array): Promise<ValidationVerdict> {
  return validateBundle(zip, DEFAULT_BUNDLE_LIMITS, { fastPath: 'off' });
}

async function expectSameVerdicts(zip: Uint8Array): Promise<ValidationVerdict> {
  const reference = await plain(zip);
  for (const { label, options } of PIECE_SETS) {
    expect(await validateBundle(zip, DEFAULT_BUNDLE_LIMITS, options), label).toEqual(reference);
  }
  return reference;
}

/** Where each entry's compressed data lies, from the central directory. */
function dataRanges(zip: Uint8Array): { start: number; length: number }[] {
  const view = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = view.length - RECORD_BYTES.EOCD;
  const ranges: { start: number; length: number }[] = [];
  for (let at = view.readUInt32LE(end + 16); at < end;) {
    const local = view.readUInt32LE(at + 42);
    const start = local + RECORD_BYTES.LOCAL_HEADER + view.readUInt16LE(local + 26) + view.readUInt16LE(local + 28);
    ranges.push({ start, length: view.readUInt32LE(at + 20) });
    at += RECORD_BYTES.CENTRAL_HEADER + view.readUInt16LE(at + 28) + view.readUInt16LE(at + 30) + view.readUInt16LE(at + 32);
  }
  return ranges;
}

describe('the plain path', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env[FAST_PATH_ENV];
  });

  // First in this file: the zlib handle is chosen (and the WebAssembly loaded) on first use, once per thread.
  it('uses none of the fast pieces, whether switched off by option or by environment variable', async () => {
    const accepts = vi.spyOn(wasmXmlFastPath, 'accepts');
    expect((await plain(sampleBundle())).ok).toBe(true);
    process.env[FAST_PATH_ENV] = 'off';
    expect((await validateBundle(sampleBundle())).ok).toBe(true);
    expect(accepts).not.toHaveBeenCalled();
    expect(inflateMode()).toBe('not chosen yet');

    process.env[FAST_PATH_ENV] = 'wasm-xml,zlib-handle';
    expect((await validateBundle(sampleBundle())).ok).toBe(true);
    expect(accepts).toHaveBeenCalled();
    expect(inflateMode()).toBe('reused handle');
  });

  it('reads the switch: on, off or a list of pieces; anything else is an error', () => {
    expect(parseFastPathSetting(undefined)).toBe('on');
    expect(parseFastPathSetting(' on ')).toBe('on');
    expect(parseFastPathSetting('off')).toBe('off');
    expect(parseFastPathSetting('zlib-handle, wasm-xml')).toEqual<FastPiece[]>(['zlib-handle', 'wasm-xml']);
    expect(() => parseFastPathSetting('of')).toThrow(FAST_PATH_ENV);
    expect(() => parseFastPathSetting('wasm-xml,workers')).toThrow(/wasm-xml, zlib-handle/);
  });
});

describe('the fast path gives the plain path’s verdicts', () => {
  it.each(SAMPLES)('on the sample %s, with every set of pieces', async (sample) => {
    const verdict = await expectSameVerdicts(sampleBundle(sample));
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });

  it.each(SAMPLES)('on the sample %s with each file cut in half (XML_INVALID)', async (sample) => {
    const files = bundleFiles(join(SAMPLES_DIR, sample));
    for (const [path, data] of files) {
      const zip = zipFiles(new Map([...files, [path, data.subarray(0, data.length >> 1)]]));
      const verdict = await expectSameVerdicts(zip);
      expect(verdict, path).toMatchObject({ ok: false, code: 'XML_INVALID', entry: path });
    }
  });

  it.each(SAMPLES)('on the sample %s with a byte of each file’s compressed data changed (ZIP_CORRUPT)', async (sample) => {
    const zip = sampleBundle(sample);
    const ranges = dataRanges(zip);
    expect(ranges.length).toBe(bundleFiles(join(SAMPLES_DIR, sample)).size);
    for (const [i, { start, length }] of ranges.entries()) {
      const damaged = Uint8Array.from(zip);
      const at = start + (length >> 1);
      damaged[at] = damaged[at]! ^ 0x55;
      const verdict = await expectSameVerdicts(damaged);
      expect(verdict.ok ? 'accepted' : verdict.code, `entry ${i}`).toBe('ZIP_CORRUPT');
    }
  });
});
