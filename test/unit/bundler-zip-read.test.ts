import zlib from 'node:zlib';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { buildBundle, type BundleResult, type SourceFile } from '../../core/bundler';
import { resolveBundleLimits } from '../../core/limits';
import { validateBundle } from '../../core/node/validate-bundle';
import { bytesSource, crc32, readCentralDirectory, ZipReadError, zipSourceFiles, type RandomAccessSource } from '../../core/zip-read';
import { buildZip, minimalBundle, SETTINGS_XML, workflowXml, type ZipEntrySpec } from '../support/zip-builder';

const MiB = 1024 * 1024;
const SETTINGS = 'CSV Reader (#1)/settings.xml';

/** A source that records every byte range read. */
function recording(bytes: Uint8Array): { source: RandomAccessSource; ranges: [number, number][] } {
  const ranges: [number, number][] = [];
  return {
    ranges,
    source: {
      size: bytes.length,
      read: async (offset, length) => {
        ranges.push([offset, offset + length]);
        return bytes.subarray(offset, offset + length);
      },
    },
  };
}

async function bundleArchive(zip: Uint8Array, limits = resolveBundleLimits()): Promise<BundleResult> {
  return buildBundle(await zipSourceFiles(bytesSource(zip), { limits }), { limits });
}

function failure(result: BundleResult) {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  return result.errors;
}

/** The minimal bundle with its settings.xml entry replaced. */
function withSettings(spec: Partial<ZipEntrySpec>, ...extra: ZipEntrySpec[]): ZipEntrySpec[] {
  const [workflow, settings] = minimalBundle();
  return [workflow!, { ...settings!, ...spec }, ...extra];
}

/** Rewrites a comment-less ZIP's end record as ZIP64 (ZIP64 end record + locator), as big exports have. */
function asZip64(zip: Uint8Array): Uint8Array {
  const buffer = Buffer.from(zip);
  const eocd = buffer.length - 22;
  const count = buffer.readUInt16LE(eocd + 10);
  const size = buffer.readUInt32LE(eocd + 12);
  const offset = buffer.readUInt32LE(eocd + 16);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(size), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(eocd), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([buffer.subarray(0, eocd), record, locator, end]);
}

function zip64Extra(uncompressed: number, compressed: number): Uint8Array {
  const extra = Buffer.alloc(20);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(16, 2);
  extra.writeBigUInt64LE(BigInt(uncompressed), 4);
  extra.writeBigUInt64LE(BigInt(compressed), 12);
  return extra;
}

describe('reading archives as KNIME and other tools write them', () => {
  it("reads entries with data descriptors (as Java's ZipOutputStream writes .knwf files)", async () => {
    const zip = buildZip({ entries: minimalBundle().map((entry) => ({ ...entry, dataDescriptor: true })) });
    const result = await bundleArchive(zip);
    expect(result.ok).toBe(true);
    expect(result.ok && (await validateBundle(result.zip)).ok).toBe(true);
  });

  it('finds the end record behind an archive comment', async () => {
    const result = await bundleArchive(buildZip({ entries: minimalBundle(), comment: 'exported by KNIME' }));
    expect(result.ok).toBe(true);
  });

  it('reads ZIP64 end records and ZIP64 size fields', async () => {
    const settings = Buffer.from(SETTINGS_XML);
    const entries = withSettings({
      method: 0,
      central: { uncompressedSize: 0xffffffff, compressedSize: 0xffffffff },
      centralExtra: zip64Extra(settings.length, settings.length),
    });
    const result = await bundleArchive(asZip64(buildZip({ entries })));
    expect(result.ok, JSON.stringify(!result.ok && result.errors)).toBe(true);
    expect(result.ok && result.manifest.files.find((f) => f.path === SETTINGS)?.size).toBe(settings.length);
  });

  it('decodes names without the UTF-8 flag as UTF-8 when valid, else Latin-1', async () => {
    const utf8 = Buffer.from('Ü (#1)/settings.xml');
    const latin1 = Buffer.from([0x44, 0xe9, 0x2f, 0x78]);
    const entries = await readCentralDirectory(
      bytesSource(
        buildZip({
          entries: [
            { name: utf8, data: 'x', flags: 0 },
            { name: latin1, data: 'y', flags: 0 },
          ],
        }),
      ),
    );
    expect(entries.map((e) => e.name)).toEqual(['Ü (#1)/settings.xml', 'Dé/x']);
  });

  it('computes the standard CRC-32', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(crc32(data)).toBe(zlib.crc32(data));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('entries that are never needed are never touched', () => {
  const odd: ZipEntrySpec[] = [
    { name: 'data/secret.bin', data: 'locked', flags: 0x801 },
    { name: 'data/model.bz2', data: 'BZh91AY&SY', method: 12 },
    { name: 'data/broken.table', rawPayload: new Uint8Array([0xff, 0xff, 0xff, 0xff]), data: 'never', method: 8 },
    { name: 'data/link', data: '/etc/passwd', externalAttributes: (0o120777 << 16) >>> 0 },
  ];

  it('bundles around encrypted, bzip2, damaged and symlink data entries', async () => {
    const result = await bundleArchive(buildZip({ entries: [...minimalBundle(), ...odd] }));
    expect(result.ok, JSON.stringify(!result.ok && result.errors)).toBe(true);
    expect(result.manifest.totals.skipped).toBe(4);
  });

  it('refuses to read anything but workflow.knime and settings.xml', async () => {
    const files = await zipSourceFiles(bytesSource(buildZip({ entries: [...minimalBundle(), ...odd] })));
    const data = files.find((f) => f.path === 'data/broken.table') as SourceFile;
    await expect(data.read()).rejects.toMatchObject({ code: 'ZIP_DISALLOWED_FILE' });
  });

  it('lists a ZIP reading its headers and descriptors, never entry data', async () => {
    const zip = buildZip({ entries: [...minimalBundle(), ...odd].map((entry, i) => ({ ...entry, dataDescriptor: i % 2 === 1 })) });
    const { source, ranges } = recording(zip);
    const entries = await readCentralDirectory(source);
    expect(ranges.length).toBeLessThanOrEqual(2 + 3 * entries.length);
    for (const entry of entries) {
      const data: [number, number] = [entry.dataStart, entry.dataStart + entry.compressedSize];
      expect(
        ranges.filter(([start, end]) => start < data[1] && end > data[0]),
        entry.name,
      ).toEqual([]);
    }
  });
});

describe('needed entries that cannot be read', () => {
  const cases: [string, Partial<ZipEntrySpec>, string][] = [
    ['an encrypted settings.xml', { flags: 0x801 }, 'ZIP_ENCRYPTED'],
    ['a settings.xml compressed with bzip2', { method: 12 }, 'ZIP_UNSUPPORTED'],
    ['a settings.xml that is a symbolic link', { externalAttributes: (0o120777 << 16) >>> 0 }, 'ZIP_SYMLINK'],
    ['a settings.xml with a wrong CRC', { central: { crc32: 1234 }, local: { crc32: 1234 } }, 'ZIP_CORRUPT'],
    ['a settings.xml with damaged deflate data', { rawPayload: new Uint8Array([0xff, 0xff, 0xff]) }, 'ZIP_CORRUPT'],
    ['a settings.xml with flag bit 5 (compressed patched data)', { flags: 0x820 }, 'ZIP_UNSUPPORTED'],
  ];
  for (const [what, spec, code] of cases) {
    it(`reports ${code} for ${what}, naming it`, async () => {
      const errors = failure(await bundleArchive(buildZip({ entries: withSettings(spec) })));
      expect(errors).toEqual([{ code, message: expect.stringContaining(SETTINGS), path: SETTINGS }]);
    });
  }

  it('stops inflating a settings.xml whose header understates its size (ZIP bomb)', async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 * MiB));
    const started = performance.now();
    // ~64 KiB of deflate data declared as 100 000 bytes: inflation stops one slice past the declared size.
    const errors = failure(
      await bundleArchive(
        buildZip({
          entries: withSettings({ rawPayload: bomb, central: { uncompressedSize: 100_000 }, local: { uncompressedSize: 100_000 } }),
        }),
      ),
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(errors[0]).toMatchObject({
      code: 'ZIP_CORRUPT',
      message: expect.stringContaining('more than the 100000 bytes its header declares'),
    });
  });

  it('refuses a settings.xml with more compressed data than its declared size allows, before inflating', async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 * MiB));
    const errors = failure(
      await bundleArchive(
        buildZip({ entries: withSettings({ rawPayload: bomb, central: { uncompressedSize: 1000 }, local: { uncompressedSize: 1000 } }) }),
      ),
    );
    expect(errors[0]).toMatchObject({ code: 'ZIP_CORRUPT', message: expect.stringContaining('more compressed data than its size allows') });
  });

  it('refuses an entry declared above the per-file limit without reading its data', async () => {
    const zip = buildZip({ entries: withSettings({ data: 'x'.repeat(5000) }) });
    const { source, ranges } = recording(zip);
    const limits = resolveBundleLimits({ maxEntryBytes: 4000 });
    const errors = failure(await buildBundle(await zipSourceFiles(source, { limits }), { limits }));
    expect(errors[0]).toMatchObject({ code: 'ZIP_ENTRY_TOO_LARGE', path: SETTINGS });
    const settings = (await readCentralDirectory(bytesSource(zip)))[1]!;
    expect(ranges.some(([start, end]) => start < settings.dataStart + settings.compressedSize && end > settings.dataStart)).toBe(false);
  });

  it('refuses a needed entry that appears twice', async () => {
    const [workflow, settings] = minimalBundle();
    const errors = failure(
      await bundleArchive(buildZip({ entries: [workflow!, settings!, { ...settings!, data: '<config key="other"/>' }] })),
    );
    expect(errors[0]).toMatchObject({ code: 'ZIP_DUPLICATE_ENTRY', path: SETTINGS });
  });
});

describe('archives that cannot be read at all', () => {
  it.each([
    ['whose two headers disagree on the method', { local: { method: 0 } }, 'compression method'],
    ['whose central directory alone has a wrong CRC', { central: { crc32: 1234 } }, 'CRC-32'],
    ['whose local header is missing', { central: { localHeaderOffset: 3 } }, 'missing'],
  ] as const)('refuses an archive with a settings.xml %s, naming it (ZIP_CORRUPT)', async (_what, spec, detail) => {
    await expect(zipSourceFiles(bytesSource(buildZip({ entries: withSettings(spec) })))).rejects.toMatchObject({
      code: 'ZIP_CORRUPT',
      entry: SETTINGS,
      message: expect.stringContaining(detail),
    });
  });

  it('says a file that is not a ZIP is not one', async () => {
    await expect(zipSourceFiles(bytesSource(new TextEncoder().encode('just some text, not a zip at all')))).rejects.toMatchObject({
      code: 'ZIP_CORRUPT',
      message: expect.stringContaining('not a ZIP archive'),
    });
    await expect(zipSourceFiles(bytesSource(new Uint8Array(5)))).rejects.toBeInstanceOf(ZipReadError);
  });

  it('refuses split archives', async () => {
    await expect(zipSourceFiles(bytesSource(buildZip({ entries: minimalBundle(), diskNumber: 1 })))).rejects.toMatchObject({
      code: 'ZIP_UNSUPPORTED',
    });
  });

  it('refuses archives with more entries than it reads', async () => {
    const zip = buildZip({ entries: [...minimalBundle(), { name: 'a.txt', data: 'a' }] });
    await expect(zipSourceFiles(bytesSource(zip), { maxEntries: 2 })).rejects.toMatchObject({ code: 'ZIP_TOO_MANY_ENTRIES' });
  });

  it('refuses a central directory pointing past the end of the file', async () => {
    const zip = buildZip({ entries: minimalBundle() });
    await expect(zipSourceFiles(bytesSource(zip.subarray(0, zip.length - 40)))).rejects.toMatchObject({ code: 'ZIP_CORRUPT' });
  });
});

describe('robustness', () => {
  const knwf = zipSync({
    'Flow/workflow.knime': new TextEncoder().encode(workflowXml([{ id: '1', settingsFile: SETTINGS }])),
    [`Flow/${SETTINGS}`]: new TextEncoder().encode(SETTINGS_XML),
    'Flow/data/x.table': new Uint8Array(300).fill(7),
  });

  it('never throws anything but ZipReadError on randomly damaged archives', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(knwf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (edits) => {
          const damaged = knwf.slice();
          for (const [at, value] of edits) damaged[at] = value;
          let files: SourceFile[];
          try {
            files = await zipSourceFiles(bytesSource(damaged));
          } catch (error) {
            expect(error).toBeInstanceOf(ZipReadError);
            return;
          }
          const result = await buildBundle(files);
          if (result.ok) expect((await validateBundle(result.zip)).ok).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
