/**
 * Reads result.zip in the page for the preview: per component the generated
 * script (or the notebook's code), the graph (JSON, else DOT) and report.json.
 * Only the files the preview shows are inflated, each within a size cap: the
 * archive comes from our own bucket, but the page trusts nothing it renders.
 */
import { strFromU8, unzipSync } from 'fflate';
import { parseDot, parseGraphJson, parseJsonOrUndefined, type WorkflowGraph } from './graph';

/** Larger files are offered for download only, not previewed. */
export const MAX_PREVIEW_BYTES = 8 * 1024 * 1024;

export interface CodeFile {
  name: string;
  text: string;
  /** The text came from a notebook's cells. */
  fromNotebook: boolean;
}

export interface ResultComponent {
  /** "g01", "g02", … */
  id: string;
  code?: CodeFile;
  graph?: WorkflowGraph;
  graphFile?: string;
}

export interface ReportComponent {
  workflowId: string;
  nodes: number;
  edges: number;
  idle: number;
  notImplementedNames: string[];
}

export interface ResultPreview {
  components: ResultComponent[];
  /** report.json's per-component counts, when present and readable. */
  reportComponents: ReportComponent[];
  converterVersion?: string;
  /** Every file in the archive. */
  files: string[];
  /** Files too large to preview. */
  skipped: string[];
}

const OUTPUT = /__(g\d+)(_workbook\.py|_workbook\.ipynb|\.json|\.dot)$/;

function baseName(path: string): string {
  return path.split('/').pop() ?? path;
}

export function readResultZip(zip: Uint8Array): ResultPreview {
  const files: string[] = [];
  const skipped: string[] = [];
  const wanted = (name: string) => baseName(name) === 'report.json' || OUTPUT.test(baseName(name));
  const entries = unzipSync(zip, {
    filter: (file) => {
      if (file.name.endsWith('/')) return false;
      files.push(file.name);
      if (!wanted(file.name)) return false;
      if (file.originalSize > MAX_PREVIEW_BYTES) {
        skipped.push(file.name);
        return false;
      }
      return true;
    },
  });
  const byId = new Map<string, { py?: string; ipynb?: string; json?: string; dot?: string }>();
  let report: unknown;
  for (const [name, data] of Object.entries(entries)) {
    const base = baseName(name);
    if (base === 'report.json') {
      try {
        report = JSON.parse(strFromU8(data));
      } catch {
        report = undefined;
      }
      continue;
    }
    const match = OUTPUT.exec(base);
    if (!match) continue;
    const slot = byId.get(match[1]!) ?? {};
    const kind = ({ '_workbook.py': 'py', '_workbook.ipynb': 'ipynb', '.json': 'json', '.dot': 'dot' } as const)[match[2] as '.json'];
    slot[kind] = name;
    byId.set(match[1]!, slot);
  }
  const text = (name: string) => strFromU8(entries[name]!);
  const components: ResultComponent[] = [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, slot]) => {
      const component: ResultComponent = { id };
      if (slot.py) component.code = { name: baseName(slot.py), text: text(slot.py), fromNotebook: false };
      else if (slot.ipynb) {
        const code = notebookCode(text(slot.ipynb));
        if (code !== undefined) component.code = { name: baseName(slot.ipynb), text: code, fromNotebook: true };
      }
      const graph = slot.json ? parseGraphJson(text(slot.json)) : undefined;
      const dot = !graph && slot.dot ? parseDot(text(slot.dot)) : undefined;
      if (graph || dot) {
        component.graph = (graph ?? dot)!;
        component.graphFile = baseName((graph ? slot.json : slot.dot)!);
      }
      return component;
    });
  const parsed = reportFacts(report);
  return {
    components,
    reportComponents: parsed.components,
    ...(parsed.version ? { converterVersion: parsed.version } : {}),
    files,
    skipped,
  };
}

/** A notebook as Python: code cells as they are, markdown cells as comments. */
export function notebookCode(json: string): string | undefined {
  const notebook = parseJsonOrUndefined(json);
  const cells = (notebook as { cells?: unknown })?.cells;
  if (!Array.isArray(cells)) return undefined;
  const parts: string[] = [];
  for (const cell of cells) {
    if (typeof cell !== 'object' || cell === null) continue;
    const { cell_type: type, source } = cell as { cell_type?: unknown; source?: unknown };
    const body = Array.isArray(source) ? source.filter((s) => typeof s === 'string').join('') : typeof source === 'string' ? source : '';
    if (type === 'code') parts.push(body.replace(/\n+$/, ''));
    else if (type === 'markdown')
      parts.push(
        body
          .replace(/\n+$/, '')
          .split('\n')
          .map((line) => `# ${line}`.trimEnd())
          .join('\n'),
      );
  }
  return `${parts.join('\n\n')}\n`;
}

function reportFacts(report: unknown): { components: ReportComponent[]; version?: string } {
  if (typeof report !== 'object' || report === null) return { components: [] };
  const r = report as { components?: unknown; converter?: { version?: unknown } };
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const components: ReportComponent[] = [];
  for (const c of Array.isArray(r.components) ? r.components : []) {
    if (typeof c !== 'object' || c === null) continue;
    const x = c as Record<string, unknown>;
    components.push({
      workflowId: typeof x.workflowId === 'string' ? x.workflowId : '',
      nodes: count(x.nodes),
      edges: count(x.edges),
      idle: count(x.idle),
      notImplementedNames: Array.isArray(x.notImplementedNames)
        ? x.notImplementedNames.filter((n): n is string => typeof n === 'string')
        : [],
    });
  }
  const version = typeof r.converter?.version === 'string' ? r.converter.version : undefined;
  return { components, ...(version ? { version } : {}) };
}
