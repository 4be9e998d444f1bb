/** One explained problem: the code, what it means, the specific message, the file, and what to do. */
import { h, richText } from './dom';
import type { Explanation } from './explain';

/**
 * `primary` marks the one problem the page leads with: only it carries the
 * `error-code` test hook, so there is exactly one on the page.
 */
export function explanationBlock(ex: Explanation, primary: boolean): HTMLElement {
  return h(
    'div',
    { class: primary ? 'problem primary' : 'problem' },
    h(
      'p',
      { class: 'problem-head' },
      h('code', { class: 'error-code', attrs: primary ? { 'data-testid': 'error-code' } : {} }, ex.code),
      ' ',
      h('strong', {}, richText(ex.title)),
    ),
    ex.message ? h('p', { class: 'problem-message' }, richText(ex.message)) : null,
    ex.file ? h('p', { class: 'problem-file' }, 'File: ', h('code', {}, ex.file)) : null,
    ex.facts.length > 0
      ? h(
          'dl',
          { class: 'facts' },
          ex.facts.map(([label, value]) => [h('dt', {}, label), h('dd', {}, label === 'Converter output' ? h('pre', {}, value) : value)]),
        )
      : null,
    h('p', { class: 'problem-hint' }, h('span', { class: 'label' }, 'What to do: '), richText(ex.hint)),
  );
}
