import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE_LIMITS, resolveBundleLimits } from '../../core/limits';
import { validateBundle, validateBundleFile } from '../../core/node/validate-bundle';
import type { ValidationVerdict } from '../../core/types';
import { describeBothPaths } from '../support/fast-path';
import {
  buildZip,
  folderEntries,
  minimalBundle,
  SAMPLES_DIR,
  sampleNames,
  SETTINGS_XML,
  workflowXml,
  type ZipEntrySpec,
  type ZipSpec,
} from '../support/zip-builder';

const MiB = 1024 * 1024;

async function verdictOf(spec: ZipSpec | ZipEntrySpec[], limits = DEFAULT_BUNDLE_LIMITS): Promise<ValidationVerdict> {
  const zip = Array.isArray(spec) ? buildZip({ entries: spec }) : buildZip(spec);
  return validateBundle(zip, limits);
}

async function expectRejected(spec: ZipSpec | ZipEntrySpec[], code: string, entry?: string, limits = DEFAULT_BUNDLE_LIMITS) {
  const verdict = await verdictOf(spec, limits);
  if (verdict.ok) throw new Error(`expected ${code}, but the bundle was accepted`);
  expect(verdict.code).toBe(code);
  if (entry !== undefined) expect(verdict.entry).toBe(entry);
  expect(verdict.message.length).toBeGreaterThan(10);
  return verdict;
}

/** The minimal bundle plus extra entries. */
function withEntries(...extra: ZipEntrySpec[]): ZipEntrySpec[] {
  return [...minimalBundle(), ...extra];
}

describeBothPaths('validateBundle: accepted bundles', () => {
  it.each(sampleNames())('accepts the sample %s', async (name) => {
    const verdict = await verdictOf(folderEntries(join(SAMPLES_DIR, name)));
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });

  it('reports stats: entries, bytes, sha256, nodes, references, nested workflows', async () => {
    const zip = buildZip({ entries: folderEntries(join(SAMPLES_DIR, '_synthetic_nested')) });
    const verdict = await validateBundle(zip);
    if (!verdict.ok) throw new Error(verdict.message);
    expect(verdict.stats).toMatchObject({ entries: 9, files: 9, zipBytes: zip.length, nodes: 7, referencedSettings: 6 });
    expect(verdict.stats.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(verdict.stats.nestedWorkflows.sort()).toEqual(['Clean Component (#3)', 'Plot Metanode (#2)']);
    expect(verdict.stats.unpackedBytes).toBeGreaterThan(10_000);
  });

  it('ignores directory entries and accepts stored entries and data descriptors', async () => {
    const verdict = await verdictOf([
      { name: 'CSV Reader (#1)/', data: '', method: 0 },
      { name: 'workflow.knime', data: workflowXml([{ id: '1', settingsFile: 'CSV Reader (#1)/settings.xml' }]), method: 0 },
      { name: 'CSV Reader (#1)/settings.xml', data: SETTINGS_XML, dataDescriptor: true },
    ]);
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });

  it('hands every accepted file to onFile', async () => {
    const seen: string[] = [];
    const verdict = await validateBundle(buildZip({ entries: minimalBundle() }), DEFAULT_BUNDLE_LIMITS, {
      onFile: (path, data) => seen.push(`${path}:${data.length > 0}`),
    });
    expect(verdict.ok).toBe(true);
    expect(seen).toEqual(['workflow.knime:true', 'CSV Reader (#1)/settings.xml:true']);
  });
});

describeBothPaths('validateBundle: sizes and counts', () => {
  it('rejects an upload over the size limit before reading it (BUNDLE_TOO_LARGE)', async () => {
    await expectRejected(minimalBundle(), 'BUNDLE_TOO_LARGE', undefined, resolveBundleLimits({ maxUploadBytes: 100 }));
  });

  it('rejects more entries than allowed from the end record alone (ZIP_TOO_MANY_ENTRIES)', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `N (#${i})/settings.xml`, data: SETTINGS_XML }));
    await expectRejected(withEntries(...many), 'ZIP_TOO_MANY_ENTRIES', undefined, resolveBundleLimits({ maxEntries: 10 }));
  });

  it('rejects an entry whose declared size is over the per-file limit (ZIP_ENTRY_TOO_LARGE)', async () => {
    const big = `<a>${' '.repeat(2 * MiB)}</a>`;
    await expectRejected(
      withEntries({ name: 'Big (#2)/settings.xml', data: big }),
      'ZIP_ENTRY_TOO_LARGE',
      'Big (#2)/settings.xml',
      resolveBundleLimits({ maxEntryBytes: MiB }),
    );
  });

  it('rejects a bundle whose declared total is over the unpacked limit (ZIP_TOO_LARGE_UNPACKED)', async () => {
    const files = Array.from({ length: 4 }, (_, i) => ({ name: `N (#${i})/settings.xml`, data: `<a>${'x'.repeat(300_000)}</a>` }));
    await expectRejected(withEntries(...files), 'ZIP_TOO_LARGE_UNPACKED', undefined, resolveBundleLimits({ maxTotalUnpackedBytes: MiB }));
  });

  it('rejects an entry compressed more than 100:1 above 1 MiB (ZIP_RATIO_EXCEEDED)', async () => {
    const zeros = `<a>${' '.repeat(3 * MiB)}</a>`;
    await expectRejected(withEntries({ name: 'Bomb (#9)/settings.xml', data: zeros }), 'ZIP_RATIO_EXCEEDED', 'Bomb (#9)/settings.xml');
  });

  it('accepts a well-compressed entry under the 1 MiB ratio threshold', async () => {
    const verdict = await verdictOf(withEntries({ name: 'Small (#9)/settings.xml', data: `<a>${' '.repeat(500_000)}</a>` }));
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });

  it('rejects an entry that inflates to more than its header declares, without inflating it all (ZIP_CORRUPT)', async () => {
    const data = `<a>${' '.repeat(8 * MiB)}</a>`;
    const verdict = await expectRejected(
      withEntries({ name: 'Liar (#3)/settings.xml', data, central: { uncompressedSize: 1000 }, local: { uncompressedSize: 1000 } }),
      'ZIP_CORRUPT',
      'Liar (#3)/settings.xml',
    );
    expect(verdict.message).toContain('more than');
  });

  it('rejects an entry that inflates to less than declared (ZIP_CORRUPT)', async () => {
    await expectRejected(
      withEntries({
        name: 'Short (#3)/settings.xml',
        data: SETTINGS_XML,
        central: { uncompressedSize: 9000 },
        local: { uncompressedSize: 9000 },
      }),
      'ZIP_CORRUPT',
    );
  });
});

describeBothPaths('validateBundle: archive structure', () => {
  it('rejects a file that is not a ZIP (ZIP_CORRUPT)', async () => {
    expect(await validateBundle(Buffer.from('hello, this is not a zip file at all'))).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
    expect(await validateBundle(Buffer.alloc(0))).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
  });

  it('rejects a truncated ZIP (ZIP_CORRUPT)', async () => {
    const zip = buildZip({ entries: minimalBundle() });
    expect(await validateBundle(zip.subarray(0, zip.length - 30))).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
    expect(await validateBundle(zip.subarray(40))).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
  });

  it('rejects data before the first entry or after the end record (ZIP_CORRUPT)', async () => {
    await expectRejected({ entries: minimalBundle(), prefix: Buffer.from('MZ polyglot header') }, 'ZIP_CORRUPT');
    await expectRejected({ entries: minimalBundle(), suffix: Buffer.from('trailing') }, 'ZIP_CORRUPT');
  });

  it('rejects a CRC mismatch (ZIP_CORRUPT)', async () => {
    await expectRejected(
      withEntries({ name: 'C (#2)/settings.xml', data: SETTINGS_XML, central: { crc32: 1234 }, local: { crc32: 1234 } }),
      'ZIP_CORRUPT',
    );
  });

  it('rejects damaged deflate data (ZIP_CORRUPT)', async () => {
    const payload = Buffer.from(zlib.deflateRawSync(Buffer.from(SETTINGS_XML)));
    payload.fill(0xff, 5, 40);
    await expectRejected(
      withEntries({ name: 'D (#2)/settings.xml', data: SETTINGS_XML, rawPayload: payload }),
      'ZIP_CORRUPT',
      'D (#2)/settings.xml',
    );
  });

  it.each([
    ['file name', { local: { name: 'Other (#1)/settings.xml' } }],
    ['compression method', { local: { method: 0 } }],
    ['compressed size', { local: { compressedSize: 10 } }],
    ['CRC-32', { local: { crc32: 42 } }],
  ] as const)('rejects a local header that disagrees with the central directory on the %s (ZIP_CORRUPT)', async (field, override) => {
    const verdict = await expectRejected(
      withEntries({ name: 'X (#5)/settings.xml', data: SETTINGS_XML, ...override }),
      'ZIP_CORRUPT',
      'X (#5)/settings.xml',
    );
    expect(verdict.message).toContain(field);
  });

  it('rejects overlapping entries, the shape of the densest ZIP bombs (ZIP_CORRUPT)', async () => {
    // Two central entries point at the same local header and data.
    const verdict = await expectRejected(
      withEntries(
        { name: 'A (#2)/settings.xml', data: SETTINGS_XML },
        { name: 'B (#3)/settings.xml', data: SETTINGS_XML, central: { localHeaderOffset: 0 }, local: { name: 'workflow.knime' } },
      ),
      'ZIP_CORRUPT',
    );
    expect(verdict.message).toMatch(/overlap|disagrees/);
  });

  it('rejects an entry pointing into another entry even when the names agree (ZIP_CORRUPT)', async () => {
    const entries = minimalBundle();
    const zip = buildZip({ entries });
    // Make the second central entry claim a local header offset inside the first entry's data.
    const cdStart = zip.readUInt32LE(zip.length - 22 + 16);
    const firstCentralNameLength = zip.readUInt16LE(cdStart + 28);
    const secondCentral = cdStart + 46 + firstCentralNameLength;
    zip.writeUInt32LE(5, secondCentral + 42);
    expect(await validateBundle(zip)).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
  });

  it('accepts well-formed ZIP64 records and fields, even on small files', async () => {
    const verdict = await verdictOf({ entries: minimalBundle().map((entry) => ({ ...entry, zip64: true })), zip64End: true });
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });

  it('rejects malformed ZIP64 records and fields (ZIP_CORRUPT)', async () => {
    // A locator pointing at itself instead of a ZIP64 end record.
    await expectRejected({ entries: minimalBundle(), zip64Locator: true }, 'ZIP_CORRUPT');
    // A ZIP64 field holding a size whose header field is not saturated: readers that trust it would see another size.
    const zip64Extra = Buffer.alloc(12);
    zip64Extra.writeUInt16LE(0x0001, 0);
    zip64Extra.writeUInt16LE(8, 2);
    zip64Extra.writeBigUInt64LE(BigInt(SETTINGS_XML.length), 4);
    await expectRejected(
      withEntries({ name: 'Z (#2)/settings.xml', data: SETTINGS_XML, centralExtra: zip64Extra }),
      'ZIP_CORRUPT',
      'Z (#2)/settings.xml',
    );
  });

  it('rejects multi-disk archives (ZIP_UNSUPPORTED)', async () => {
    await expectRejected({ entries: minimalBundle(), diskNumber: 1 }, 'ZIP_UNSUPPORTED');
  });

  it('rejects compression methods other than stored and deflate (ZIP_UNSUPPORTED)', async () => {
    await expectRejected(
      withEntries({ name: 'B (#2)/settings.xml', data: SETTINGS_XML, method: 12 }),
      'ZIP_UNSUPPORTED',
      'B (#2)/settings.xml',
    );
  });

  it.each([
    ['traditional encryption flag', { flags: 0x801 }],
    ['strong encryption flag', { flags: 0x841 }],
    ['AES method 99', { method: 99 }],
  ] as const)('rejects encrypted entries: %s (ZIP_ENCRYPTED)', async (_label, override) => {
    await expectRejected(withEntries({ name: 'S (#2)/settings.xml', data: SETTINGS_XML, ...override }), 'ZIP_ENCRYPTED');
  });
});

describeBothPaths('validateBundle: entry names', () => {
  it.each([
    ['absolute path', '/etc/settings.xml'],
    ['drive letter', 'C:/x/settings.xml'],
    ['backslash', 'CSV Reader (#1)\\settings.xml'],
    ['parent segment', '../settings.xml'],
    ['inner parent segment', 'a/../../settings.xml'],
    ['dot segment', './settings.xml'],
    ['empty segment', 'a//settings.xml'],
    ['NUL byte', 'a\u0000b/settings.xml'],
    ['control character', 'a\u001bb/settings.xml'],
    ['too deep', `${Array.from({ length: 12 }, (_, i) => `d${i}`).join('/')}/settings.xml`],
    ['too long', `${'x'.repeat(520)}/settings.xml`],
  ])('rejects an unsafe name: %s (ZIP_UNSAFE_PATH)', async (_label, name) => {
    await expectRejected(withEntries({ name, data: SETTINGS_XML }), 'ZIP_UNSAFE_PATH', name);
  });

  it('accepts names at the depth limit', async () => {
    const name = `${Array.from({ length: 11 }, (_, i) => `d${i}`).join('/')}/settings.xml`;
    expect((await verdictOf(withEntries({ name, data: SETTINGS_XML }))).ok).toBe(true);
  });

  it('rejects a name that is not valid UTF-8 (ZIP_UNSAFE_PATH)', async () => {
    await expectRejected(
      withEntries({ name: Buffer.from([0x61, 0xff, 0x2f, ...Buffer.from('settings.xml')]), data: SETTINGS_XML }),
      'ZIP_UNSAFE_PATH',
    );
  });

  it('rejects a second, different Unicode path in an extra field (ZIP_UNSAFE_PATH)', async () => {
    const other = Buffer.from('../evil/settings.xml');
    const extra = Buffer.alloc(9 + other.length);
    extra.writeUInt16LE(0x7075, 0);
    extra.writeUInt16LE(5 + other.length, 2);
    extra.writeUInt8(1, 4);
    other.copy(extra, 9);
    await expectRejected(
      withEntries({ name: 'U (#2)/settings.xml', data: SETTINGS_XML, centralExtra: extra }),
      'ZIP_UNSAFE_PATH',
      'U (#2)/settings.xml',
    );
  });

  it('rejects a workflow.knime reference that escapes the bundle (ZIP_UNSAFE_PATH)', async () => {
    await expectRejected(
      [{ name: 'workflow.knime', data: workflowXml([{ id: '1', settingsFile: '../outside/settings.xml' }]) }],
      'ZIP_UNSAFE_PATH',
      'workflow.knime',
    );
  });

  it.each([
    ['exact duplicate', 'CSV Reader (#1)/settings.xml'],
    ['case-only duplicate', 'csv reader (#1)/SETTINGS.xml'],
  ])('rejects a %s (ZIP_DUPLICATE_ENTRY)', async (_label, name) => {
    const verdict = await verdictOf(withEntries({ name, data: SETTINGS_XML }));
    expect(verdict).toMatchObject({ ok: false });
    // A case variant of settings.xml is also not allowlisted; the duplicate is found first.
    expect(verdict.ok ? '' : verdict.code).toBe('ZIP_DUPLICATE_ENTRY');
  });

  it('rejects names equal after Unicode NFC normalisation (ZIP_DUPLICATE_ENTRY)', async () => {
    const composed = 'Caf\u00e9 (#2)/settings.xml';
    const decomposed = 'Cafe\u0301 (#2)/settings.xml';
    await expectRejected(
      withEntries({ name: composed, data: SETTINGS_XML }, { name: decomposed, data: SETTINGS_XML }),
      'ZIP_DUPLICATE_ENTRY',
      decomposed,
    );
  });

  it('rejects a path that is both a file and a folder (ZIP_DUPLICATE_ENTRY)', async () => {
    await expectRejected(withEntries({ name: 'CSV Reader (#1)/settings.xml/settings.xml', data: SETTINGS_XML }), 'ZIP_DUPLICATE_ENTRY');
  });

  it.each([
    ['symbolic link', 0o120777],
    ['FIFO', 0o010644],
    ['character device', 0o020644],
    ['socket', 0o140644],
  ])('rejects a %s (ZIP_SYMLINK)', async (_label, mode) => {
    await expectRejected(
      withEntries({ name: 'L (#2)/settings.xml', data: '/etc/passwd', externalAttributes: (mode << 16) >>> 0 }),
      'ZIP_SYMLINK',
      'L (#2)/settings.xml',
    );
  });

  it.each(['data.csv', 'CSV Reader (#1)/data.zip', 'workflow.svg', 'Node (#2)/Settings.XML', 'CSV Reader (#1)/port_1/data.bin'])(
    'rejects a file outside the allowlist: %s (ZIP_DISALLOWED_FILE)',
    async (name) => {
      await expectRejected(withEntries({ name, data: 'x' }), 'ZIP_DISALLOWED_FILE', name);
    },
  );

  it('rejects a folder entry with content (ZIP_CORRUPT)', async () => {
    await expectRejected(withEntries({ name: 'Folder (#4)/', data: 'hidden' }), 'ZIP_CORRUPT', 'Folder (#4)/');
  });
});

describeBothPaths('validateBundle: workflow and XML', () => {
  it('rejects a bundle without a root workflow.knime (WORKFLOW_MISSING)', async () => {
    await expectRejected(
      [
        { name: 'My Flow/workflow.knime', data: workflowXml([]) },
        { name: 'My Flow/A (#1)/settings.xml', data: SETTINGS_XML },
      ],
      'WORKFLOW_MISSING',
    );
  });

  it.each([
    ['unclosed element', '<config><entry key="a"/>'],
    ['mismatched tags', '<config></entry>'],
    ['undefined entity', '<config key="&foo;"/>'],
    ['two roots', '<config/><config/>'],
    ['non-UTF-8 encoding declaration', '<?xml version="1.0" encoding="ISO-8859-1"?><config/>'],
  ])('rejects settings.xml with %s (XML_INVALID)', async (_label, xml) => {
    const verdict = await expectRejected(withEntries({ name: 'Bad (#7)/settings.xml', data: xml }), 'XML_INVALID', 'Bad (#7)/settings.xml');
    expect(verdict.message).toContain('Bad (#7)/settings.xml');
  });

  it('rejects invalid UTF-8 content (XML_INVALID)', async () => {
    await expectRejected(
      withEntries({ name: 'Bad (#7)/settings.xml', data: Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]) }),
      'XML_INVALID',
    );
  });

  it('rejects a DOCTYPE in settings.xml: the billion laughs never gets a chance (XML_FORBIDDEN_DTD)', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><config key="&lol2;"/>`;
    await expectRejected(withEntries({ name: 'L (#2)/settings.xml', data: laughs }), 'XML_FORBIDDEN_DTD', 'L (#2)/settings.xml');
  });

  it('rejects an external-entity DOCTYPE in workflow.knime (XML_FORBIDDEN_DTD)', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><config key="&x;"/>`;
    await expectRejected([{ name: 'workflow.knime', data: xxe }], 'XML_FORBIDDEN_DTD', 'workflow.knime');
  });

  it('rejects a missing settings.xml with a message naming the folder and the file (SETTINGS_MISSING)', async () => {
    const verdict = await expectRejected(
      [{ name: 'workflow.knime', data: workflowXml([{ id: '3', settingsFile: 'X (#3)/settings.xml' }]) }],
      'SETTINGS_MISSING',
      'X (#3)/settings.xml',
    );
    expect(verdict.message).toBe(
      'Folder `X (#3)` is referenced by workflow.knime but `X (#3)/settings.xml` (settings) is missing from the ZIP.',
    );
  });

  it('follows a metanode into its workflow.knime and reports a missing nested settings.xml', async () => {
    const verdict = await expectRejected(
      [
        { name: 'workflow.knime', data: workflowXml([{ id: '2', settingsFile: 'Meta (#2)/workflow.knime', nodeType: 'MetaNode' }]) },
        { name: 'Meta (#2)/workflow.knime', data: workflowXml([{ id: '1', settingsFile: 'Plot (#1)/settings.xml' }]) },
      ],
      'SETTINGS_MISSING',
      'Meta (#2)/Plot (#1)/settings.xml',
    );
    expect(verdict.message).toContain('Meta (#2)/workflow.knime');
  });

  it('requires a component’s sibling workflow.knime (SETTINGS_MISSING)', async () => {
    await expectRejected(
      [
        { name: 'workflow.knime', data: workflowXml([{ id: '3', settingsFile: 'Comp (#3)/settings.xml', nodeType: 'SubNode' }]) },
        { name: 'Comp (#3)/settings.xml', data: SETTINGS_XML },
      ],
      'SETTINGS_MISSING',
      'Comp (#3)/workflow.knime',
    );
  });

  it('requires a metanode’s workflow.knime (SETTINGS_MISSING)', async () => {
    await expectRejected(
      [{ name: 'workflow.knime', data: workflowXml([{ id: '2', settingsFile: 'Meta (#2)/workflow.knime', nodeType: 'MetaNode' }]) }],
      'SETTINGS_MISSING',
      'Meta (#2)/workflow.knime',
    );
  });

  it('counts nodes of nested workflows and survives a self-referencing metanode', async () => {
    const verdict = await verdictOf([
      { name: 'workflow.knime', data: workflowXml([{ id: '2', settingsFile: 'Meta (#2)/workflow.knime', nodeType: 'MetaNode' }]) },
      {
        name: 'Meta (#2)/workflow.knime',
        data: workflowXml([
          { id: '1', settingsFile: 'workflow.knime', nodeType: 'MetaNode' },
          { id: '4', settingsFile: 'A (#4)/settings.xml' },
        ]),
      },
      { name: 'Meta (#2)/A (#4)/settings.xml', data: SETTINGS_XML },
    ]);
    expect(verdict).toMatchObject({ ok: true, stats: { nodes: 3, referencedSettings: 1, nestedWorkflows: ['Meta (#2)'] } });
  });
});

describeBothPaths('validateBundle: large bundles', () => {
  it('reports the first failing file in order on a bundle of over 16 MiB unpacked', async () => {
    // A bad file late in the order and another even later.
    const filler = `<config>${'<entry key="k" value="v"/>'.repeat(30_000)}</config>`;
    const files: ZipEntrySpec[] = Array.from({ length: 30 }, (_, i) => ({
      name: `N${String(i).padStart(2, '0')} (#${i})/settings.xml`,
      data: filler,
    }));
    files[21] = { name: 'N21 (#21)/settings.xml', data: `${filler}<extra/>` };
    files[27] = { name: 'N27 (#27)/settings.xml', data: '<config>' };
    const verdict = await verdictOf([{ name: 'workflow.knime', data: workflowXml([]) }, ...files]);
    expect(verdict).toMatchObject({ ok: false, code: 'XML_INVALID', entry: 'N21 (#21)/settings.xml' });
    const good = await verdictOf([{ name: 'workflow.knime', data: workflowXml([]) }, ...files.filter((_, i) => i !== 21 && i !== 27)]);
    expect(good).toMatchObject({ ok: true, stats: { files: 29 } });
  });
});

/**
 * Local headers are read while the central directory is, yet the checks'
 * order (central directory, namespace, local headers, layout, data,
 * references) decides which violation is reported. These hold the plain and
 * the fast path to the same verdicts on bundles with several violations.
 */
describe('validateBundle: the order of the checks', () => {
  const BAD_XML = '<config><entry key="a"></config>';

  async function bothPaths(zip: Buffer, limits = DEFAULT_BUNDLE_LIMITS): Promise<ValidationVerdict> {
    const plain = await validateBundle(zip, limits, { fastPath: 'off' });
    const fast = await validateBundle(zip, limits, { fastPath: 'on' });
    expect(fast).toEqual(plain);
    return plain;
  }

  /** A bundle of `count` settings files, the first one broken when `badFirst`. */
  function nodes(count: number, badFirst: boolean): ZipEntrySpec[] {
    const refs = Array.from({ length: count }, (_, i) => ({ id: String(i + 1), settingsFile: `N${i + 1} (#${i + 1})/settings.xml` }));
    return [
      { name: 'workflow.knime', data: workflowXml(refs) },
      ...refs.map((ref, i) => ({ name: ref.settingsFile, data: badFirst && i === 0 ? BAD_XML : SETTINGS_XML })),
    ];
  }

  it('accepts a valid bundle with the same stats', async () => {
    const verdict = await bothPaths(buildZip({ entries: folderEntries(join(SAMPLES_DIR, '_synthetic_nested')) }));
    expect(verdict.ok).toBe(true);
    expect((await bothPaths(buildZip({ entries: nodes(40, false) }))).ok).toBe(true);
  });

  it('reports the first data failure in central-directory order', async () => {
    const entries = nodes(12, true);
    entries[7] = { name: entries[7]!.name, data: '<config>' };
    expect(await bothPaths(buildZip({ entries }))).toMatchObject({ ok: false, code: 'XML_INVALID', entry: 'N1 (#1)/settings.xml' });
  });

  it('lets a later central-directory violation win over an earlier data failure', async () => {
    const zip = buildZip({ entries: [...nodes(6, true), { name: 'evil/../x/settings.xml', data: SETTINGS_XML }] });
    expect(await bothPaths(zip)).toMatchObject({ ok: false, code: 'ZIP_UNSAFE_PATH' });
  });

  it('lets a later local-header disagreement win over an earlier data failure', async () => {
    const entries = nodes(6, true);
    entries[5] = { ...entries[5]!, local: { crc32: 42 } };
    expect(await bothPaths(buildZip({ entries }))).toMatchObject({ ok: false, code: 'ZIP_CORRUPT', entry: entries[5]!.name });
  });

  it('lets a later central-directory violation win over an earlier local-header disagreement', async () => {
    const entries: ZipEntrySpec[] = [...nodes(4, false), { name: 'notes.txt', data: 'x' }];
    entries[1] = { ...entries[1]!, local: { name: 'Other (#9)/settings.xml' } };
    expect(await bothPaths(buildZip({ entries }))).toMatchObject({ ok: false, code: 'ZIP_DISALLOWED_FILE', entry: 'notes.txt' });
  });

  it('lets overlapping entries (a layout violation) win over data failures', async () => {
    // Entry A (stored) carries a complete local header and data of entry B; the central directory lists both.
    const inner = buildZip({ entries: [{ name: 'B (#9)/settings.xml', data: BAD_XML }] });
    const innerLocal = inner.subarray(0, inner.readUInt32LE(inner.length - 22 + 16));
    const base = [...nodes(3, true), { name: 'A (#8)/settings.xml', data: innerLocal, method: 0 }];
    const plain = buildZip({ entries: base });
    const bOffset = plain.indexOf(innerLocal);
    const zip = buildZip({ entries: [...base, { name: 'B (#9)/settings.xml', data: BAD_XML, central: { localHeaderOffset: bOffset } }] });
    const verdict = await bothPaths(zip);
    expect(verdict).toMatchObject({ ok: false, code: 'ZIP_CORRUPT' });
    expect(verdict.ok || verdict.message).toMatch(/overlap/);
  });

  it('reports the first failure in central-directory order when the file order differs', async () => {
    const entries = nodes(8, false);
    entries[2] = { name: entries[2]!.name, data: '<config>' };
    entries[6] = { name: entries[6]!.name, data: BAD_XML };
    // Reverse the central directory: entries[6] now comes before entries[2], but lies after it in the file.
    const zip = reverseCentralDirectory(buildZip({ entries }));
    expect(await bothPaths(zip)).toMatchObject({ ok: false, code: 'XML_INVALID', entry: entries[6]!.name });
    const good = reverseCentralDirectory(buildZip({ entries: nodes(8, false) }));
    expect((await bothPaths(good)).ok).toBe(true);
  });

  it('handles empty names (zero-length reads) in the central directory and a local header, in order', async () => {
    const emptyCentral = [...nodes(3, true), { name: '', data: '' }, { name: 'Late (#9)/settings.xml', data: SETTINGS_XML }];
    expect(await bothPaths(buildZip({ entries: emptyCentral }))).toMatchObject({ ok: false, code: 'ZIP_UNSAFE_PATH' });
    const emptyLocal = nodes(4, true);
    emptyLocal[3] = { ...emptyLocal[3]!, local: { name: '' } };
    expect(await bothPaths(buildZip({ entries: emptyLocal }))).toMatchObject({
      ok: false,
      code: 'ZIP_CORRUPT',
      entry: emptyLocal[3]!.name,
    });
  });

  it('follows references after the data checks (SETTINGS_MISSING, and XML_INVALID first)', async () => {
    const entries = nodes(5, false).filter((entry) => entry.name !== 'N3 (#3)/settings.xml');
    expect(await bothPaths(buildZip({ entries }))).toMatchObject({ ok: false, code: 'SETTINGS_MISSING' });
    const withBad = nodes(5, true).filter((entry) => entry.name !== 'N3 (#3)/settings.xml');
    expect(await bothPaths(buildZip({ entries: withBad }))).toMatchObject({ ok: false, code: 'XML_INVALID' });
  });

  it('gives the same verdict on randomly corrupted bundles (property)', async () => {
    const seeds = [buildZip({ entries: nodes(6, false) }), buildZip({ entries: folderEntries(join(SAMPLES_DIR, 'KNIME_io_csv')) })];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        async (seedIndex, edits) => {
          const zip = Buffer.from(seeds[seedIndex]!);
          for (const [position, value] of edits) zip[position % zip.length] = value;
          await bothPaths(zip);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1500), seed: Number(process.env.FUZZ_SEED ?? 5) },
    );
  }, 120_000);

  /** Stored entries make a ZIP of several MiB without a large test. */
  it('validates a large file like the same bytes in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k2p-validate-file-'));
    try {
      const padding = `<!-- ${'x'.repeat(80_000)} -->`;
      const entries = nodes(60, false).map((entry, i) =>
        i > 0 && i % 2 === 0 ? { ...entry, data: SETTINGS_XML + padding, method: 0 } : entry,
      );
      const good = buildZip({ entries });
      expect(good.length).toBeGreaterThan(2 * MiB);
      writeFileSync(join(dir, 'good.zip'), good);
      const accepted = await validateBundleFile(join(dir, 'good.zip'));
      expect(accepted).toEqual(await validateBundle(good));
      expect(accepted).toMatchObject({ ok: true, stats: { files: 61 } });

      entries[33] = { ...entries[33]!, data: '<config>' };
      const bad = buildZip({ entries });
      writeFileSync(join(dir, 'bad.zip'), bad);
      const rejected = await validateBundleFile(join(dir, 'bad.zip'));
      expect(rejected).toEqual(await validateBundle(bad));
      expect(rejected).toMatchObject({ ok: false, code: 'XML_INVALID', entry: entries[33]!.name });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The same ZIP with its central directory in reverse order (the file's entries stay where they are). */
function reverseCentralDirectory(zip: Buffer): Buffer {
  const end = zip.length - 22;
  const start = zip.readUInt32LE(end + 16);
  const records: Buffer[] = [];
  for (let at = start; at < end;) {
    const length = 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    records.push(zip.subarray(at, at + length));
    at += length;
  }
  return Buffer.concat([zip.subarray(0, start), ...records.reverse(), zip.subarray(end)]);
}
