#!/usr/bin/env node
/**
 * CONTRACT DOUBLE of knime2py's `k2p` CLI — FOR TESTS ONLY.
 *
 * This is NOT a converter and the product never ships it, calls it, or falls
 * back to it: the runner runs whatever `K2P_COMMAND` names (the real `k2p` in
 * the container image). Tests point `K2P_COMMAND` here so the runner can be
 * exercised without Python or Docker.
 *
 * It implements the CLI contract of docs/architecture.md ("knime2py contract"), with
 * the shapes observed in test/fixtures/knime2py-reference (knime2py 0.1.11):
 *
 *   k2p <dir-with-workflow.knime> --out <dir> [--workbook py|ipynb] [--graph json|dot|off]
 *
 * - exit 2: bad usage or a path that does not exist (`Path does not exist: <abs>`);
 * - exit 3: workflow.knime is not parseable (`ERROR parsing <abs>: …`), including
 *   a workflow.knime without a `nodes` config (the real tool's "legacy format");
 * - exit 4: a `nodes` config with no node in it;
 * - exit 0: one set of files per connected component, `<base>__gNN.json|.dot|
 *   _workbook.py|_workbook.ipynb` (base = name of the folder holding
 *   workflow.knime), and the JSON summary on stdout with absolute paths.
 *
 * The generated code is a plausible sketch (imports, `# Source:` line, one section
 * per node, the file paths found in the settings), generated from the input; it
 * never copies the reference files.
 *
 * Extra failure modes, selected with the env var K2P_DOUBLE_MODE, or by the
 * input itself (end-to-end tests cannot set the converter's env): an entry
 * `<entry key="k2p-double-mode" value="..."/>` in workflow.knime:
 *   hang          sleep forever and ignore SIGTERM (the runner must SIGKILL)
 *   sleep-N       sleep N milliseconds, then convert (SIGTERM ends it, as it would the real tool)
 *   flood-stdout  write to stdout without end
 *   huge-output   convert, then write a very large file under --out
 *                 (K2P_DOUBLE_HUGE_BYTES, default 4 GiB)
 *   exit-N        print an error and exit with code N
 *   write-outside convert, then write a file next to --out and plant a symlink
 *                 in --out that points outside it
 */
import { SaxesParser } from 'saxes';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Factories the reference run lists in `not_implemented_names` (kept small on purpose). */
const NOT_IMPLEMENTED_FACTORIES = new Set([
  'org.knime.base.views.node.lineplot.LinePlotNodeFactory', // reference: discounts
  'org.knime.base.node.preproc.normalize.NormalizerApplyNodeFactory', // reference: KNIME_traverse_order
]);

/** Python imports a node section needs, by factory substring (what the README of a result lists). */
const IMPORTS_BY_FACTORY = [
  ['csv.reader', ['from pathlib import Path', 'import pandas as pd']],
  ['csv.writer', ['from pathlib import Path', 'import pandas as pd']],
  ['regression.logistic', ['from sklearn.linear_model import LogisticRegression']],
  ['scorer', ['from sklearn.metrics import accuracy_score, confusion_matrix']],
  ['roccurve', ['import matplotlib.pyplot as plt', 'from sklearn.metrics import roc_curve, auc']],
  ['partition', ['from sklearn.model_selection import train_test_split']],
  ['xvalidation', ['from sklearn.model_selection import KFold']],
  ['smote', ['from imblearn.over_sampling import SMOTE']],
  ['normalize', ['import numpy as np']],
];

const STATE_COLORS = { EXECUTED: 'lightgreen', CONFIGURED: 'yellow', IDLE: 'red' };
const RULE = '#'.repeat(160);

class CliError extends Error {
  constructor(exitCode, message) {
    super(message);
    this.exitCode = exitCode;
  }
}

function parseArgs(argv) {
  const args = { path: undefined, out: undefined, workbook: undefined, graph: undefined };
  const choices = { workbook: ['py', 'ipynb'], graph: ['json', 'dot', 'off'] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const name = { '--out': 'out', '--workbook': 'workbook', '--graph': 'graph' }[flag];
    if (name) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new CliError(2, `k2p: error: argument ${flag}: expected one argument`);
      if (choices[name] && !choices[name].includes(value)) {
        throw new CliError(2, `k2p: error: argument ${flag}: invalid choice: '${value}'`);
      }
      args[name] = value;
    } else if (arg.startsWith('-')) {
      throw new CliError(2, `k2p: error: unrecognized arguments: ${arg}`);
    } else if (args.path === undefined) {
      args.path = arg;
    } else {
      throw new CliError(2, `k2p: error: unrecognized arguments: ${arg}`);
    }
  }
  if (args.path === undefined) throw new CliError(2, 'k2p: error: the following arguments are required: path');
  if (args.out === undefined) throw new CliError(2, 'k2p: error: the following arguments are required: --out');
  return args;
}

/** Parses XML into a small element tree; throws on malformed input (saxes is strict). */
function parseXml(text) {
  const root = { name: '#document', attributes: {}, children: [] };
  const stack = [root];
  const parser = new SaxesParser();
  parser.on('error', (err) => {
    throw err;
  });
  parser.on('doctype', () => {
    throw new Error('DOCTYPE is not allowed');
  });
  parser.on('opentag', (tag) => {
    const element = { name: tag.name, attributes: tag.attributes, children: [] };
    stack.at(-1).children.push(element);
    stack.push(element);
  });
  parser.on('closetag', () => stack.pop());
  parser.write(text).close();
  const top = root.children[0];
  if (!top) throw new Error('empty document');
  return top;
}

const childConfig = (element, key) => element?.children.find((c) => c.name === 'config' && c.attributes.key === key);
const entryValue = (element, key) => element?.children.find((c) => c.name === 'entry' && c.attributes.key === key)?.attributes.value;

/** Every `entry key="path"` value under a config (the file paths a node reads or writes). */
function findPaths(element, found = []) {
  for (const child of element?.children ?? []) {
    if (child.name === 'entry' && child.attributes.key === 'path' && child.attributes.value) found.push(child.attributes.value);
    findPaths(child, found);
  }
  return found;
}

function readXmlFile(file) {
  try {
    return parseXml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(3, `ERROR parsing ${file}: ${err.message}`);
  }
}

function resolveWorkflowFile(inputPath) {
  const abs = resolve(inputPath);
  if (!existsSync(abs)) throw new CliError(2, `Path does not exist: ${abs}`);
  const file = statSync(abs).isDirectory() ? join(abs, 'workflow.knime') : abs;
  if (!existsSync(file)) throw new CliError(2, `Path does not exist: ${file}`);
  return file;
}

/** The node's folder name without KNIME's " (#id)" suffix, as the reference labels nodes. */
const labelOf = (folder) => folder.replace(/\s*\(#\d+\)$/, '');

function readNode(workflowDir, config) {
  const id = entryValue(config, 'id');
  const settingsRel = entryValue(config, 'node_settings_file') ?? '';
  const nodeType = entryValue(config, 'node_type') ?? 'NativeNode';
  const folder = dirname(settingsRel);
  const path = join(workflowDir, folder);
  const settingsFile = join(workflowDir, settingsRel);
  const settings = existsSync(settingsFile) ? readXmlFile(settingsFile) : undefined;
  const isMeta = nodeType === 'MetaNode';
  const factory = isMeta ? 'MetaNode' : (entryValue(settings, 'factory') ?? 'UNKNOWN');
  const state = entryValue(settings, 'state') ?? 'IDLE';
  const name = isMeta || nodeType === 'SubNode' ? folder : (entryValue(settings, 'node-name') ?? folder);
  const label = labelOf(folder);
  const opaque = isMeta || nodeType === 'SubNode';
  const notImplemented = opaque || NOT_IMPLEMENTED_FACTORIES.has(factory);
  const filePaths = isMeta ? [] : findPaths(childConfig(settings, 'model'));
  return { id, name, label, factory, state, path, settingsFound: settings !== undefined, notImplemented, filePaths };
}

function readWorkflow(workflowFile) {
  const root = readXmlFile(workflowFile);
  const nodesConfig = childConfig(root, 'nodes');
  if (!nodesConfig) {
    throw new CliError(3, `ERROR parsing ${workflowFile}: Unsupported/legacy workflow format. File: ${workflowFile}`);
  }
  const workflowDir = dirname(workflowFile);
  const nodes = nodesConfig.children
    .filter((c) => c.name === 'config' && entryValue(c, 'id') !== undefined)
    .map((c) => readNode(workflowDir, c))
    .sort((a, b) => Number(a.id) - Number(b.id));
  if (nodes.length === 0) throw new CliError(4, `No nodes found in workflow: ${workflowFile}`);
  const known = new Set(nodes.map((n) => n.id));
  const edges = (childConfig(root, 'connections')?.children ?? [])
    .filter((c) => c.name === 'config')
    .map((c) => ({
      source: entryValue(c, 'sourceID'),
      target: entryValue(c, 'destID'),
      source_port: entryValue(c, 'sourcePort'),
      target_port: entryValue(c, 'destPort'),
    }))
    // Connections to a metanode's own ports use id -1: they are not graph edges.
    .filter((e) => known.has(e.source) && known.has(e.target));
  return { nodes, edges };
}

/** Connected components (edges taken as undirected), ordered by their smallest node id. */
function components({ nodes, edges }) {
  const parent = new Map(nodes.map((n) => [n.id, n.id]));
  const find = (x) => (parent.get(x) === x ? x : find(parent.get(x)));
  for (const e of edges) parent.set(find(e.source), find(e.target));
  const groups = new Map();
  for (const node of nodes) {
    const key = find(node.id);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(node);
  }
  return [...groups.values()].map((members) => {
    const ids = new Set(members.map((n) => n.id));
    return { nodes: members, edges: edges.filter((e) => ids.has(e.source)) };
  });
}

/** Topological order (Kahn), ties broken by numeric id, so sections follow the data flow. */
function codegenOrder(component) {
  const indegree = new Map(component.nodes.map((n) => [n.id, 0]));
  for (const e of component.edges) indegree.set(e.target, indegree.get(e.target) + 1);
  const byId = new Map(component.nodes.map((n) => [n.id, n]));
  const ready = component.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order = [];
  while (ready.length > 0) {
    ready.sort((a, b) => Number(a) - Number(b));
    const id = ready.shift();
    order.push(byId.get(id));
    for (const e of component.edges.filter((x) => x.source === id)) {
      indegree.set(e.target, indegree.get(e.target) - 1);
      if (indegree.get(e.target) === 0) ready.push(e.target);
    }
  }
  // A cycle (not possible in KNIME) would leave nodes out: append them in id order.
  return order.concat(component.nodes.filter((n) => !order.includes(n)));
}

function portLines(node, component, byId) {
  const inputs = component.edges
    .filter((e) => e.target === node.id)
    .map((e) => `[Port ${e.target_port}] ${e.source}:${e.source_port} from ${byId.get(e.source).label} #${e.source}`);
  const outputs = component.edges
    .filter((e) => e.source === node.id)
    .map((e) => `[Port ${e.source_port}] ${node.id}:${e.source_port} to ${e.target} ${byId.get(e.target).label} #${e.target}`);
  return [...(inputs.length ? [`Input: ${inputs.join('; ')}`] : []), ...(outputs.length ? [`Output: ${outputs.join('; ')}`] : [])];
}

function nodeBody(node, component) {
  if (node.state === 'IDLE') {
    return ['# The node is IDLE. Codegen is not possible. Implement this node manually or run the node in KNIME.', 'pass'];
  }
  if (node.notImplemented) {
    return [
      '# This node type is not implemented in knime2py yet.',
      node.settingsFound ? `# factory: ${node.factory}` : '# settings.xml not found; nothing to extract',
      '',
      '# TODO: implement this node’s logic, reading inputs from `context` if needed.',
      'pass',
    ];
  }
  const input = component.edges.find((e) => e.target === node.id);
  const lines = input ? [`df = context['${input.source}:${input.source_port}']`] : [];
  const file = node.filePaths[0];
  if (file && node.factory.includes('csv.reader')) lines.push(`df = pd.read_csv(Path(r"${file}"))`);
  else if (file && node.factory.includes('csv.writer')) lines.push(`df.to_csv(Path(r"${file}"), index=False)`);
  else lines.push(`# ${node.factory}: parameters come from settings.xml`);
  const outPorts = [...new Set(component.edges.filter((e) => e.source === node.id).map((e) => e.source_port))];
  for (const port of outPorts.length ? outPorts : ['1']) lines.push(`context['${node.id}:${port}'] = df`);
  return lines;
}

function nodeSection(node, component, byId) {
  const header = [`## ${node.label} # \`${node.id}\``, `Node state: \`${node.state}\``, ...portLines(node, component, byId)];
  const hub = node.factory.startsWith('org.knime.')
    ? [`# https://hub.knime.com/knime/extensions/org.knime.features.base/latest/${node.factory}`]
    : [];
  const code = [RULE, header[0], ...header.slice(1).map((l) => `# ${l}`), ...hub, ...nodeBody(node, component)];
  const markdown = [header[0].replace('# `', '\\# `'), ...header.slice(1).map((l) => `${l}  `)];
  return { code: code.join('\n') + '\n', markdown: markdown.join('\n') + '\n' };
}

function coverageLines(notImplementedNames) {
  return notImplementedNames.length === 0
    ? ['All nodes successfully exported.']
    : ['The following nodes have no automatic exporter:', ...notImplementedNames.map((n) => `  - ${n}`)];
}

function importsOf(component) {
  const lines = new Set();
  for (const node of component.nodes) {
    if (node.state === 'IDLE' || node.notImplemented) continue;
    for (const [needle, imports] of IMPORTS_BY_FACTORY) {
      if (node.factory.toLowerCase().includes(needle)) imports.forEach((i) => lines.add(i));
    }
  }
  return [...lines];
}

function workbookPy(ctx) {
  const [first, ...rest] = coverageLines(ctx.notImplementedNames);
  const header = [
    '='.repeat(100),
    'knime2py — KNIME → Python workbook (CONTRACT DOUBLE output, for tests)',
    `Workflow: ${ctx.workflowId}`,
    `Source:   ${ctx.workflowFile}`,
    '',
    'Export coverage:',
    `• ${first}`,
    ...rest,
    '='.repeat(100),
  ].map((l) => (l ? `# ${l}` : '#'));
  const imports = ctx.imports.length ? [...ctx.imports, ''] : [];
  const preamble = [
    ...header,
    '',
    ...imports,
    '# Simple shared context to pass tabular data between sections (for debugging)',
    "context = {}  # e.g., {'<node_id>:<port>': df}",
    '',
  ];
  return preamble.join('\n') + '\n' + ctx.sections.map((s) => s.code).join('\n');
}

function workbookIpynb(ctx) {
  const markdown = (source) => ({ cell_type: 'markdown', metadata: {}, source });
  const code = (source) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source });
  const cells = [
    markdown(
      `# knime2py — KNIME → Python workbook (CONTRACT DOUBLE output)\n\n**Workflow:** \`${ctx.workflowId}\`  \n**Source:** \`${ctx.workflowFile}\`\n`,
    ),
    markdown(
      `**Export coverage**\n\n${coverageLines(ctx.notImplementedNames)
        .map((l) => (l.startsWith('  - ') ? l : `- ${l}`))
        .join('\n')}\n`,
    ),
    ...(ctx.imports.length ? [code(ctx.imports.join('\n') + '\n')] : []),
    code('# Shared context to pass dataframes/tables between nodes (for debugging)\ncontext = {}\n'),
    ...ctx.sections.flatMap((s) => [markdown(s.markdown), code(s.code)]),
  ];
  const notebook = {
    cells,
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python', pygments_lexer: 'ipython3' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return JSON.stringify(notebook, null, 2);
}

function graphJson(ctx, component) {
  const nodes = Object.fromEntries(
    component.nodes.map((n) => [n.id, { id: n.id, name: n.name, type: n.factory, path: n.path, state: n.state, comments: null }]),
  );
  return JSON.stringify({ workflow_id: ctx.workflowId, workflow_path: ctx.workflowFile, nodes, edges: component.edges }, null, 2);
}

function graphDot(component) {
  const nodes = component.nodes.map(
    (n) =>
      `  "${n.id}" [shape=box, style="rounded,filled", fillcolor="${STATE_COLORS[n.state] ?? 'lightgray'}", label="${n.label}\n${n.id}"];`,
  );
  const edges = component.edges.map(
    (e) => `  "${e.source}" -> "${e.target}" [taillabel="${e.source_port}", headlabel="${e.target_port}"];`,
  );
  return ['digraph knime {', '  rankdir=LR;', ...nodes, ...edges, '}'].join('\n');
}

function writeComponent(args, workflowFile, base, component, index) {
  const workflowId = `${base}__g${String(index + 1).padStart(2, '0')}`;
  const byId = new Map(component.nodes.map((n) => [n.id, n]));
  const notImplementedNames = [...new Set(component.nodes.filter((n) => n.notImplemented).map((n) => `${n.label} (${n.factory})`))].sort();
  const sections = codegenOrder(component).map((n) => nodeSection(n, component, byId));
  const ctx = { workflowId, workflowFile, notImplementedNames, sections, imports: importsOf(component) };
  const out = resolve(args.out);
  const files = {
    json: [args.graph === undefined || args.graph === 'json', `${workflowId}.json`, () => graphJson(ctx, component)],
    dot: [args.graph === undefined || args.graph === 'dot', `${workflowId}.dot`, () => graphDot(component)],
    workbook_py: [args.workbook !== 'ipynb', `${workflowId}_workbook.py`, () => workbookPy(ctx)],
    workbook_ipynb: [args.workbook !== 'py', `${workflowId}_workbook.ipynb`, () => workbookIpynb(ctx)],
  };
  const summary = { workflow_id: workflowId };
  for (const [key, [wanted, name, render]] of Object.entries(files)) {
    summary[key] = wanted ? join(out, name) : null;
    if (wanted) writeFileSync(join(out, name), render());
  }
  return {
    ...summary,
    nodes: component.nodes.length,
    edges: component.edges.length,
    idle: component.nodes.filter((n) => n.state === 'IDLE').length,
    not_implemented_count: notImplementedNames.length,
    not_implemented_names: notImplementedNames,
  };
}

function convert(args) {
  const workflowFile = resolveWorkflowFile(args.path);
  const workflow = readWorkflow(workflowFile);
  mkdirSync(resolve(args.out), { recursive: true });
  const base = basename(dirname(workflowFile));
  const summaries = components(workflow).map((c, i) => writeComponent(args, workflowFile, base, c, i));
  return { workflow: workflowFile, total_components: summaries.length, components: summaries };
}

// ---- test-only failure modes -------------------------------------------------

function hang() {
  process.on('SIGTERM', () => process.stderr.write('k2p double: ignoring SIGTERM\n'));
  setInterval(() => {}, 60_000);
}

function floodStdout() {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  process.stdout.on('error', () => process.exit(1)); // EPIPE once the reader stops listening
  const pump = () => {
    while (process.stdout.write(chunk));
    process.stdout.once('drain', pump);
  };
  pump();
}

/** Appends 1 MiB every few milliseconds (like a runaway generator), then resolves. */
function writeHugeFile(out) {
  const total = Number(process.env.K2P_DOUBLE_HUGE_BYTES ?? 4 * 1024 ** 3);
  const chunk = Buffer.alloc(1024 * 1024, 0x41);
  const fd = openSync(join(resolve(out), 'huge-output.bin'), 'w');
  let written = 0;
  return new Promise((done) => {
    const timer = setInterval(() => {
      writeSync(fd, chunk);
      written += chunk.length;
      if (written >= total) {
        clearInterval(timer);
        closeSync(fd);
        done();
      }
    }, 2);
  });
}

function writeOutside(out) {
  const outDir = resolve(out);
  writeFileSync(join(outDir, '..', 'written-outside-out.txt'), 'the converter must not write here\n');
  symlinkSync('/etc/hostname', join(outDir, 'link-to-outside.txt'));
}

/** The failure mode asked for by the env, else by the workflow under conversion. */
function modeOf(argv) {
  if (process.env.K2P_DOUBLE_MODE) return process.env.K2P_DOUBLE_MODE;
  const input = argv.find((arg) => !arg.startsWith('-'));
  try {
    const workflow = readFileSync(join(input ?? '', 'workflow.knime'), 'utf8');
    return /key="k2p-double-mode"[^>]*value="([^"]*)"/.exec(workflow)?.[1] ?? '';
  } catch {
    return '';
  }
}

async function main() {
  const mode = modeOf(process.argv.slice(2));
  if (mode === 'hang') return hang();
  if (mode === 'flood-stdout') return floodStdout();
  const sleepMode = /^sleep-(\d+)$/.exec(mode);
  if (sleepMode) await new Promise((done) => setTimeout(done, Number(sleepMode[1])));
  const exitMode = /^exit-(\d+)$/.exec(mode);
  if (exitMode) {
    process.stderr.write(`ERROR k2p double: simulated failure (exit ${exitMode[1]})\n`);
    process.exitCode = Number(exitMode[1]);
    return;
  }
  try {
    const args = parseArgs(process.argv.slice(2));
    const summary = convert(args);
    if (mode === 'huge-output') await writeHugeFile(args.out);
    if (mode === 'write-outside') writeOutside(args.out);
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(err.message + '\n');
    // exitCode (not exit()) so buffered pipe output is flushed first.
    process.exitCode = err.exitCode;
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
