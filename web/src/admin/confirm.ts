/**
 * The confirmation step of every destructive admin action: a modal <dialog> (focus moves into it, Escape or "Keep it"
 * says no, focus goes back to the button that asked). The safe answer has the focus first, so Enter never destroys.
 */
import { byId } from '../dom';

export interface ConfirmRequest {
  title: string;
  text: string;
  /** The button that says yes, e.g. "Delete job". */
  confirm: string;
}

export function confirmAction(request: ConfirmRequest): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm-dialog');
  const yes = byId<HTMLButtonElement>('confirm-yes');
  const no = byId<HTMLButtonElement>('confirm-no');
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
  byId('confirm-title').textContent = request.title;
  byId('confirm-text').textContent = request.text;
  yes.textContent = request.confirm;
  return new Promise((resolve) => {
    const answer = (value: boolean) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      opener?.focus();
      resolve(value);
    };
    const onYes = () => answer(true);
    const onNo = () => answer(false);
    // Escape closes the dialog by itself: that is a no.
    const onClose = () => answer(false);
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    no.focus();
  });
}
