import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildBundle,
  findWorkflowRoots,
  normalizeRoot,
  pickedFileSources,
  planBundle,
  workflowNameOf,
  writeBundleZip,
  type BundleResult,
  type SourceFile,
} from '../../core/bundler';
import { DEFAULT_BUNDLE_LIMITS, resolveBundleLimits } from '../../core/limits';
import { folderSource, openBundleSource } from '../../core/node/bundle-source';
import { validateBundle } from '../../core/node/validate-bundle';
import { blobSource, bytesSource, zipSourceFiles, type RandomAccessSource } from '../../core/zip-read';
import { bundleFiles } from '../support/samples';
import { SAMPLES_DIR, sampleNames, SETTINGS_XML, workflowXml } from '../support/zip-builder';

const enc = new TextEncoder();
const scratch = mkdtempSync(join(tmpdir(), 'k2p-bundler-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** In-memory sources that count every read() per path. */
function memorySources(files: Record<string, Uint8Array | string>): { sources: SourceFile[]; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const sources = Object.entries(files).map(([path, content]) => {
    const data = typeof content === 'string' ? enc.encode(content) : content;
    return {
      path,
      size: data.length,
      read: async () => {
        reads.set(path, (reads.get(path) ?? 0) + 1);
        return data;
      },
    };
  });
  return { sources, reads };
}

/** Wraps sources so their reads are counted. */
function counted(sources: SourceFile[]): { sources: SourceFile[]; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    sources: sources.map((source) => ({
      path: source.path,
      size: source.size,
      read: () => {
        reads.set(source.path, (reads.get(source.path) ?? 0) + 1);
        return source.read();
      },
    })),
  };
}

function prefixed(files: Map<string, Uint8Array>, prefix: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [path, data] of files) out[`${prefix}${path}`] = data;
  return out;
}

function expectOk(result: BundleResult): asserts result is Extract<BundleResult, { ok: true }> {
  expect(result.ok, JSON.stringify(!result.ok && result.errors)).toBe(true);
}

function expectFailed(result: BundleResult | Awaited<ReturnType<typeof planBundle>>) {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  return result;
}

/** Extra files a real workflow folder or .knwf export carries besides the bundle's. */
function dataFiles(prefix: string): Record<string, Uint8Array> {
  const noise = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
  return {
    [`${prefix}workflow.svg`]: enc.encode('<svg/>'),
    [`${prefix}workflowset.meta`]: enc.encode('<meta/>'),
    [`${prefix}.savedWithData`]: new Uint8Array(0),
    [`${prefix}data/titanic.csv`]: noise,
    [`${prefix}CSV Reader (#1)/port_1/data.zip`]: noise,
    [`${prefix}CSV Reader (#1)/internal/table.table`]: noise,
    [`${prefix}CSV Reader (#1)/node.xml`]: enc.encode('<node/>'),
  };
}

describe('bundling the sample workflows', () => {
  for (const sample of sampleNames()) {
    it(`bundles ${sample} from its folder into a bundle the validator accepts`, async () => {
      const folder = await folderSource(join(SAMPLES_DIR, sample));
      const { sources, reads } = counted(folder.files);
      const result = await buildBundle(sources, { sourceName: folder.name });
      expectOk(result);
      const expected = bundleFiles(join(SAMPLES_DIR, sample));
      expect(result.manifest.workflowName).toBe(sample);
      expect(result.manifest.root).toBe('');
      expect(result.manifest.files.map((f) => f.path)).toEqual([...expected.keys()].sort());
      expect(result.manifest.totals.missing).toBe(0);
      // Each needed file is read exactly once.
      expect([...reads.values()].every((n) => n === 1)).toBe(true);
      expect(reads.size).toBe(expected.size);

      const verdict = await validateBundle(result.zip);
      expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
      if (!verdict.ok) return;
      expect(verdict.stats.files).toBe(result.manifest.totals.present);
      expect(verdict.stats.nodes).toBe(result.manifest.totals.nodes);
      expect(verdict.stats.unpackedBytes).toBe(result.manifest.totals.bytes);
      // Only the bundle's files, workflow.knime at the ZIP root, no folder entries.
      const names = Object.keys(unzipSync(result.zip));
      expect(names).toContain('workflow.knime');
      expect(names.every((n) => !n.endsWith('/'))).toBe(true);
      expect(names).toEqual([...names].sort());
    });
  }

  it('follows the metanode and the component of _synthetic_nested', async () => {
    const folder = await folderSource(join(SAMPLES_DIR, '_synthetic_nested'));
    const result = await buildBundle(folder.files, { sourceName: folder.name });
    expectOk(result);
    expect(result.manifest.files.map((f) => f.path)).toEqual([
      'CSV Reader (#1)/settings.xml',
      'Clean Component (#3)/Component Input (#1)/settings.xml',
      'Clean Component (#3)/Component Output (#3)/settings.xml',
      'Clean Component (#3)/Missing Value (#2)/settings.xml',
      'Clean Component (#3)/settings.xml',
      'Clean Component (#3)/workflow.knime',
      'Plot Metanode (#2)/Line Plot (#1)/settings.xml',
      'Plot Metanode (#2)/workflow.knime',
      'workflow.knime',
    ]);
    expect(result.manifest.totals).toMatchObject({ files: 9, present: 9, missing: 0, nodes: 7, skipped: 0 });
    expect(result.manifest.warnings).toEqual([]);
    const verdict = await validateBundle(result.zip);
    expect(verdict.ok && [...verdict.stats.nestedWorkflows].sort()).toEqual(['Clean Component (#3)', 'Plot Metanode (#2)']);
  });
});

describe('the same workflow from a folder, a wrapper ZIP and a .knwf', () => {
  const sample = '_synthetic_nested';
  const files = bundleFiles(join(SAMPLES_DIR, sample));

  async function fromFolder() {
    const folder = await folderSource(join(SAMPLES_DIR, sample));
    const result = await buildBundle(folder.files, { sourceName: folder.name });
    expectOk(result);
    return result;
  }

  it('gives a byte-identical bundle from a ZIP with a wrapper folder', async () => {
    const archive = zipSync(prefixed(files, `${sample}/`));
    const result = await buildBundle(await zipSourceFiles(bytesSource(archive)), { sourceName: `${sample}.zip` });
    expectOk(result);
    expect(result.manifest.root).toBe(sample);
    expect(result.manifest.workflowName).toBe(sample);
    expect(result.zip).toEqual((await fromFolder()).zip);
  });

  it('gives a byte-identical bundle from a .knwf with data files, never reading them', async () => {
    const archive = zipSync({
      ...prefixed(files, `exports/${sample}/`),
      ...dataFiles(`exports/${sample}/`),
      'exports/readme.txt': enc.encode('hi'),
    });
    const { sources, reads } = counted(await zipSourceFiles(bytesSource(archive)));
    const result = await buildBundle(sources, { sourceName: 'export.knwf' });
    expectOk(result);
    expect(result.manifest.root).toBe(`exports/${sample}`);
    expect(result.manifest.workflowName).toBe(sample);
    expect(result.zip).toEqual((await fromFolder()).zip);
    expect([...reads.keys()].sort()).toEqual([...files.keys()].map((p) => `exports/${sample}/${p}`).sort());
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
    expect(result.manifest.totals.skipped).toBe(8);
    expect(result.manifest.warnings).toEqual([
      expect.objectContaining({ kind: 'FILES_SKIPPED', message: expect.stringContaining('8 files') }),
    ]);
  });

  it('never reads the bytes of data entries from the archive', async () => {
    // A big data entry first, so it lies outside the tail read that finds the central directory.
    const big = new Uint8Array(512 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const archive = zipSync({ [`${sample}/port_1/data.table`]: [big, { level: 0 }], ...prefixed(files, `${sample}/`) });
    const ranges: [number, number][] = [];
    const source: RandomAccessSource = {
      size: archive.length,
      read: async (offset, length) => {
        ranges.push([offset, offset + length]);
        return archive.subarray(offset, offset + length);
      },
    };
    const result = await buildBundle(await zipSourceFiles(source));
    expectOk(result);
    // Its local header is read (every entry's is checked against the central directory), its data never.
    const dataStart = 30 + `${sample}/port_1/data.table`.length;
    const dataEnd = dataStart + big.length;
    expect(ranges.filter(([start, end]) => start < dataEnd && end > dataStart)).toEqual([]);
  });

  it('reads a browser File (Blob) the same way', async () => {
    const archive = zipSync(prefixed(files, `${sample}/`));
    const result = await buildBundle(await zipSourceFiles(blobSource(new Blob([archive]))));
    expectOk(result);
    expect(result.zip).toEqual((await fromFolder()).zip);
  });

  it('reads the files of a browser folder pick (webkitRelativePath)', async () => {
    const picked = [...files].map(([path, data]) => {
      const file = new File([new Uint8Array(data)], path.split('/').pop()!);
      Object.defineProperty(file, 'webkitRelativePath', { value: `${sample}/${path}` });
      return file;
    });
    const result = await buildBundle(pickedFileSources(picked));
    expectOk(result);
    expect(result.manifest.workflowName).toBe(sample);
    expect(result.zip).toEqual((await fromFolder()).zip);
  });

  it('is deterministic whatever the order of the sources', async () => {
    const { sources } = memorySources(Object.fromEntries(files));
    const a = await buildBundle(sources);
    const b = await buildBundle([...sources].reverse());
    expectOk(a);
    expectOk(b);
    expect(a.zip).toEqual(b.zip);
  });

  it('names a .knwf exported without a folder after the file', async () => {
    const archive = zipSync(Object.fromEntries(files));
    const result = await buildBundle(await zipSourceFiles(bytesSource(archive)), { sourceName: 'My Flow.knwf' });
    expectOk(result);
    expect(result.manifest.root).toBe('');
    expect(result.manifest.workflowName).toBe('My Flow');
  });
});

describe('finding the workflow root', () => {
  const one = bundleFiles(join(SAMPLES_DIR, 'KNIME_io_csv'));
  const two = bundleFiles(join(SAMPLES_DIR, 'KNIME_single_csv'));
  const parent = { ...prefixed(one, 'A/'), ...prefixed(two, 'B/') };

  it('lists the top-most workflow folders only', () => {
    expect(
      findWorkflowRoots(['x/workflow.knime', 'x/Meta (#2)/workflow.knime', 'y/z/workflow.knime', 'y/z/a.txt', '../workflow.knime']),
    ).toEqual(['x', 'y/z']);
    expect(findWorkflowRoots(['workflow.knime', 'a/workflow.knime'])).toEqual(['']);
  });

  it('refuses a parent folder with two workflows, listing both', async () => {
    const { sources, reads } = memorySources(parent);
    const result = expectFailed(await buildBundle(sources, { sourceName: 'parent' }));
    expect(result.errors).toEqual([{ code: 'SEVERAL_ROOTS', message: expect.stringMatching(/2 workflows.*`A`.*`B`/) }]);
    expect(result.manifest.roots).toEqual(['A', 'B']);
    expect(result.manifest.warnings.map((w) => w.kind)).toEqual(['SEVERAL_ROOTS']);
    expect(reads.size).toBe(0);
  });

  it('bundles the workflow chosen with the root option', async () => {
    const { sources } = memorySources(parent);
    for (const root of ['B', 'B/', './B', 'B/workflow.knime']) {
      const result = await buildBundle(sources, { root });
      expectOk(result);
      expect(result.manifest.root).toBe('B');
      expect(result.manifest.workflowName).toBe('B');
      expect(result.manifest.files.map((f) => f.path)).toEqual([...two.keys()].sort());
      expect(result.manifest.warnings[0]).toMatchObject({ kind: 'SEVERAL_ROOTS' });
      expect((await validateBundle(result.zip)).ok).toBe(true);
    }
  });

  it('says which workflows exist when the chosen root has none', async () => {
    const { sources } = memorySources(parent);
    const result = expectFailed(await buildBundle(sources, { root: 'C' }));
    expect(result.errors).toEqual([{ code: 'WORKFLOW_MISSING', message: expect.stringMatching(/no workflow.knime in `C`.*`A`, `B`/) }]);
  });

  it('reports WORKFLOW_MISSING when nothing holds a workflow.knime', async () => {
    const { sources } = memorySources({ 'a/settings.xml': SETTINGS_XML, 'b.csv': 'x' });
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors[0]).toMatchObject({ code: 'WORKFLOW_MISSING', message: expect.stringContaining('No workflow.knime was found') });
  });

  it('ignores entries with unsafe names', async () => {
    const { sources, reads } = memorySources({ '../workflow.knime': workflowXml([]), '/abs/workflow.knime': workflowXml([]) });
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors[0]!.code).toBe('WORKFLOW_MISSING');
    expect(reads.size).toBe(0);
  });

  it('normalizes the root option and derives names', () => {
    expect(normalizeRoot('./a/b/')).toBe('a/b');
    expect(normalizeRoot('.')).toBe('');
    expect(normalizeRoot('workflow.knime')).toBe('');
    expect(workflowNameOf('x/Flow', 'ignored.knwf')).toBe('Flow');
    expect(workflowNameOf('', 'Flow.KNWF')).toBe('Flow');
    expect(workflowNameOf('', undefined)).toBe('workflow');
  });
});

describe('missing and broken files', () => {
  const workflow = workflowXml([
    { id: '1', settingsFile: 'CSV Reader (#1)/settings.xml' },
    { id: '3', settingsFile: 'X (#3)/settings.xml' },
  ]);

  it('names the folder and the file when a referenced settings.xml is missing', async () => {
    const { sources } = memorySources({
      'Flow/workflow.knime': workflow,
      'Flow/CSV Reader (#1)/settings.xml': SETTINGS_XML,
      'Flow/X (#3)/port_1/data.table': 'data',
    });
    const result = expectFailed(await buildBundle(sources));
    const message = 'Folder `X (#3)` is referenced by workflow.knime but `X (#3)/settings.xml` is missing.';
    expect(result.errors).toEqual([{ code: 'SETTINGS_MISSING', message, path: 'X (#3)/settings.xml' }]);
    expect(result.manifest.warnings).toContainEqual({ kind: 'SETTINGS_MISSING', message, path: 'X (#3)/settings.xml', node: 'X (#3)' });
    expect(result.manifest.files).toContainEqual({ path: 'X (#3)/settings.xml', size: 0, present: false });
    expect(result.manifest.totals).toMatchObject({ files: 3, present: 2, missing: 1 });
  });

  it('says when the whole node folder is absent, or a name differs only in case', async () => {
    const absent = memorySources({ 'workflow.knime': workflow, 'CSV Reader (#1)/settings.xml': SETTINGS_XML });
    expect(expectFailed(await buildBundle(absent.sources)).errors[0]!.message).toContain('(the whole folder is absent)');
    const cased = memorySources({
      'workflow.knime': workflow,
      'CSV Reader (#1)/settings.xml': SETTINGS_XML,
      'x (#3)/settings.xml': SETTINGS_XML,
    });
    expect(expectFailed(await buildBundle(cased.sources)).errors[0]!.message).toContain(
      '`x (#3)/settings.xml` differs only in letter case',
    );
  });

  it('requires the nested workflow.knime of a metanode and of a component', async () => {
    const { sources } = memorySources({
      'workflow.knime': workflowXml([
        { id: '2', settingsFile: 'Meta (#2)/workflow.knime', nodeType: 'MetaNode' },
        { id: '3', settingsFile: 'Comp (#3)/settings.xml', nodeType: 'SubNode' },
      ]),
      'Comp (#3)/settings.xml': SETTINGS_XML,
    });
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors.map((e) => e.path)).toEqual(['Meta (#2)/workflow.knime', 'Comp (#3)/workflow.knime']);
    expect(result.errors.every((e) => e.code === 'SETTINGS_MISSING')).toBe(true);
  });

  it('reports a settings.xml that is not well-formed XML, and one with a DOCTYPE', async () => {
    const { sources } = memorySources({
      'workflow.knime': workflow,
      'CSV Reader (#1)/settings.xml': '<config key="settings.xml"><entry key="a" value="b"></config>',
      'X (#3)/settings.xml': '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><config key="s">&e;</config>',
    });
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors.map((e) => [e.code, e.path])).toEqual([
      ['XML_INVALID', 'CSV Reader (#1)/settings.xml'],
      ['XML_FORBIDDEN_DTD', 'X (#3)/settings.xml'],
    ]);
    expect(result.manifest.warnings.filter((w) => w.kind === 'XML_INVALID')).toHaveLength(2);
    expect(result.errors[0]!.message).toMatch(/`CSV Reader \(#1\)\/settings.xml` is not well-formed XML: .* \(line 1\)\./);
  });

  it('refuses a reference that escapes the workflow folder', async () => {
    const { sources } = memorySources({ 'workflow.knime': workflowXml([{ id: '1', settingsFile: '../evil/settings.xml' }]) });
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors[0]).toMatchObject({ code: 'ZIP_UNSAFE_PATH', message: expect.stringContaining('not a safe relative path') });
  });

  it('reports a file that cannot be read', async () => {
    const sources: SourceFile[] = [
      { path: 'workflow.knime', size: 10, read: async () => enc.encode(workflowXml([{ id: '1', settingsFile: 'A (#1)/settings.xml' }])) },
      {
        path: 'A (#1)/settings.xml',
        size: 10,
        read: async () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })),
      },
    ];
    const result = expectFailed(await buildBundle(sources));
    expect(result.errors).toEqual([
      {
        code: 'SOURCE_UNREADABLE',
        message: '`A (#1)/settings.xml` cannot be read: EACCES: permission denied',
        path: 'A (#1)/settings.xml',
      },
    ]);
  });
});

describe('credential-like settings', () => {
  const SECRETS = ['hunter2-do-not-leak', 'tok-9f8e7d6c5b4a', 'ENCRYPTED-3a1b2c'];
  const settings = `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="settings.xml">
  <config key="model">
    <entry key="user" type="xstring" value="alice"/>
    <entry key="password" type="xstring" value="${SECRETS[0]}"/>
    <entry key="token" type="xstring" value="${SECRETS[1]}"/>
    <entry key="use_token" type="xboolean" value="false"/>
    <entry key="empty_secret" type="xstring" value=""/>
    <config key="auth">
      <entry key="encrypted_pw" type="xpassword" value="${SECRETS[2]}"/>
    </config>
  </config>
</config>
`;

  it('reports node and key for each credential value, and never the value', async () => {
    const { sources } = memorySources({
      'workflow.knime': workflowXml([{ id: '4', settingsFile: 'DB Connector (#4)/settings.xml' }]),
      'DB Connector (#4)/settings.xml': settings,
    });
    const result = await buildBundle(sources);
    expectOk(result);
    const credentials = result.manifest.warnings.filter((w) => w.kind === 'CREDENTIAL_VALUE');
    expect(credentials.map((w) => [w.node, w.key])).toEqual([
      ['DB Connector (#4)', 'model/password'],
      ['DB Connector (#4)', 'model/token'],
      ['DB Connector (#4)', 'model/auth/encrypted_pw'],
    ]);
    expect(credentials[0]!.message).toContain('Node `DB Connector (#4)`');
    const text = JSON.stringify(result.manifest);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toContain('use_token');
  });
});

describe('limits', () => {
  const files = Object.fromEntries(bundleFiles(join(SAMPLES_DIR, 'KNIME_two_graphs')));

  it('refuses a workflow that needs more files than a bundle may hold', async () => {
    const { sources } = memorySources(files);
    const result = expectFailed(await buildBundle(sources, { limits: resolveBundleLimits({ maxEntries: 3 }) }));
    expect(result.errors).toEqual([{ code: 'ZIP_TOO_MANY_ENTRIES', message: expect.stringContaining('more than 3 files') }]);
  });

  it('refuses a file above the per-file limit without reading it', async () => {
    const { sources, reads } = memorySources(files);
    const limits = resolveBundleLimits({ maxEntryBytes: 15_000 });
    const result = expectFailed(await buildBundle(sources, { limits }));
    expect(result.errors.every((e) => e.code === 'ZIP_ENTRY_TOO_LARGE')).toBe(true);
    for (const error of result.errors) expect(reads.has(error.path!)).toBe(false);
    expect(result.errors[0]!.message).toMatch(/is 1\d\.\d KiB; a bundle file may be at most 14\.6 KiB/);
  });

  it('stops reading once the total would exceed the unpacked limit', async () => {
    const { sources, reads } = memorySources(files);
    const result = expectFailed(await buildBundle(sources, { limits: resolveBundleLimits({ maxTotalUnpackedBytes: 30_000 }) }));
    expect(result.errors).toEqual([{ code: 'ZIP_TOO_LARGE_UNPACKED', message: expect.stringContaining('more than 29.3 KiB') }]);
    expect(reads.size).toBeLessThan(Object.keys(files).length);
  });

  it('refuses a bundle above the upload limit', async () => {
    const { sources } = memorySources(files);
    const result = expectFailed(await buildBundle(sources, { limits: resolveBundleLimits({ maxUploadBytes: 1000 }) }));
    expect(result.errors[0]).toMatchObject({ code: 'BUNDLE_TOO_LARGE' });
  });

  it('stores a huge, very compressible settings.xml so the validator does not take it for a ZIP bomb', async () => {
    const row = '    <entry key="x" type="xstring" value="same"/>\n';
    const big = `<?xml version="1.0" encoding="UTF-8"?>\n<config key="settings.xml">\n${row.repeat(60_000)}</config>\n`;
    const { sources } = memorySources({
      'workflow.knime': workflowXml([{ id: '1', settingsFile: 'Big (#1)/settings.xml' }]),
      'Big (#1)/settings.xml': big,
    });
    const result = await buildBundle(sources);
    expectOk(result);
    const verdict = await validateBundle(result.zip, DEFAULT_BUNDLE_LIMITS);
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
    expect(result.zip.length).toBeGreaterThan(big.length);
  });

  it('writes the same bytes for the same entries in any order', () => {
    const entries = [
      { path: 'workflow.knime', data: enc.encode(workflowXml([])) },
      { path: 'A (#1)/settings.xml', data: enc.encode(SETTINGS_XML) },
    ];
    expect(writeBundleZip(entries)).toEqual(writeBundleZip([...entries].reverse()));
  });
});

describe('Node sources', () => {
  it('skips symbolic links instead of following them', async () => {
    const dir = join(scratch, 'linked');
    mkdirSync(join(dir, 'Node (#1)'), { recursive: true });
    writeFileSync(join(dir, 'workflow.knime'), workflowXml([{ id: '1', settingsFile: 'Node (#1)/settings.xml' }]));
    writeFileSync(join(scratch, 'outside.xml'), SETTINGS_XML);
    symlinkSync(join(scratch, 'outside.xml'), join(dir, 'Node (#1)', 'settings.xml'));
    const source = await openBundleSource(dir);
    expect(source.files.map((f) => f.path)).toEqual(['workflow.knime']);
    const result = expectFailed(await buildBundle(source.files, { sourceName: source.name }));
    expect(result.errors[0]).toMatchObject({ code: 'SETTINGS_MISSING', path: 'Node (#1)/settings.xml' });
  });

  it('treats a workflow.knime path as its folder', async () => {
    const source = await openBundleSource(join(SAMPLES_DIR, 'KNIME_io_csv', 'workflow.knime'));
    expect(source.kind).toBe('folder');
    expect(source.name).toBe('KNIME_io_csv');
  });

  it('opens a .knwf file and reads only what it needs', async () => {
    const files = bundleFiles(join(SAMPLES_DIR, 'discounts'));
    const path = join(scratch, 'discounts.knwf');
    writeFileSync(path, zipSync({ ...prefixed(files, 'discounts/'), ...dataFiles('discounts/') }));
    const source = await openBundleSource(path);
    try {
      expect(source).toMatchObject({ kind: 'archive', name: 'discounts.knwf' });
      const result = await buildBundle(source.files, { sourceName: source.name });
      expectOk(result);
      expect(result.manifest.workflowName).toBe('discounts');
      expect((await validateBundle(result.zip)).ok).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('refuses a folder with more files than it will walk', async () => {
    await expect(folderSource(join(SAMPLES_DIR, 'KNIME_PP_2022_LR'), { maxFiles: 5 })).rejects.toMatchObject({
      code: 'ZIP_TOO_MANY_ENTRIES',
    });
  });
});
