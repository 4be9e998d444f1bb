/**
 * The knime2py contract double against the real tool's reference outputs: same
 * file names, summary keys, component counts and not-implemented nodes, produced
 * from the sample workflows (the double never reads the reference files).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR, SAMPLES_DIR } from '../support/samples';

const DOUBLE = resolve('test/doubles/k2p-double.mjs');
const work = mkdtempSync(join(tmpdir(), 'k2p-double-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function k2p(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(DOUBLE, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const SAMPLES = readdirSync(SAMPLES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** The reference stdout with absolute paths reduced to file names, for a shape comparison. */
function shapeOf(summary: { components: Record<string, unknown>[] }) {
  return summary.components.map((c) =>
    Object.fromEntries(Object.entries(c).map(([k, v]) => [k, typeof v === 'string' && v.includes('/') ? v.split('/').at(-1) : v])),
  );
}

describe('k2p contract double on the sample workflows', () => {
  it('covers every sample that has a reference run', () => {
    expect(SAMPLES.length).toBeGreaterThanOrEqual(7);
    for (const sample of SAMPLES) expect(readdirSync(join(REFERENCE_DIR, sample))).toContain('stdout.json');
  });

  it.each(SAMPLES)('produces the reference shapes for %s', async (sample) => {
    const out = join(work, `${sample}-out`);
    const run = await k2p([join(SAMPLES_DIR, sample), '--out', out]);
    const reference = JSON.parse(readFileSync(join(REFERENCE_DIR, sample, 'stdout.json'), 'utf8'));
    expect(run.code).toBe(Number(readFileSync(join(REFERENCE_DIR, sample, 'exit_code'), 'utf8').trim()));

    const summary = JSON.parse(run.stdout);
    expect(Object.keys(summary)).toEqual(Object.keys(reference));
    expect(summary.workflow).toBe(join(SAMPLES_DIR, sample, 'workflow.knime'));
    expect(summary.total_components).toBe(reference.total_components);
    for (const [i, component] of summary.components.entries()) {
      expect(Object.keys(component)).toEqual(Object.keys(reference.components[i]));
      for (const key of ['json', 'dot', 'workbook_py', 'workbook_ipynb']) expect(component[key].startsWith(`${out}/`)).toBe(true);
    }
    expect(shapeOf(summary)).toEqual(shapeOf(reference));
    expect(readdirSync(out).sort()).toEqual(readdirSync(join(REFERENCE_DIR, sample, 'out')).sort());
  });

  it('embeds the absolute source path and the settings file paths in the generated code', async () => {
    const out = join(work, 'source-line');
    await k2p([join(SAMPLES_DIR, 'KNIME_io_csv'), '--out', out]);
    const py = readFileSync(join(out, 'KNIME_io_csv__g01_workbook.py'), 'utf8');
    expect(py).toContain(`# Source:   ${join(SAMPLES_DIR, 'KNIME_io_csv', 'workflow.knime')}`);
    expect(py).toMatch(/Path\(r"\/Users\/[^"]+\.csv"\)/);
    const notebook = JSON.parse(readFileSync(join(out, 'KNIME_io_csv__g01_workbook.ipynb'), 'utf8'));
    expect(notebook.nbformat).toBe(4);
    expect(notebook.cells[0].source).toContain(join(SAMPLES_DIR, 'KNIME_io_csv', 'workflow.knime'));
  });

  it('writes only the requested workbook and graph formats', async () => {
    const out = join(work, 'options');
    const run = await k2p([join(SAMPLES_DIR, 'KNIME_two_graphs'), '--out', out, '--workbook', 'ipynb', '--graph', 'off']);
    expect(run.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['KNIME_two_graphs__g01_workbook.ipynb', 'KNIME_two_graphs__g02_workbook.ipynb']);
    const summary = JSON.parse(run.stdout);
    expect(summary.components[0]).toMatchObject({ json: null, dot: null, workbook_py: null });

    const dotOnly = join(work, 'dot-only');
    await k2p([join(SAMPLES_DIR, 'KNIME_single_csv'), `--out=${dotOnly}`, '--graph=dot', '--workbook=py']);
    expect(readdirSync(dotOnly).sort()).toEqual(['KNIME_single_csv__g01.dot', 'KNIME_single_csv__g01_workbook.py']);
  });
});

describe('k2p contract double exit codes', () => {
  it('exits 2 with the reference message for a path that does not exist', async () => {
    const missing = join(work, 'missingdir');
    const run = await k2p([missing, '--out', join(work, 'o')]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trim()).toBe(`Path does not exist: ${missing}`);
  });

  it('exits 2 on bad usage', async () => {
    expect((await k2p([])).code).toBe(2);
    expect((await k2p([SAMPLES_DIR])).code).toBe(2); // no --out
    expect((await k2p([join(SAMPLES_DIR, 'discounts'), '--out', work, '--graph', 'png'])).code).toBe(2);
  });

  it('exits 3 with "ERROR parsing" for malformed workflow.knime', async () => {
    const dir = join(work, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'workflow.knime'), '<config key="workflow.knime"><config key="nodes">');
    const run = await k2p([dir, '--out', join(work, 'o')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`^ERROR parsing ${join(dir, 'workflow.knime')}: `));
  });

  it('exits 3 for a legacy workflow.knime without a nodes config, like the reference', async () => {
    const dir = join(work, 'legacy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'workflow.knime'), '<config key="workflow.knime"><entry key="version" type="xstring" value="2.0"/></config>');
    const run = await k2p([dir, '--out', join(work, 'o')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('Unsupported/legacy workflow format');
  });

  it('takes its failure mode from a k2p-double-mode entry in workflow.knime (for end-to-end tests)', async () => {
    const dir = join(work, 'moded');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'workflow.knime'),
      '<config key="workflow.knime"><entry key="k2p-double-mode" type="xstring" value="exit-7"/><config key="nodes"/></config>',
    );
    const run = await k2p([dir, '--out', join(work, 'o')]);
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('simulated failure (exit 7)');
  });

  it('exits 4 when the workflow has no nodes', async () => {
    const dir = join(work, 'empty');
    mkdirSync(dir);
    writeFileSync(join(dir, 'workflow.knime'), '<config key="workflow.knime"><config key="nodes"/></config>');
    expect((await k2p([dir, '--out', join(work, 'o')])).code).toBe(4);
  });

  it('exits with the code asked for by K2P_DOUBLE_MODE=exit-N', async () => {
    const run = await k2p([join(SAMPLES_DIR, 'discounts'), '--out', join(work, 'o')], { K2P_DOUBLE_MODE: 'exit-9' });
    expect(run.code).toBe(9);
    expect(run.stderr).toContain('ERROR');
  });
});
