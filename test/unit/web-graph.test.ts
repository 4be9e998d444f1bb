/** The graph preview's model and layout: knime2py's JSON and DOT read alike; the layout flows left to right without overlaps. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kindFromPath, parseDot, parseGraphJson, type WorkflowGraph } from '../../web/src/graph';
import { DEFAULT_LAYOUT, layoutGraph } from '../../web/src/graph-layout';
import { REFERENCE_DIR } from '../support/samples';

/** Every `__gNN.json`/`.dot` pair the real knime2py wrote. */
function referenceGraphs(): { name: string; json: string; dot: string }[] {
  const out: { name: string; json: string; dot: string }[] = [];
  for (const sample of readdirSync(REFERENCE_DIR)) {
    let files: string[];
    try {
      files = readdirSync(join(REFERENCE_DIR, sample, 'out'));
    } catch {
      continue;
    }
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const base = file.slice(0, -'.json'.length);
      out.push({
        name: base,
        json: readFileSync(join(REFERENCE_DIR, sample, 'out', file), 'utf8'),
        dot: readFileSync(join(REFERENCE_DIR, sample, 'out', `${base}.dot`), 'utf8'),
      });
    }
  }
  return out;
}

const edgeKeys = (g: WorkflowGraph) => g.edges.map((e) => `${e.source}:${e.sourcePort}>${e.target}:${e.targetPort}`).sort();

describe('graph model', () => {
  const graphs = referenceGraphs();

  it('finds the reference outputs', () => {
    expect(graphs.length).toBeGreaterThanOrEqual(7);
  });

  it.each(graphs.map((g) => [g.name, g] as const))(
    'reads %s from JSON and from DOT to the same nodes, states and connections',
    (_name, { json, dot }) => {
      const fromJson = parseGraphJson(json)!;
      const fromDot = parseDot(dot)!;
      expect(fromJson.nodes.length).toBeGreaterThan(0);
      expect(fromDot.nodes.map((n) => n.id).sort()).toEqual(fromJson.nodes.map((n) => n.id).sort());
      expect(edgeKeys(fromDot)).toEqual(edgeKeys(fromJson));
      const states = new Map(fromJson.nodes.map((n) => [n.id, n.state]));
      for (const node of fromDot.nodes) expect(node.state).toBe(states.get(node.id));
    },
  );

  it('names a node by its folder, and keeps its own name when it differs', () => {
    const graph = parseGraphJson(
      JSON.stringify({
        nodes: {
          '1': {
            id: '1',
            name: 'month',
            type: 'org.knime.X.CSVTableReaderNodeFactory',
            path: '<in>/flow/CSV Reader (#1)',
            state: 'EXECUTED',
          },
        },
        edges: [],
      }),
    )!;
    expect(graph.nodes[0]).toEqual({
      id: '1',
      kind: 'CSV Reader',
      name: 'month',
      type: 'org.knime.X.CSVTableReaderNodeFactory',
      state: 'EXECUTED',
    });
    expect(kindFromPath('C:\\x\\Row Filter (#12)')).toBe('Row Filter');
  });

  it('rejects what is not a graph instead of drawing garbage', () => {
    expect(parseGraphJson('not json')).toBeUndefined();
    expect(parseGraphJson('[1,2]')).toBeUndefined();
    expect(parseDot('hello world')).toBeUndefined();
  });

  it('reads DOT comments, escapes, chains and default attribute statements', () => {
    const graph = parseDot(
      '// c\ndigraph "g" { graph [rankdir=LR]; node [shape=box];\n/* x */ "a" [label="A \\"q\\"\\nmore", fillcolor=yellow]; a -> b -> "c"; }',
    )!;
    expect(graph.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(graph.nodes[0]).toMatchObject({ kind: 'A "q"', state: 'CONFIGURED' });
    expect(graph.edges.map((e) => `${e.source}>${e.target}`)).toEqual(['a>b', 'b>c']);
  });
});

describe('graph layout', () => {
  const o = DEFAULT_LAYOUT;
  const overlaps = (layout: ReturnType<typeof layoutGraph>) => {
    const byLayer = new Map<number, number[]>();
    for (const n of layout.nodes) byLayer.set(n.layer, [...(byLayer.get(n.layer) ?? []), n.y]);
    return [...byLayer.values()].some((ys) => ys.sort((a, b) => a - b).some((y, i) => i > 0 && y - ys[i - 1]! < o.nodeHeight));
  };

  it.each(referenceGraphs().map((g) => [g.name, g] as const))(
    'lays out %s left to right with every node inside the picture',
    (_name, { json }) => {
      const graph = parseGraphJson(json)!;
      const layout = layoutGraph(graph);
      const at = new Map(layout.nodes.map((n) => [n.id, n]));
      expect(layout.nodes).toHaveLength(graph.nodes.length);
      for (const edge of layout.edges) if (!edge.reversed) expect(at.get(edge.target)!.layer).toBeGreaterThan(at.get(edge.source)!.layer);
      for (const n of layout.nodes) {
        expect(n.x + o.nodeWidth).toBeLessThanOrEqual(layout.width);
        expect(n.y + o.nodeHeight).toBeLessThanOrEqual(layout.height);
      }
      expect(overlaps(layout)).toBe(false);
    },
  );

  it('survives cycles, self loops, duplicate ids and edges to unknown nodes', () => {
    const graph: WorkflowGraph = {
      nodes: ['a', 'b', 'c', 'a'].map((id) => ({ id, kind: id, state: 'UNKNOWN' as const })),
      edges: [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'c' },
        { source: 'c', target: 'a' },
        { source: 'b', target: 'b' },
        { source: 'b', target: 'zzz' },
      ],
    };
    const layout = layoutGraph(graph);
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(['a', 'b', 'c']);
    expect(layout.edges).toHaveLength(3);
    expect(layout.edges.filter((e) => e.reversed)).toHaveLength(1);
  });

  it('lays out a 1000-node workflow quickly and without recursion limits', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ id: String(i), kind: `N${i}`, state: 'EXECUTED' as const }));
    const edges = nodes.slice(1).map((n, i) => ({ source: String(i % 7 === 0 ? Math.max(0, i - 3) : i), target: n.id }));
    const started = performance.now();
    const layout = layoutGraph({ nodes, edges });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(layout.nodes).toHaveLength(1000);
    expect(overlaps(layout)).toBe(false);
  });

  it('places a crossing-prone graph so that parallel chains do not cross', () => {
    // a1→b2, a2→b1: the barycenter sweep puts b1 beside a2.
    const layout = layoutGraph({
      nodes: ['a1', 'a2', 'b1', 'b2'].map((id) => ({ id, kind: id, state: 'UNKNOWN' as const })),
      edges: [
        { source: 'a1', target: 'b2' },
        { source: 'a2', target: 'b1' },
      ],
    });
    const order = new Map(layout.nodes.map((n) => [n.id, n.order]));
    expect(order.get('b2')).toBe(order.get('a1'));
    expect(order.get('b1')).toBe(order.get('a2'));
  });
});
