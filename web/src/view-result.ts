/** Draws the result: download, the report, and the preview of one component's code and graph. */
import type { JobView } from '../../core/api-schemas';
import { highlightedCode } from './code-view';
import { h, type Child } from './dom';
import type { Explanation } from './explain';
import { formatBytes, formatWhen, plural } from './format';
import { layoutGraph } from './graph-layout';
import { graphSvg, STATE_NAMES } from './graph-svg';
import type { ResultComponent, ResultPreview } from './result';
import { explanationBlock } from './view-error';

/** Widest graph (px at full size) shown fitted to the page by default: about half size on a laptop screen. */
const FIT_MAX_WIDTH = 2400;

export interface ResultState {
  job: JobView;
  preview?: ResultPreview;
  /** A blob: URL of the downloaded result.zip. */
  blobUrl?: string;
  filename: string;
  loadError?: Explanation;
  /** The component shown in the preview. */
  componentId?: string;
}

export interface ResultHandlers {
  /** Fetches a fresh download link (when the preview could not download the file). */
  onDownloadLink(): void;
  onComponentChange(id: string): void;
}

export function resultContent(state: ResultState, handlers: ResultHandlers): Child[] {
  const { job, preview } = state;
  const summary = job.result;
  const download = state.blobUrl
    ? h(
        'a',
        { class: 'button primary', attrs: { href: state.blobUrl, download: state.filename, 'data-testid': 'result-download' } },
        `Download ${state.filename}`,
      )
    : h(
        'button',
        {
          class: 'button primary',
          attrs: { type: 'button', 'data-testid': 'result-download' },
          on: { click: () => handlers.onDownloadLink() },
        },
        `Download ${state.filename}`,
      );
  const parts: Child[] = [
    h(
      'div',
      { class: 'actions' },
      download,
      summary?.resultBytes !== undefined ? h('span', { class: 'muted' }, formatBytes(summary.resultBytes)) : null,
      summary?.expiresAt ? h('span', { class: 'muted' }, `Kept until ${formatWhen(summary.expiresAt)}`) : null,
    ),
  ];
  if (summary) parts.push(reportBlock(job, preview));
  if (state.loadError)
    parts.push(
      h('div', { class: 'notice warn' }, h('h3', {}, 'The preview could not be loaded'), explanationBlock(state.loadError, false)),
    );
  else if (!preview) parts.push(h('p', { class: 'muted', attrs: { role: 'status' } }, 'Loading the preview…'));
  else parts.push(...previewBlock(preview, state.componentId, handlers));
  return parts;
}

function reportBlock(job: JobView, preview: ResultPreview | undefined): HTMLElement {
  const s = job.result!;
  const perComponent = preview?.reportComponents ?? [];
  return h(
    'section',
    { class: 'report', attrs: { 'aria-labelledby': 'report-title' } },
    h('h3', { id: 'report-title' }, 'Report'),
    h(
      'dl',
      { class: 'stats' },
      h('div', {}, h('dt', {}, 'Components'), h('dd', {}, String(s.components))),
      h('div', {}, h('dt', {}, 'Nodes'), h('dd', {}, String(s.nodes))),
      h('div', {}, h('dt', {}, 'Connections'), h('dd', {}, String(s.edges))),
      h('div', {}, h('dt', {}, 'Not converted'), h('dd', {}, String(s.notImplemented))),
      h('div', {}, h('dt', {}, 'IDLE nodes'), h('dd', {}, String(s.idle))),
    ),
    s.notImplementedNames.length > 0
      ? h(
          'div',
          {},
          h(
            'p',
            {},
            `${plural(s.notImplementedNames.length, 'node')} could not be translated yet; the script has a placeholder section for each:`,
          ),
          h(
            'ul',
            { class: 'names' },
            s.notImplementedNames.map((name) => h('li', {}, name)),
          ),
        )
      : h('p', {}, 'Every node was translated.'),
    s.idle > 0
      ? h(
          'p',
          {},
          `${plural(s.idle, 'node')} ${s.idle === 1 ? 'was' : 'were'} IDLE (not configured) in KNIME: check their sections in the code.`,
        )
      : null,
    perComponent.length > 1
      ? h(
          'table',
          { class: 'compact' },
          h('caption', {}, 'Per component'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Component', 'Nodes', 'Connections', 'IDLE', 'Not converted'].map((label) => h('th', { attrs: { scope: 'col' } }, label)),
            ),
          ),
          h(
            'tbody',
            {},
            perComponent.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, c.workflowId),
                h('td', {}, String(c.nodes)),
                h('td', {}, String(c.edges)),
                h('td', {}, String(c.idle)),
                h('td', {}, c.notImplementedNames.join(', ') || '—'),
              ),
            ),
          ),
        )
      : null,
    preview?.converterVersion || job.converter?.version
      ? h('p', { class: 'muted' }, `Converted by knime2py ${preview?.converterVersion ?? job.converter?.version}.`)
      : null,
  );
}

function previewBlock(preview: ResultPreview, componentId: string | undefined, handlers: ResultHandlers): Child[] {
  if (preview.components.length === 0) return [h('p', {}, 'The result holds no previewable file; download it to see everything.')];
  const component: ResultComponent = preview.components.find((c) => c.id === componentId) ?? preview.components[0]!;
  const parts: Child[] = [];
  if (preview.components.length > 1) {
    const select = h(
      'select',
      { id: 'component-select', on: { change: () => handlers.onComponentChange(select.value) } },
      preview.components.map((c) => h('option', { attrs: { value: c.id, selected: c.id === component.id } }, `Component ${c.id}`)),
    );
    parts.push(h('p', { class: 'field' }, h('label', { attrs: { for: 'component-select' } }, 'Preview component '), select));
  }
  const codeName = component.code ? `${component.code.name}${component.code.fromNotebook ? ' (code cells)' : ''}` : '';
  parts.push(
    h(
      'figure',
      { class: 'code-figure' },
      h('figcaption', {}, component.code ? codeName : 'No script or notebook was requested.'),
      component.code
        ? h(
            'pre',
            { class: 'code', attrs: { 'data-testid': 'code-preview', tabindex: 0, 'aria-label': `Generated code: ${codeName}` } },
            h('code', { class: 'language-python' }, highlightedCode(component.code.text)),
          )
        : null,
    ),
  );
  if (component.graph) {
    const g = component.graph;
    const caption = `Workflow graph of component ${component.id}: ${plural(g.nodes.length, 'node')}, ${plural(g.edges.length, 'connection')}`;
    const layout = layoutGraph(g);
    const picture = graphSvg(g, caption, layout);
    // Fitted to the width while the labels stay legible; larger graphs start at full size, scrollable.
    let fitted = layout.width <= FIT_MAX_WIDTH;
    const toggle = h('button', { class: 'button small', attrs: { type: 'button' } });
    const applyFit = () => {
      picture.classList.toggle('fit', fitted);
      toggle.textContent = fitted ? 'Show actual size' : 'Fit to width';
      toggle.setAttribute('aria-pressed', String(fitted));
    };
    toggle.addEventListener('click', () => {
      fitted = !fitted;
      applyFit();
    });
    applyFit();
    parts.push(
      h(
        'figure',
        { class: 'graph-figure', attrs: { 'data-testid': 'graph-preview' } },
        h('figcaption', {}, `${caption} (from ${component.graphFile}) `, toggle),
        h('div', { class: 'graph-scroll', attrs: { tabindex: 0, role: 'region', 'aria-label': 'Workflow graph, scrollable' } }, picture),
        h(
          'ul',
          { class: 'legend' },
          (['EXECUTED', 'CONFIGURED', 'IDLE'] as const).map((state) =>
            h('li', { class: `state-${state.toLowerCase()}` }, h('span', { class: 'swatch' }), STATE_NAMES[state]),
          ),
        ),
      ),
    );
  } else {
    parts.push(h('p', { class: 'muted' }, 'No workflow graph in the result (the graph output was turned off).'));
  }
  if (preview.skipped.length > 0) parts.push(h('p', { class: 'muted' }, `Too large to preview: ${preview.skipped.join(', ')}.`));
  return parts;
}
