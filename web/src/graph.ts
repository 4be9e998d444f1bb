/**
 * The workflow graph of one component, read from knime2py's `<base>__gNN.json`
 * or, when only DOT was requested, from `<base>__gNN.dot` (the small subset
 * knime2py writes: quoted ids, attribute lists, `->` edges).
 */

export type NodeState = 'EXECUTED' | 'CONFIGURED' | 'IDLE' | 'UNKNOWN';

export interface GraphNode {
  id: string;
  /** What the node is ("CSV Reader"): the node folder's name without its "(#id)". */
  kind: string;
  /** The node's own name in the workflow, when it differs from its kind. */
  name?: string;
  /** The factory class, for the tooltip. */
  type?: string;
  state: NodeState;
}

export interface GraphEdge {
  source: string;
  target: string;
  sourcePort?: string;
  targetPort?: string;
}

export interface WorkflowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

function nodeState(value: unknown): NodeState {
  return value === 'EXECUTED' || value === 'CONFIGURED' || value === 'IDLE' ? value : 'UNKNOWN';
}

/** "CSV Reader (#1)" → "CSV Reader"; the last segment of a node folder path. */
export function kindFromPath(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const folder = path.split(/[\\/]/).filter(Boolean).pop();
  const kind = folder?.replace(/\s*\(#\d+\)\s*$/, '').trim();
  return kind ? kind : undefined;
}

/** "org.knime…CSVTableReaderNodeFactory" → "CSVTableReader". */
function kindFromType(type: string | undefined): string | undefined {
  const last = type
    ?.split('.')
    .pop()
    ?.replace(/NodeFactory\d*$/, '');
  return last ? last : undefined;
}

const text = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined);

/** JSON.parse that answers undefined for text that is not JSON (result files are read defensively). */
export function parseJsonOrUndefined(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** knime2py's graph JSON: `{nodes: {id: {id, name, type, path, state}}, edges: [{source, target, source_port, target_port}]}`. */
export function parseGraphJson(json: string): WorkflowGraph | undefined {
  const data = parseJsonOrUndefined(json);
  if (typeof data !== 'object' || data === null) return undefined;
  const raw = data as { nodes?: unknown; edges?: unknown };
  if (typeof raw.nodes !== 'object' || raw.nodes === null) return undefined;
  const list = Array.isArray(raw.nodes) ? raw.nodes : Object.entries(raw.nodes).map(([id, node]) => ({ id, ...(node as object) }));
  const nodes: GraphNode[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const n = item as Record<string, unknown>;
    const id = text(n.id);
    if (id === undefined) continue;
    const type = text(n.type);
    const name = text(n.name);
    const kind = kindFromPath(text(n.path)) ?? kindFromType(type) ?? name ?? `Node ${id}`;
    nodes.push({ id, kind, ...(name && name !== kind ? { name } : {}), ...(type ? { type } : {}), state: nodeState(n.state) });
  }
  const edges: GraphEdge[] = [];
  for (const item of Array.isArray(raw.edges) ? raw.edges : []) {
    if (typeof item !== 'object' || item === null) continue;
    const e = item as Record<string, unknown>;
    const source = text(e.source);
    const target = text(e.target);
    if (source === undefined || target === undefined) continue;
    const sourcePort = text(e.source_port);
    const targetPort = text(e.target_port);
    edges.push({ source, target, ...(sourcePort ? { sourcePort } : {}), ...(targetPort ? { targetPort } : {}) });
  }
  return { nodes, edges };
}

type DotToken = { kind: 'id'; value: string } | { kind: 'punct'; value: string };

/** Splits DOT into ids (bare or quoted, escapes resolved) and punctuation; comments are dropped. */
function tokenizeDot(source: string): DotToken[] {
  const tokens: DotToken[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith('//', i) || (c === '#' && (i === 0 || source[i - 1] === '\n'))) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (source.startsWith('->', i) || source.startsWith('--', i)) {
      tokens.push({ kind: 'punct', value: '->' });
      i += 2;
    } else if ('{}[]=;,:'.includes(c)) {
      tokens.push({ kind: 'punct', value: c });
      i++;
    } else if (c === '"') {
      let value = '';
      i++;
      while (i < source.length && source[i] !== '"') {
        if (source[i] === '\\' && i + 1 < source.length) {
          const next = source[i + 1]!;
          value += next === 'n' || next === 'l' || next === 'r' ? '\n' : next;
          i += 2;
        } else {
          value += source[i];
          i++;
        }
      }
      i++;
      tokens.push({ kind: 'id', value });
    } else {
      const match = /^[^\s{}[\]=;,:"]+/.exec(source.slice(i, i + 256));
      const value = match ? match[0] : c;
      tokens.push({ kind: 'id', value });
      i += value.length;
    }
  }
  return tokens;
}

const DOT_STATES: Record<string, NodeState> = { lightgreen: 'EXECUTED', yellow: 'CONFIGURED', red: 'IDLE' };

/** The DOT knime2py writes: `"id" [label="Kind\nid", fillcolor=…];` and `"a" -> "b" [taillabel="1", headlabel="1"];`. */
export function parseDot(source: string): WorkflowGraph | undefined {
  const tokens = tokenizeDot(source);
  if (!tokens.some((t) => t.kind === 'id' && /^(di)?graph$/i.test(t.value))) return undefined;
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const ensure = (id: string) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind: `Node ${id}`, state: 'UNKNOWN' });
    return nodes.get(id)!;
  };
  let i = 0;
  const attributes = (): Record<string, string> => {
    const attrs: Record<string, string> = {};
    if (tokens[i]?.value !== '[') return attrs;
    i++;
    while (i < tokens.length && tokens[i]!.value !== ']') {
      const key = tokens[i];
      if (key?.kind === 'id' && tokens[i + 1]?.value === '=' && tokens[i + 2]?.kind === 'id') {
        attrs[key.value] = tokens[i + 2]!.value;
        i += 3;
      } else {
        i++;
      }
    }
    i++;
    return attrs;
  };
  while (i < tokens.length) {
    const token = tokens[i]!;
    const keyword = token.kind === 'id' ? token.value.toLowerCase() : '';
    if (token.kind !== 'id' || keyword === 'strict') {
      i++;
      continue;
    }
    if (keyword === 'graph' || keyword === 'digraph' || keyword === 'subgraph') {
      i++;
      if (tokens[i]?.kind === 'id') i++; // the graph's name
      continue;
    }
    if ((keyword === 'node' || keyword === 'edge') && tokens[i + 1]?.value === '[') {
      i++;
      attributes(); // defaults for all nodes or edges: nothing the picture needs
      continue;
    }
    if (tokens[i + 1]?.value === '=') {
      i += 3; // a graph attribute such as rankdir=LR
      continue;
    }
    const chain = [token.value];
    i++;
    while (tokens[i]?.value === '->' && tokens[i + 1]?.kind === 'id') {
      chain.push(tokens[i + 1]!.value);
      i += 2;
    }
    const attrs = attributes();
    if (chain.length === 1) {
      const node = ensure(chain[0]!);
      const label = attrs.label?.split('\n')[0]?.trim();
      if (label) node.kind = label;
      if (attrs.fillcolor) node.state = DOT_STATES[attrs.fillcolor] ?? 'UNKNOWN';
    } else {
      for (let k = 0; k + 1 < chain.length; k++) {
        ensure(chain[k]!);
        ensure(chain[k + 1]!);
        edges.push({
          source: chain[k]!,
          target: chain[k + 1]!,
          ...(attrs.taillabel ? { sourcePort: attrs.taillabel } : {}),
          ...(attrs.headlabel ? { targetPort: attrs.headlabel } : {}),
        });
      }
    }
  }
  return { nodes: [...nodes.values()], edges };
}
