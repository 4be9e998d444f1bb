/** Reading result.zip in the page: per component the script (or the notebook's code) and the graph, plus report.json's counts. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { MAX_PREVIEW_BYTES, notebookCode, readResultZip } from '../../web/src/result';
import { REFERENCE_DIR } from '../support/samples';

/** A result.zip as the runner writes it, from the real knime2py outputs of a sample. */
function resultZip(sample: string, keep: (name: string) => boolean = () => true, extra: Record<string, Uint8Array> = {}): Uint8Array {
  const out = join(REFERENCE_DIR, sample, 'out');
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(out).filter(keep)) files[name] = readFileSync(join(out, name));
  const report = {
    schemaVersion: 1,
    converter: { version: '0.1.11' },
    components: readdirSync(out)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ workflowId: f.slice(0, -5), nodes: 2, edges: 1, idle: 0, notImplementedNames: ['Line Plot (x)'] })),
  };
  return zipSync({ ...files, 'report.json': strToU8(JSON.stringify(report)), 'README.md': strToU8('# Result'), ...extra });
}

describe('readResultZip', () => {
  it('previews every component of a two-component result with its script and graph', () => {
    const preview = readResultZip(resultZip('KNIME_two_graphs'));
    expect(preview.components.map((c) => c.id)).toEqual(['g01', 'g02']);
    for (const component of preview.components) {
      expect(component.code?.name).toBe(`KNIME_two_graphs__${component.id}_workbook.py`);
      expect(component.code?.text).toContain('import');
      expect(component.graph?.nodes.length).toBeGreaterThan(0);
      expect(component.graphFile).toBe(`KNIME_two_graphs__${component.id}.json`);
    }
    expect(preview.reportComponents).toHaveLength(2);
    expect(preview.converterVersion).toBe('0.1.11');
    expect(preview.files).toContain('README.md');
  });

  it('falls back to the notebook and the DOT graph when only those were requested', () => {
    const preview = readResultZip(resultZip('KNIME_traverse_order', (name) => name.endsWith('.ipynb') || name.endsWith('.dot')));
    const [component] = preview.components;
    expect(component!.code).toMatchObject({ name: 'KNIME_traverse_order__g01_workbook.ipynb', fromNotebook: true });
    expect(component!.code!.text).toContain('import pandas as pd');
    expect(component!.graphFile).toBe('KNIME_traverse_order__g01.dot');
    expect(component!.graph!.nodes).toHaveLength(13);
  });

  it('has no graph when the graph output was off', () => {
    const preview = readResultZip(resultZip('discounts', (name) => name.endsWith('.py')));
    expect(preview.components[0]!.graph).toBeUndefined();
    expect(preview.components[0]!.code).toBeDefined();
  });

  it('does not inflate files too large to preview', () => {
    const huge = new Uint8Array(MAX_PREVIEW_BYTES + 1);
    const preview = readResultZip(resultZip('discounts', () => true, { 'discounts__g02_workbook.py': huge }));
    expect(preview.skipped).toEqual(['discounts__g02_workbook.py']);
    expect(preview.components.map((c) => c.id)).toEqual(['g01']);
  });

  it('survives an unreadable report.json', () => {
    const zip = zipSync({ 'report.json': strToU8('{oops'), 'x__g01_workbook.py': strToU8('print(1)\n') });
    expect(readResultZip(zip)).toMatchObject({ reportComponents: [], components: [{ id: 'g01', code: { text: 'print(1)\n' } }] });
  });
});

describe('notebookCode', () => {
  it('joins code cells and turns markdown cells into comments', () => {
    const nb = JSON.stringify({
      cells: [
        { cell_type: 'markdown', source: ['# Title\n', 'text'] },
        { cell_type: 'code', source: 'x = 1\n' },
        { cell_type: 'raw', source: 'skip' },
      ],
    });
    expect(notebookCode(nb)).toBe('# # Title\n# text\n\nx = 1\n');
    expect(notebookCode('not json')).toBeUndefined();
    expect(notebookCode('{"cells": 3}')).toBeUndefined();
  });

  it('reads the real notebook knime2py writes', () => {
    const code = notebookCode(readFileSync(join(REFERENCE_DIR, 'discounts', 'out', 'discounts__g01_workbook.ipynb'), 'utf8'));
    expect(code).toContain('pd.read_csv');
  });
});
