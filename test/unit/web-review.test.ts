/** The review step's model, from the real bundler: blocking problems, secrets by node and key (never the value), warnings, totals. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBundle, type SourceFile } from '../../core/bundler';
import { openBundleSource } from '../../core/node/bundle-source';
import { manifestJson, reviewOf } from '../../web/src/review';
import { folderSelection } from '../../web/src/sources';
import { SAMPLES_DIR, SETTINGS_XML, workflowXml } from '../support/zip-builder';

const enc = new TextEncoder();

function sources(files: Record<string, string>): SourceFile[] {
  return Object.entries(files).map(([path, text]) => ({ path, size: enc.encode(text).length, read: async () => enc.encode(text) }));
}

const SECRET = 'hunter2-very-secret';
const settingsWithSecret = SETTINGS_XML.replace(
  '</config>\n',
  `  <config key="model"><entry key="password" type="xstring" value="${SECRET}"/><entry key="use_token" type="xboolean" value="true"/></config>\n</config>\n`,
);

describe('reviewOf', () => {
  it('lists a sample workflow ready to convert, with totals and the bundle size', async () => {
    const source = await openBundleSource(join(SAMPLES_DIR, 'discounts'));
    try {
      const review = reviewOf(await buildBundle(source.files, { sourceName: source.name }));
      expect(review).toMatchObject({ ok: true, workflowName: 'discounts', blocking: [], credentials: [] });
      expect(review.rows.map((r) => r.path)).toEqual(['CSV Reader (#1)/settings.xml', 'Line Plot (#2)/settings.xml', 'workflow.knime']);
      expect(review.totals).toMatchObject({ files: 3, present: 3, missing: 0, nodes: 2 });
      expect(review.bundleBytes).toBeGreaterThan(0);
    } finally {
      await source.close();
    }
  });

  it('names the node and key of a credential-like value and never its value', async () => {
    const result = await buildBundle(
      sources({
        'Flow/workflow.knime': workflowXml([{ id: '4', settingsFile: 'DB Connector (#4)/settings.xml' }]),
        'Flow/DB Connector (#4)/settings.xml': settingsWithSecret,
      }),
    );
    const review = reviewOf(result);
    expect(review.ok).toBe(true);
    expect(review.credentials).toEqual([{ node: 'DB Connector (#4)', key: 'model/password' }]);
    expect(review.warnings.some((w) => w.kind === 'CREDENTIAL_VALUE')).toBe(false);
    expect(JSON.stringify(review)).not.toContain(SECRET);
    expect(manifestJson(result.manifest)).not.toContain(SECRET);
  });

  it('blocks a folder whose settings.xml is missing, naming the file once (not again as a warning)', async () => {
    const review = reviewOf(
      await buildBundle(
        sources({
          'Flow/workflow.knime': workflowXml([{ id: '1', settingsFile: 'CSV Reader (#1)/settings.xml' }]),
          'Flow/CSV Reader (#1)/data.csv': 'a,b',
        }),
        {
          sourceName: 'Flow',
        },
      ),
    );
    expect(review.ok).toBe(false);
    expect(review.blocking).toHaveLength(1);
    expect(review.blocking[0]).toMatchObject({ code: 'SETTINGS_MISSING', file: 'CSV Reader (#1)/settings.xml' });
    expect(review.blocking[0]!.hint).toMatch(/settings\.xml/);
    expect(review.warnings.map((w) => w.kind)).not.toContain('SETTINGS_MISSING');
    expect(review.rows.find((r) => !r.present)?.path).toBe('CSV Reader (#1)/settings.xml');
    expect(review.bundleBytes).toBeUndefined();
  });

  it('asks which workflow to convert when the selection holds several, and accepts the choice', async () => {
    const files = sources({
      'A/workflow.knime': workflowXml([{ id: '1', settingsFile: 'N (#1)/settings.xml' }]),
      'A/N (#1)/settings.xml': SETTINGS_XML,
      'B/workflow.knime': workflowXml([{ id: '1', settingsFile: 'N (#1)/settings.xml' }]),
      'B/N (#1)/settings.xml': SETTINGS_XML,
    });
    const undecided = reviewOf(await buildBundle(files));
    expect(undecided.blocking.map((b) => b.code)).toEqual(['SEVERAL_ROOTS']);
    expect(undecided.roots).toEqual(['A', 'B']);
    expect(undecided.warnings.map((w) => w.kind)).not.toContain('SEVERAL_ROOTS');
    const chosen = reviewOf(await buildBundle(files, { root: 'B' }));
    expect(chosen).toMatchObject({ ok: true, root: 'B', workflowName: 'B', roots: ['A', 'B'] });
    expect(chosen.warnings.map((w) => w.kind)).toContain('SEVERAL_ROOTS');
  });

  it('blocks XML with a DOCTYPE with its precise code', async () => {
    const review = reviewOf(
      await buildBundle(sources({ 'workflow.knime': '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><config key="x"/>' })),
    );
    expect(review.blocking.map((b) => b.code)).toEqual(['XML_FORBIDDEN_DTD']);
    expect(review.warnings.map((w) => w.kind)).not.toContain('XML_INVALID');
  });
});

describe('folderSelection', () => {
  it('names the selection after the picked folder and reads nothing yet', () => {
    let reads = 0;
    const file = (path: string) => ({
      name: path.split('/').pop()!,
      size: 3,
      webkitRelativePath: path,
      arrayBuffer: async () => (reads++, new ArrayBuffer(3)),
    });
    const selection = folderSelection([file('My Flow/workflow.knime'), file('My Flow/data/big.csv')]);
    expect(selection).toMatchObject({ sourceName: 'My Flow', kind: 'folder', fileCount: 2 });
    expect(selection.sources.map((s) => s.path)).toEqual(['My Flow/workflow.knime', 'My Flow/data/big.csv']);
    expect(reads).toBe(0);
  });

  it('refuses an empty folder', () => {
    expect(() => folderSelection([])).toThrow(/empty/);
  });
});
