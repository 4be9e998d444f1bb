/** The header's account corner, the same on the converter and the admin page: who is signed in, and the one button that applies. */
import { byId } from './dom';
import type { Person } from './sign-in';

export function showAccount(person: Person | undefined): void {
  byId('sign-in-button').hidden = person !== undefined;
  byId('sign-out-button').hidden = person === undefined;
  byId<HTMLButtonElement>('sign-out-button').disabled = false;
  const name = byId('account-name');
  name.hidden = person === undefined;
  name.textContent = person ? `Signed in as ${person.name}` : '';
}
