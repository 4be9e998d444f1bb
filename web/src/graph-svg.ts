/**
 * Draws a laid-out workflow graph as SVG: one rounded box per node, coloured
 * by its state like knime2py's DOT (executed, configured, idle), and curved
 * arrows for connections. Titles carry the full names for hover and screen
 * readers; the figure is labelled with its size.
 */
import { svg } from './dom';
import type { GraphNode, WorkflowGraph } from './graph';
import { layoutGraph, type GraphLayout } from './graph-layout';

const MAX_LABEL = 21;

function clip(text: string, max = MAX_LABEL): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const STATE_NAMES: Record<GraphNode['state'], string> = {
  EXECUTED: 'executed',
  CONFIGURED: 'configured',
  IDLE: 'idle (not configured)',
  UNKNOWN: 'state unknown',
};

let figureCount = 0;

export function graphSvg(graph: WorkflowGraph, caption: string, layout: GraphLayout = layoutGraph(graph)): SVGSVGElement {
  const { nodeWidth: w, nodeHeight: hgt } = layout.options;
  const uid = `g${++figureCount}`;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const root = svg('svg', {
    class: 'graph',
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'aria-labelledby': `${uid}-title`,
  });
  root.append(
    svg('title', { id: `${uid}-title` }, caption),
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: `${uid}-arrow`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'graph-arrow' }),
      ),
    ),
  );
  const edges = svg('g', { class: 'graph-edges' });
  for (const edge of layout.edges) {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    edges.append(
      svg(
        'path',
        { d: edge.path, class: edge.reversed ? 'graph-edge reversed' : 'graph-edge', 'marker-end': `url(#${uid}-arrow)` },
        svg('title', {}, `${source?.kind ?? edge.source} #${edge.source} → ${target?.kind ?? edge.target} #${edge.target}`),
      ),
    );
  }
  const nodes = svg('g', { class: 'graph-nodes' });
  for (const placed of layout.nodes) {
    const node = byId.get(placed.id);
    if (!node) continue;
    const full = [`${node.kind} #${node.id}`, node.name, node.type, `State: ${STATE_NAMES[node.state]}`].filter(Boolean).join('\n');
    nodes.append(
      svg(
        'g',
        { class: `graph-node state-${node.state.toLowerCase()}`, transform: `translate(${placed.x},${placed.y})` },
        svg('title', {}, full),
        svg('rect', { width: w, height: hgt, rx: 8, ry: 8 }),
        svg('text', { x: 10, y: 21, class: 'graph-kind' }, clip(node.kind)),
        svg('text', { x: 10, y: 40, class: 'graph-sub' }, clip(`#${node.id}${node.name ? ` · ${node.name}` : ''}`, MAX_LABEL + 3)),
      ),
    );
  }
  root.append(edges, nodes);
  return root;
}
