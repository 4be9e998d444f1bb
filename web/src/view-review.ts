/** Draws the review step: summary, blocking problems, possible secrets, warnings and the file table. */
import { h, richText, type Child } from './dom';
import { formatBytes, plural } from './format';
import type { Review } from './review';
import { explanationBlock } from './view-error';

/** Tables longer than this start collapsed. */
const OPEN_TABLE_ROWS = 40;

export interface ReviewHandlers {
  onRootChange(root: string): void;
}

function rootLabel(root: string): string {
  return root === '' ? '(top of the selection)' : root;
}

export function reviewContent(review: Review, handlers: ReviewHandlers): Child[] {
  const t = review.totals;
  const parts: Child[] = [];
  parts.push(
    h(
      'p',
      { class: 'summary' },
      'Workflow ',
      h('strong', {}, review.workflowName),
      review.root !== '' && review.root !== review.workflowName ? [' in ', h('code', {}, review.root)] : null,
      ` · ${plural(t.present, 'file')} · ${plural(t.nodes, 'node')} · ${formatBytes(t.bytes)}`,
      review.bundleBytes !== undefined ? ` → bundle of ${formatBytes(review.bundleBytes)}` : null,
      t.skipped > 0 ? ` · ${plural(t.skipped, 'other file')} left out` : null,
    ),
  );
  if (review.roots.length > 1) {
    const select = h(
      'select',
      { id: 'root-select', on: { change: () => handlers.onRootChange(select.value) } },
      h(
        'option',
        {
          attrs: {
            value: '',
            disabled: true,
            selected: !review.roots.includes(review.root) || review.blocking.some((b) => b.code === 'SEVERAL_ROOTS'),
          },
        },
        'Choose a workflow…',
      ),
      review.roots.map((root) =>
        h(
          'option',
          { attrs: { value: root, selected: review.root === root && !review.blocking.some((b) => b.code === 'SEVERAL_ROOTS') } },
          rootLabel(root),
        ),
      ),
    );
    parts.push(h('p', { class: 'field' }, h('label', { attrs: { for: 'root-select' } }, 'Workflow to convert '), select));
  }
  if (review.blocking.length > 0) {
    const [first, ...rest] = review.blocking;
    parts.push(
      h(
        'div',
        { class: 'problems', attrs: { role: 'alert' } },
        h(
          'h3',
          {},
          review.blocking.length === 1
            ? 'This must be fixed before converting'
            : `${review.blocking.length} problems must be fixed before converting`,
        ),
        explanationBlock(first!, true),
        rest.length > 0
          ? h(
              'details',
              {},
              h('summary', {}, `${plural(rest.length, 'more problem')}`),
              rest.map((ex) => explanationBlock(ex, false)),
            )
          : null,
        h('p', { class: 'muted' }, 'Nothing was uploaded.'),
      ),
    );
  }
  if (review.credentials.length > 0) {
    parts.push(
      h(
        'div',
        { class: 'notice warn secrets' },
        h('h3', {}, `Possible secrets in the settings (${review.credentials.length})`),
        h(
          'p',
          {},
          'These settings hold a value under a credential-like name. The values are not shown here, but they are part of the settings files and ',
          h('strong', {}, 'would be uploaded'),
          '. If one is a real secret, remove it in KNIME (use credentials or flow variables) and pick the workflow again.',
        ),
        h(
          'table',
          { class: 'compact' },
          h('thead', {}, h('tr', {}, h('th', { attrs: { scope: 'col' } }, 'Node'), h('th', { attrs: { scope: 'col' } }, 'Setting'))),
          h(
            'tbody',
            {},
            review.credentials.map((c) => h('tr', {}, h('td', {}, c.node), h('td', {}, h('code', {}, c.key)))),
          ),
        ),
      ),
    );
  }
  if (review.warnings.length > 0) {
    parts.push(
      h(
        'div',
        { class: 'notice' },
        h('h3', {}, plural(review.warnings.length, 'note')),
        h(
          'ul',
          {},
          review.warnings.map((w) => h('li', {}, h('code', { class: 'kind' }, w.kind), ' ', richText(w.message))),
        ),
      ),
    );
  }
  if (review.rows.length > 0) parts.push(manifestTable(review));
  return parts;
}

function manifestTable(review: Review): HTMLElement {
  const t = review.totals;
  const missing = review.rows.filter((r) => !r.present).length;
  const table = h(
    'table',
    { class: 'manifest' },
    h('caption', { class: 'visually-hidden' }, 'Files that go into the bundle'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { attrs: { scope: 'col' } }, 'Path'),
        h('th', { attrs: { scope: 'col' }, class: 'num' }, 'Size'),
        h('th', { attrs: { scope: 'col' } }, 'Status'),
      ),
    ),
    h(
      'tbody',
      {},
      review.rows.map((row) =>
        h(
          'tr',
          { class: row.present ? '' : 'missing' },
          h('td', {}, h('code', {}, row.path)),
          h('td', { class: 'num' }, row.present ? formatBytes(row.size) : '—'),
          h('td', {}, row.present ? 'present' : h('strong', {}, 'missing')),
        ),
      ),
    ),
    h(
      'tfoot',
      {},
      h(
        'tr',
        {},
        h('th', { attrs: { scope: 'row' } }, `Total: ${plural(t.files, 'file')}${missing > 0 ? `, ${missing} missing` : ''}`),
        h('td', { class: 'num' }, formatBytes(t.bytes)),
        h('td', {}, `${plural(t.nodes, 'node')}`),
      ),
    ),
  );
  return h(
    'details',
    { class: 'manifest-details', attrs: { open: review.rows.length <= OPEN_TABLE_ROWS || missing > 0 } },
    h('summary', {}, `Files in the bundle (${review.rows.length})`),
    h('div', { class: 'table-scroll', attrs: { tabindex: 0, role: 'region', 'aria-label': 'Files in the bundle' } }, table),
  );
}
