/**
 * One reading of the archive (core/zip-structure.ts), checked through both of
 * its readers: the server's validator and the page's and CLI's archive reader
 * (zipSourceFiles, then the bundler). Each class of inconsistency from the ZIP
 * specification (APPNOTE 6.3.x) is generated on random well-formed bundles
 * (stored or deflate, with or without data descriptors and their signature,
 * ZIP64 or not), and both readers must refuse it with the same code, naming
 * the entry when there is one; the well-formed archives themselves, small
 * ZIP64 ones included, must be accepted by both.
 */
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBundle } from '../../core/bundler';
import type { BundleErrorCode } from '../../core/errors';
import { resolveBundleLimits } from '../../core/limits';
import { validateBundle } from '../../core/node/validate-bundle';
import { bytesSource, ZipReadError, zipSourceFiles } from '../../core/zip-read';
import { buildZip, crc32, SETTINGS_XML, workflowXml, type ZipEntrySpec, type ZipSpec } from '../support/zip-builder';

type Verdict = { ok: true } | { ok: false; code: BundleErrorCode; entry?: string; message: string };

async function validatorVerdict(zip: Uint8Array): Promise<Verdict> {
  const verdict = await validateBundle(zip, undefined, { fastPath: 'off' });
  return verdict.ok
    ? { ok: true }
    : { ok: false, code: verdict.code, message: verdict.message, ...(verdict.entry ? { entry: verdict.entry } : {}) };
}

/** What the page and the CLI make of the same archive as a `.knwf`/`.zip` export. */
async function readerVerdict(zip: Uint8Array): Promise<Verdict> {
  try {
    const result = await buildBundle(await zipSourceFiles(bytesSource(zip)));
    if (result.ok) return { ok: true };
    const [first] = result.errors;
    return { ok: false, code: first!.code as BundleErrorCode, message: first!.message, ...(first!.path ? { entry: first!.path } : {}) };
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    return { ok: false, code: error.code, message: error.message, ...(error.entry ? { entry: error.entry } : {}) };
  }
}

async function expectRefusedByBoth(zip: Uint8Array, code: BundleErrorCode, entry: string | undefined, detail: RegExp): Promise<void> {
  for (const [reader, verdict] of [
    ['validator', await validatorVerdict(zip)],
    ['archive reader', await readerVerdict(zip)],
  ] as const) {
    expect(verdict, reader).toMatchObject({ ok: false, code });
    if (verdict.ok) continue;
    if (entry !== undefined) expect(verdict.entry, reader).toBe(entry);
    expect(verdict.message, reader).toMatch(detail);
  }
}

/** How one entry is written: all of these are well-formed. */
const entryShape = fc.record({
  method: fc.constantFrom(0, 8),
  dataDescriptor: fc.boolean(),
  descriptorWithoutSignature: fc.boolean(),
  zip64: fc.boolean(),
});

/** A well-formed bundle: workflow.knime and 1–4 settings files, each entry written its own way. */
const bundleSpec = fc
  .record({
    nodes: fc.integer({ min: 1, max: 4 }),
    shapes: fc.array(entryShape, { minLength: 5, maxLength: 5 }),
    zip64End: fc.boolean(),
    comment: fc.constantFrom('', 'exported by a tool'),
  })
  .map(({ nodes, shapes, zip64End, comment }): ZipSpec => {
    const refs = Array.from({ length: nodes }, (_, i) => ({ id: String(i + 1), settingsFile: `N${i + 1} (#${i + 1})/settings.xml` }));
    const files: ZipEntrySpec[] = [
      { name: 'workflow.knime', data: workflowXml(refs) },
      ...refs.map((ref) => ({ name: ref.settingsFile, data: SETTINGS_XML })),
    ];
    return { entries: files.map((file, i) => ({ ...file, ...shapes[i]! })), zip64End, comment };
  });

function nameOf(entry: ZipEntrySpec): string {
  return entry.name as string;
}

function withEntry(spec: ZipSpec, index: number, change: Partial<ZipEntrySpec>): ZipSpec {
  return { ...spec, entries: spec.entries.map((entry, i) => (i === index ? { ...entry, ...change } : entry)) };
}

const RUNS = { numRuns: Number(process.env.FUZZ_RUNS ?? 60), seed: Number(process.env.FUZZ_SEED ?? 15) };

describe('well-formed archives are read the same way by both readers', () => {
  it('accepts every generated shape (stored/deflate, data descriptors with or without signature, ZIP64 fields and end records)', async () => {
    await fc.assert(
      fc.asyncProperty(bundleSpec, async (spec) => {
        const zip = buildZip(spec);
        expect(await validatorVerdict(zip)).toEqual({ ok: true });
        expect(await readerVerdict(zip)).toEqual({ ok: true });
      }),
      RUNS,
    );
  });

  it('accepts a small ZIP64 archive as streaming zippers write it', async () => {
    // Every size in ZIP64 fields, CRC and sizes deferred to 64-bit data descriptors, ZIP64 end record and locator.
    const spec: ZipSpec = {
      entries: [
        { name: 'workflow.knime', data: workflowXml([{ id: '1', settingsFile: 'A (#1)/settings.xml' }]) },
        { name: 'A (#1)/settings.xml', data: SETTINGS_XML },
      ].map((entry) => ({ ...entry, zip64: true, dataDescriptor: true })),
      zip64End: true,
    };
    const zip = buildZip(spec);
    const verdict = await validateBundle(zip);
    expect(verdict).toMatchObject({ ok: true, stats: { entries: 2, files: 2, unpackedBytes: expect.any(Number) } });
    expect(await readerVerdict(zip)).toEqual({ ok: true });
  });

  it('accepts data-descriptor entries whose local header repeats the real CRC and sizes instead of zeros', async () => {
    const entries: ZipEntrySpec[] = [
      { name: 'workflow.knime', data: workflowXml([{ id: '1', settingsFile: 'A (#1)/settings.xml' }]) },
      { name: 'A (#1)/settings.xml', data: SETTINGS_XML, method: 0 },
    ].map((entry) => {
      const data = Buffer.from(entry.data);
      const payload = entry.method === 0 ? data : zlib.deflateRawSync(data);
      return {
        ...entry,
        dataDescriptor: true,
        local: { crc32: crc32(data), compressedSize: payload.length, uncompressedSize: data.length },
      };
    });
    const zip = buildZip({ entries });
    expect(await validatorVerdict(zip)).toEqual({ ok: true });
    expect(await readerVerdict(zip)).toEqual({ ok: true });
  });

  it('applies the limits to the 64-bit values', async () => {
    const limits = resolveBundleLimits();
    const big = limits.maxEntryBytes * 4 + 2 ** 32;
    const huge = withEntry({ entries: [{ name: 'workflow.knime', data: workflowXml([]), zip64: true }] }, 0, {
      central: { uncompressedSize: big },
      local: { uncompressedSize: big },
    });
    expect(await validatorVerdict(buildZip(huge))).toMatchObject({ ok: false, code: 'ZIP_ENTRY_TOO_LARGE', entry: 'workflow.knime' });
    expect(await readerVerdict(buildZip(huge))).toMatchObject({ ok: false, code: 'ZIP_ENTRY_TOO_LARGE', entry: 'workflow.knime' });
    const many = buildZip({
      entries: [{ name: 'workflow.knime', data: workflowXml([]) }],
      zip64End: true,
      zip64Record: { count: 2 ** 40, countOnDisk: 2 ** 40 },
    });
    expect(await validatorVerdict(many)).toMatchObject({ ok: false, code: 'ZIP_TOO_MANY_ENTRIES' });
    expect(await readerVerdict(many)).toMatchObject({ ok: false, code: 'ZIP_TOO_MANY_ENTRIES' });
    const beyond = buildZip({
      entries: [{ name: 'workflow.knime', data: workflowXml([]) }],
      zip64End: true,
      zip64Record: { size: 2 ** 60 },
    });
    await expectRefusedByBoth(beyond, 'ZIP_CORRUPT', undefined, /out of range/);
  });
});

describe('each inconsistency is ZIP_CORRUPT for both readers, naming the entry (property)', () => {
  it('a local header that disagrees with its central-directory entry (name, flags, method, sizes, CRC)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bundleSpec,
        fc.nat(),
        fc.constantFrom('name', 'flags', 'method', 'compressedSize', 'uncompressedSize', 'crc32'),
        fc.integer({ min: 1, max: 1000 }),
        async (spec, pick, field, delta) => {
          const index = pick % spec.entries.length;
          const entry = spec.entries[index]!;
          const data = Buffer.from(entry.data as string);
          const local: NonNullable<ZipEntrySpec['local']> = {
            name: { name: `${nameOf(entry)}.x` },
            flags: { flags: entry.dataDescriptor ? 0x8 : 0 },
            method: { method: entry.method === 0 ? 8 : 0 },
            compressedSize: { compressedSize: data.length * 2 + delta },
            uncompressedSize: { uncompressedSize: data.length + delta },
            crc32: { crc32: (crc32(data) ^ delta) >>> 0 },
          }[field];
          const detail = {
            name: 'file name',
            flags: 'flags',
            method: 'compression method',
            compressedSize: 'compressed size',
            uncompressedSize: 'uncompressed size',
            crc32: 'CRC-32',
          }[field];
          await expectRefusedByBoth(
            buildZip(withEntry(spec, index, { local })),
            'ZIP_CORRUPT',
            nameOf(entry),
            new RegExp(`disagrees.*${detail}`),
          );
        },
      ),
      RUNS,
    );
  });

  it('a data descriptor whose CRC or sizes disagree with the central directory (with or without signature, ZIP64 or not)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bundleSpec,
        fc.nat(),
        fc.constantFrom('crc32', 'compressedSize', 'uncompressedSize'),
        fc.integer({ min: 1, max: 1000 }),
        async (spec, pick, field, delta) => {
          const index = pick % spec.entries.length;
          const entry = spec.entries[index]!;
          const data = Buffer.from(entry.data as string);
          const descriptor = { [field]: field === 'crc32' ? (crc32(data) ^ delta) >>> 0 : data.length * 2 + delta };
          const zip = buildZip(withEntry(spec, index, { dataDescriptor: true, descriptor }));
          await expectRefusedByBoth(zip, 'ZIP_CORRUPT', nameOf(entry), /data descriptor/);
        },
      ),
      RUNS,
    );
  });

  it('a complete local entry that the central directory does not list (bytes no entry covers)', async () => {
    await fc.assert(
      fc.asyncProperty(bundleSpec, fc.nat(), entryShape, async (spec, pick, shape) => {
        const at = pick % (spec.entries.length + 1);
        const hidden: ZipEntrySpec = { name: 'Hidden (#9)/settings.xml', data: SETTINGS_XML, ...shape, unlisted: true };
        const zip = buildZip({ ...spec, entries: [...spec.entries.slice(0, at), hidden, ...spec.entries.slice(at)] });
        const named = nameOf(spec.entries[at] ?? spec.entries[at - 1]!);
        await expectRefusedByBoth(zip, 'ZIP_CORRUPT', named, /belong to no/);
      }),
      RUNS,
    );
  });

  it('end records whose counts, size or offset do not describe the central directory', async () => {
    await fc.assert(
      fc.asyncProperty(
        bundleSpec,
        fc.constantFrom('count', 'countOnDisk', 'size', 'offset', 'trailing'),
        fc.integer({ min: 1, max: 30 }),
        async (spec, field, delta) => {
          const zip = buildZip(spec);
          const count = spec.entries.length;
          const truth = readEnd(zip);
          const wrong = {
            count: { count: count + delta, countOnDisk: count + delta },
            countOnDisk: { countOnDisk: count + delta },
            size: { size: truth.size + delta },
            offset: { offset: truth.offset + delta },
            trailing: {},
          }[field];
          const mutated =
            field === 'trailing'
              ? Buffer.concat([zip, Buffer.alloc(delta, 0x20)])
              : buildZip(spec.zip64End ? { ...spec, zip64Record: wrong } : { ...spec, end: wrong });
          await expectRefusedByBoth(
            mutated,
            'ZIP_CORRUPT',
            undefined,
            /end record|end-of-central-directory|central directory holds|counts/,
          );
        },
      ),
      RUNS,
    );
  });

  it('a 16/32-bit end record field that neither saturates nor equals the ZIP64 value', async () => {
    const spec: ZipSpec = { entries: [{ name: 'workflow.knime', data: workflowXml([]) }], zip64End: true, end: { count: 2 } };
    await expectRefusedByBoth(buildZip(spec), 'ZIP_CORRUPT', undefined, /disagree/);
  });

  it('disk numbers other than 0 (end records, ZIP64 locator, an entry’s disk) are ZIP_UNSUPPORTED', async () => {
    const base: ZipSpec = { entries: [{ name: 'workflow.knime', data: workflowXml([]) }] };
    const cases: [ZipSpec, string | undefined][] = [
      [{ ...base, end: { disk: 1 } }, undefined],
      [{ ...base, end: { directoryDisk: 1 } }, undefined],
      [{ ...base, zip64End: true, zip64Record: { disk: 1 } }, undefined],
      [{ ...base, zip64End: true, zip64Record: { directoryDisk: 2 } }, undefined],
      [{ ...base, zip64End: true, zip64Record: { locatorDisk: 1 } }, undefined],
      [{ ...base, zip64End: true, zip64Record: { totalDisks: 3 } }, undefined],
      [withEntry(base, 0, { diskStart: 1 }), 'workflow.knime'],
    ];
    for (const [spec, entry] of cases) await expectRefusedByBoth(buildZip(spec), 'ZIP_UNSUPPORTED', entry, /multi-disk/);
  });

  it('flag bits that stored and deflate do not define are ZIP_UNSUPPORTED (e.g. bit 5, compressed patched data)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bundleSpec,
        fc.nat(),
        fc.constantFrom(0x10, 0x20, 0x80, 0x100, 0x200, 0x400, 0x1000, 0x2000, 0x4000, 0x8000, 0x2, 0x4),
        async (spec, pick, bit) => {
          const index = pick % spec.entries.length;
          const entry = spec.entries[index]!;
          // Bits 1 and 2 are deflate's compression option: undefined only for stored entries.
          const change: Partial<ZipEntrySpec> = { flags: 0x800 | bit, ...(bit <= 0x4 ? { method: 0 } : {}) };
          await expectRefusedByBoth(buildZip(withEntry(spec, index, change)), 'ZIP_UNSUPPORTED', nameOf(entry), /flag bits/);
        },
      ),
      RUNS,
    );
  });

  it('deflate option bits (as Info-ZIP writes for -1 … -9) are accepted', async () => {
    const spec: ZipSpec = { entries: [{ name: 'workflow.knime', data: workflowXml([]), flags: 0x806 }] };
    expect(await validatorVerdict(buildZip(spec))).toEqual({ ok: true });
  });
});

describe('inconsistencies come before any content check could call them a missing file', () => {
  const refs = [{ id: '1', settingsFile: 'A (#1)/settings.xml' }];
  const workflow: ZipEntrySpec = { name: 'workflow.knime', data: workflowXml(refs) };
  const settings: ZipEntrySpec = { name: 'A (#1)/settings.xml', data: SETTINGS_XML };

  it('an end record counting one entry too few (was SETTINGS_MISSING)', async () => {
    await expectRefusedByBoth(
      buildZip({ entries: [workflow, settings], end: { count: 1, countOnDisk: 1 } }),
      'ZIP_CORRUPT',
      undefined,
      /more than/,
    );
  });

  it('a referenced settings.xml present only as a local entry (was SETTINGS_MISSING)', async () => {
    await expectRefusedByBoth(
      buildZip({ entries: [workflow, { ...settings, unlisted: true }] }),
      'ZIP_CORRUPT',
      'workflow.knime',
      /belong to no/,
    );
  });

  it('the root workflow.knime present only as a local entry (was WORKFLOW_MISSING)', async () => {
    await expectRefusedByBoth(
      buildZip({ entries: [{ ...workflow, unlisted: true }, settings] }),
      'ZIP_CORRUPT',
      'A (#1)/settings.xml',
      /belong to no/,
    );
  });

  it('two end records, each reaching the end of the file (readers searching from either side disagree)', async () => {
    // The last entry's comment holds a complete end record (of another archive) whose own comment covers the real one.
    const other = buildZip({ entries: [workflow] });
    const fake = Buffer.from(other.subarray(other.length - 22));
    fake.writeUInt16LE(22, 20);
    const zip = buildZip({ entries: [workflow, { ...settings, centralComment: fake }] });
    expect(zip.subarray(zip.length - 44, zip.length - 22).equals(fake)).toBe(true);
    await expectRefusedByBoth(zip, 'ZIP_CORRUPT', undefined, /two end-of-central-directory records/);
  });
});

/** The end record's size and offset (no comment, no ZIP64). */
function readEnd(zip: Buffer): { size: number; offset: number } {
  let at = zip.length - 22;
  while (zip.readUInt32LE(at) !== 0x06054b50) at--;
  const zip64 = zip.readUInt32LE(at - 20) === 0x07064b50;
  if (!zip64) return { size: zip.readUInt32LE(at + 12), offset: zip.readUInt32LE(at + 16) };
  const record = Number(zip.readBigUInt64LE(at - 20 + 8));
  return { size: Number(zip.readBigUInt64LE(record + 40)), offset: Number(zip.readBigUInt64LE(record + 48)) };
}
