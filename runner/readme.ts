/**
 * The README.md placed in result.zip: what the files are, how to run them
 * (Python version, the pip packages the generated code imports) and which nodes
 * were not converted. Generated only from the result itself, so it is as
 * reproducible as the rest of the archive.
 */
import { plural } from '../core/format';
import type { ComponentSummary } from '../core/types';

/** The Python version of the knime2py image (python:3.11-slim). */
export const PYTHON_VERSION = '3.11';

/** Import names whose pip package is called differently. */
const PIP_NAMES: Record<string, string> = {
  sklearn: 'scikit-learn',
  imblearn: 'imbalanced-learn',
  yaml: 'pyyaml',
  PIL: 'pillow',
  cv2: 'opencv-python',
};

/** Standard-library modules the generated code commonly imports (nothing to install). */
const STDLIB = new Set([
  'pathlib',
  'os',
  'sys',
  'json',
  'math',
  're',
  'typing',
  'collections',
  'itertools',
  'functools',
  'datetime',
  'warnings',
  'random',
  'io',
  'csv',
  'tempfile',
  'dataclasses',
  'statistics',
  'string',
  'time',
  'shutil',
  'glob',
  'copy',
  'decimal',
  'enum',
  'logging',
  'uuid',
  'zipfile',
  'gzip',
  'pickle',
  'textwrap',
  'operator',
  '__future__',
]);

/** Python source of a generated file: the .py as is, the code cells of an .ipynb. */
function pythonSource(name: string, data: Uint8Array): string {
  const text = Buffer.from(data).toString('utf8');
  if (!name.endsWith('.ipynb')) return text;
  try {
    const notebook = JSON.parse(text) as { cells?: { cell_type?: string; source?: string | string[] }[] };
    return (notebook.cells ?? [])
      .filter((c) => c.cell_type === 'code')
      .map((c) => (Array.isArray(c.source) ? c.source.join('') : (c.source ?? '')))
      .join('\n');
  } catch {
    return '';
  }
}

/** pip packages the generated code imports, sorted. */
export function requiredPackages(files: { name: string; data: Uint8Array }[]): string[] {
  const packages = new Set<string>();
  for (const file of files.filter((f) => /\.(py|ipynb)$/.test(f.name))) {
    for (const match of pythonSource(file.name, file.data).matchAll(/^\s*(?:from|import)\s+([A-Za-z_][\w]*)/gm)) {
      const module = match[1] as string;
      if (!STDLIB.has(module)) packages.add(PIP_NAMES[module] ?? module);
    }
  }
  return [...packages].sort();
}

export interface ReadmeInput {
  workflow: string;
  converterVersion: string | null;
  components: ComponentSummary[];
  packages: string[];
}

function fileLines(c: ComponentSummary): string[] {
  const f = c.files;
  const graph = [f.json, f.dot].filter(Boolean).map((n) => `\`${n}\``);
  return [
    `- **${c.workflowId}** (${plural(c.nodes, 'node')}, ${plural(c.edges, 'connection')})`,
    ...(f.workbookPy ? [`  - \`${f.workbookPy}\`: Python script`] : []),
    ...(f.workbookIpynb ? [`  - \`${f.workbookIpynb}\`: Jupyter notebook`] : []),
    ...(graph.length ? [`  - ${graph.join(', ')}: the workflow graph (JSON, Graphviz DOT)`] : []),
  ];
}

function runLines(input: ReadmeInput): string[] {
  const first = input.components[0]?.files;
  const install = input.packages.length ? input.packages.join(' ') : 'pandas';
  return [
    '## Run it',
    '',
    `1. Use Python ${PYTHON_VERSION} (the version knime2py itself runs on), ideally in a virtual environment:`,
    '   `python3 -m venv .venv && . .venv/bin/activate`',
    `2. Install what the generated code imports: \`pip install ${install}\``,
    ...(first?.workbookPy ? [`3. Run the script: \`python ${first.workbookPy}\``] : []),
    ...(first?.workbookIpynb
      ? [`${first?.workbookPy ? 4 : 3}. Or open the notebook: \`pip install notebook && jupyter notebook ${first.workbookIpynb}\``]
      : []),
    '',
    'The code reads and writes the files configured in the KNIME nodes, with the paths of the',
    "workflow author's machine: check the paths at the top of each section before running it.",
  ];
}

function notConvertedLines(components: ComponentSummary[]): string[] {
  const names = [...new Set(components.flatMap((c) => c.notImplementedNames))].sort();
  const idle = components.reduce((sum, c) => sum + c.idle, 0);
  const lines = ['## Not converted', ''];
  if (names.length === 0) lines.push('knime2py has an exporter for every node of this workflow.');
  else {
    lines.push('knime2py has no exporter yet for these nodes; their sections hold a TODO to implement by hand:', '');
    lines.push(...names.map((n) => `- ${n}`));
  }
  if (idle > 0) {
    lines.push(
      '',
      `${plural(idle, 'node')} ${idle === 1 ? 'was' : 'were'} IDLE (not configured) in KNIME, so no code could be generated for them;`,
    );
    lines.push('configure or run them in KNIME and convert again, or implement them by hand.');
  }
  return lines;
}

export function renderReadme(input: ReadmeInput): string {
  const version = input.converterVersion ? `knime2py ${input.converterVersion}` : 'knime2py';
  return [
    `# ${input.workflow}: KNIME workflow converted to Python`,
    '',
    `Generated by k2p-web with ${version} (https://github.com/vitalii-kaplan/knime2py).`,
    'One set of files per connected part of the workflow:',
    '',
    ...input.components.flatMap(fileLines),
    '- `report.json`: the conversion report (node counts, nodes not converted)',
    '',
    ...runLines(input),
    '',
    ...notConvertedLines(input.components),
    '',
  ].join('\n');
}
