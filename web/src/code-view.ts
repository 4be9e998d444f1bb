/** The code preview: highlighted Python as spans of text nodes, with a size cap for very large scripts. */
import { h } from './dom';
import { tokenizePython } from './python-highlight';

/** Beyond this, the rest is shown unhighlighted: millions of spans would stall the page. */
export const MAX_HIGHLIGHT_CHARS = 400_000;

export function highlightedCode(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const head = text.length > MAX_HIGHLIGHT_CHARS ? text.slice(0, MAX_HIGHLIGHT_CHARS) : text;
  for (const token of tokenizePython(head)) {
    fragment.append(token.type === 'plain' ? document.createTextNode(token.text) : h('span', { class: `tok-${token.type}` }, token.text));
  }
  if (head.length < text.length) fragment.append(document.createTextNode(text.slice(head.length)));
  return fragment;
}
