/**
 * `k2p-web bundle` end to end: the real command in a child process, as users
 * run it (`node cli/k2p-web.mjs`, which runs the sources through tsx when
 * dist/ is stale), checked with the real `k2p-web validate`.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../core/bundler';
import { folderSource } from '../../core/node/bundle-source';
import type { Manifest } from '../../core/types';
import { bundleFiles } from '../support/samples';
import { SAMPLES_DIR, sampleNames, SETTINGS_XML, workflowXml } from '../support/zip-builder';

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'k2p-web.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `k2p-web …` in `scratch`, with no limit overrides from the caller's environment. */
function k2pWeb(...args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LIMIT_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: scratch, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function writeTree(root: string, files: Record<string, string | Uint8Array>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const NODE_COUNTS: Record<string, number> = {
  KNIME_single_csv: 1,
  KNIME_io_csv: 2,
  KNIME_two_graphs: 4,
  KNIME_traverse_order: 13,
  KNIME_PP_2022_LR: 14,
  discounts: 2,
  _synthetic_nested: 7,
};

describe('k2p-web bundle on every sample', () => {
  const samples = sampleNames();

  for (const sample of samples) {
    it(`bundles ${sample} (exit 0, summary, same bytes as the library)`, async () => {
      const run = await k2pWeb('bundle', join(SAMPLES_DIR, sample), '-o', `${sample}.zip`);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Workflow  ${sample}\n`);
      expect(run.stdout).toContain(`Nodes     ${NODE_COUNTS[sample]}\n`);
      expect(run.stdout).toContain('0 missing');
      expect(run.stdout).toMatch(new RegExp(`✔ Wrote ${sample}\\.zip — \\d+ files, .*sha256 [0-9a-f]{64}; it passes`));
      expect(run.stdout).toContain('Privacy: settings.xml files can hold local file paths');
      const folder = await folderSource(join(SAMPLES_DIR, sample));
      const library = await buildBundle(folder.files, { sourceName: folder.name });
      expect(library.ok && Buffer.from(library.zip).equals(readFileSync(join(scratch, `${sample}.zip`)))).toBe(true);
    });
  }

  it('k2p-web validate accepts every bundle it wrote', async () => {
    const run = await k2pWeb('validate', '--json', ...samples.map((s) => `${s}.zip`));
    expect(run.code).toBe(0);
    const verdicts = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { file: string; ok: boolean; stats: { nodes: number } });
    expect(verdicts.map((v) => [v.file, v.ok, v.stats.nodes])).toEqual(samples.map((s) => [`${s}.zip`, true, NODE_COUNTS[s]]));
  });

  it('mentions the nested workflows of _synthetic_nested', async () => {
    const run = await k2pWeb('bundle', join(SAMPLES_DIR, '_synthetic_nested'), '-o', 'nested.zip');
    expect(run.stdout).toContain('Files     9 to bundle (30.1 KiB), 2 nested workflows, 0 missing');
  });
});

describe('k2p-web bundle inputs and outputs', () => {
  it('writes --manifest and --json output that agree', async () => {
    const run = await k2pWeb('bundle', join(SAMPLES_DIR, 'KNIME_io_csv'), '-o', 'io.zip', '--manifest', 'io.manifest.json', '--json');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as {
      ok: boolean;
      output: string;
      manifest: Manifest;
      bundle: { files: number; sha256: string };
    };
    const written = JSON.parse(readFileSync(join(scratch, 'io.manifest.json'), 'utf8')) as Manifest;
    expect(printed).toMatchObject({ ok: true, output: 'io.zip', bundle: { files: 3 } });
    expect(written).toEqual(printed.manifest);
    expect(written).toMatchObject({ root: '', workflowName: 'KNIME_io_csv', totals: { files: 3, present: 3, missing: 0, nodes: 2 } });
  });

  it('gives the same bundle from a .knwf with a wrapper folder and data files', async () => {
    const files = bundleFiles(join(SAMPLES_DIR, '_synthetic_nested'));
    const entries: Record<string, Uint8Array> = {
      'Flow/workflow.svg': new TextEncoder().encode('<svg/>'),
      'Flow/CSV Reader (#1)/port_1/data.zip': new Uint8Array(2048).fill(3),
    };
    for (const [path, data] of files) entries[`Flow/${path}`] = data;
    writeFileSync(join(scratch, 'Flow.knwf'), zipSync(entries));
    const [fromKnwf, fromFolder] = [
      await k2pWeb('bundle', 'Flow.knwf', '-o', 'flow.zip'),
      await k2pWeb('bundle', join(SAMPLES_DIR, '_synthetic_nested'), '-o', 'folder.zip'),
    ];
    expect(fromKnwf.code).toBe(0);
    expect(fromFolder.code).toBe(0);
    expect(fromKnwf.stdout).toContain('Workflow  Flow\n');
    expect(fromKnwf.stdout).toContain('Skipped   2 files');
    expect(readFileSync(join(scratch, 'flow.zip')).equals(readFileSync(join(scratch, 'folder.zip')))).toBe(true);
  });

  it('refuses a parent folder with two workflows unless --root picks one', async () => {
    const parent = join(scratch, 'parent');
    cpSync(join(SAMPLES_DIR, 'KNIME_io_csv'), join(parent, 'A'), { recursive: true });
    cpSync(join(SAMPLES_DIR, 'KNIME_single_csv'), join(parent, 'B'), { recursive: true });
    const refused = await k2pWeb('bundle', 'parent', '-o', 'parent.zip');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SEVERAL_ROOTS: The selection holds 2 workflows (`A`, `B`)');
    expect(refused.stderr).toContain('--root');
    expect(refused.stdout).toContain('Workflows A, B');
    expect(existsSync(join(scratch, 'parent.zip'))).toBe(false);

    const picked = await k2pWeb('bundle', 'parent', '--root', 'B', '-o', 'parent.zip');
    expect(picked.code).toBe(0);
    expect(picked.stdout).toContain('Workflow  B\n');
    expect(picked.stdout).toContain('SEVERAL_ROOTS');
    expect((await k2pWeb('validate', 'parent.zip')).code).toBe(0);

    const wrong = await k2pWeb('bundle', 'parent', '--root', 'C', '-o', 'parent-c.zip');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('WORKFLOW_MISSING: There is no workflow.knime in `C`. The workflows found are: `A`, `B`.');
  });

  it('fails with the folder and file named when a settings.xml is missing', async () => {
    writeTree(join(scratch, 'broken'), {
      'workflow.knime': workflowXml([
        { id: '1', settingsFile: 'CSV Reader (#1)/settings.xml' },
        { id: '3', settingsFile: 'X (#3)/settings.xml' },
      ]),
      'CSV Reader (#1)/settings.xml': SETTINGS_XML,
      'X (#3)/node.xml': '<node/>',
    });
    const run = await k2pWeb('bundle', 'broken', '-o', 'broken.zip', '--manifest', 'broken.json');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      '✖ SETTINGS_MISSING: Folder `X (#3)` is referenced by workflow.knime but `X (#3)/settings.xml` is missing.',
    );
    expect(run.stderr).toContain('what to do:');
    expect(run.stdout).toContain('Missing   X (#3)/settings.xml');
    expect(existsSync(join(scratch, 'broken.zip'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(scratch, 'broken.json'), 'utf8')) as Manifest;
    expect(manifest.files).toContainEqual({ path: 'X (#3)/settings.xml', size: 0, present: false });
  });

  it('warns about credential values by node and key and never prints them', async () => {
    const secrets = ['s3cr3t-PASSWORD-value', 'tok_ABCDEF123456', 'xpw-ENCRYPTED-blob'];
    writeTree(join(scratch, 'creds'), {
      'workflow.knime': workflowXml([{ id: '4', settingsFile: 'DB Connector (#4)/settings.xml' }]),
      'DB Connector (#4)/settings.xml': `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="settings.xml">
  <config key="model">
    <entry key="password" type="xstring" value="${secrets[0]}"/>
    <entry key="token" type="xstring" value="${secrets[1]}"/>
    <entry key="pwd_enc" type="xpassword" value="${secrets[2]}"/>
    <entry key="use_token" type="xboolean" value="false"/>
  </config>
</config>
`,
    });
    const text = await k2pWeb('bundle', 'creds', '-o', 'creds.zip', '--manifest', 'creds.json');
    const json = await k2pWeb('bundle', 'creds', '-o', 'creds.zip', '--json');
    expect(text.code).toBe(0);
    expect(json.code).toBe(0);
    for (const key of ['model/password', 'model/token', 'model/pwd_enc']) {
      expect(text.stdout).toContain(`CREDENTIAL_VALUE: Node \`DB Connector (#4)\` has a value for the credential-like setting \`${key}\``);
    }
    expect(text.stdout).not.toContain('use_token');
    expect(text.stdout).toContain('Privacy:');
    const everything = [text.stdout, text.stderr, json.stdout, json.stderr, readFileSync(join(scratch, 'creds.json'), 'utf8')].join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it('reports an input that is not an archive, and one without a workflow', async () => {
    writeFileSync(join(scratch, 'notes.knwf'), 'this is not a zip file');
    const corrupt = await k2pWeb('bundle', 'notes.knwf', '-o', 'notes.zip');
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain('ZIP_CORRUPT: The file is not a ZIP archive or .knwf export');

    writeTree(join(scratch, 'empty'), { 'readme.txt': 'nothing here' });
    const empty = await k2pWeb('bundle', 'empty', '-o', 'empty.zip');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('WORKFLOW_MISSING: No workflow.knime was found.');
  });
});

describe('k2p-web bundle usage errors', () => {
  const usage: [string, string[], RegExp][] = [
    ['no -o', ['bundle', join(SAMPLES_DIR, 'KNIME_io_csv')], /-o <bundle\.zip>/],
    ['no input', ['bundle', '-o', 'x.zip'], /exactly one workflow folder/],
    ['two inputs', ['bundle', 'a', 'b', '-o', 'x.zip'], /exactly one workflow folder/],
    ['an unknown option', ['bundle', join(SAMPLES_DIR, 'KNIME_io_csv'), '-o', 'x.zip', '--fast'], /Unknown option '--fast'/],
    ['a missing input', ['bundle', 'no-such-folder', '-o', 'x.zip'], /cannot find no-such-folder/],
    ['an output that is the input', ['bundle', 'same.zip', '-o', 'same.zip'], /overwrite the input/],
  ];
  for (const [what, args, message] of usage) {
    it(`exits 2 on ${what}`, async () => {
      const run = await k2pWeb(...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('Run `k2p-web bundle --help` for usage.');
      expect(run.stdout).toBe('');
    });
  }

  it('prints its help with --help', async () => {
    const run = await k2pWeb('bundle', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: k2p-web bundle <folder|.knwf|.zip> -o <bundle.zip>');
  });
});
