/** Small pieces the admin sections share: a table's head, a required field, a form's submit, a confirmed action. */
import { byId, h } from '../dom';
import type { AdminShell } from './shell';
import type { ConfirmRequest } from './confirm';

/** A table head: column labels (`num` right-aligns), and a last, unlabelled-looking column of row actions when `actions`. */
export function tableHead(columns: readonly (string | { label: string; num?: boolean; title?: string })[], actions = true): HTMLElement {
  const cells = columns.map((column) => {
    const { label, num, title } = typeof column === 'string' ? { label: column } : column;
    return h('th', { class: num ? 'num' : undefined, attrs: { scope: 'col', title } }, label);
  });
  if (actions) cells.push(h('th', { attrs: { scope: 'col' } }, h('span', { class: 'visually-hidden' }, 'Actions')));
  return h('thead', {}, h('tr', {}, cells));
}

/** The trimmed value of a required field; when empty, the field is marked, focused and `message` announced. */
export function requiredValue(shell: AdminShell, id: string, message: string): string | undefined {
  const input = byId<HTMLInputElement>(id);
  const value = input.value.trim();
  if (!value) {
    shell.announce(message);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return undefined;
  }
  input.removeAttribute('aria-invalid');
  return value;
}

/** Runs `handler` on the form's submit (Enter included) without ever submitting it (the CSP has form-action 'none'). */
export function onSubmit(formId: string, handler: () => void): void {
  byId<HTMLFormElement>(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    handler();
  });
}

/** Asks first; on yes runs `action`, and reports a failure as happening while `doing`. */
export async function afterConfirm(shell: AdminShell, request: ConfirmRequest, doing: string, action: () => Promise<void>): Promise<void> {
  if (!(await shell.confirm(request))) return shell.announce('Nothing was changed.');
  try {
    await action();
  } catch (error) {
    shell.failed(error, doing);
  }
}
