/**
 * The keys section: registered program keys (never a value: the registry keeps only hashes), create, disable/enable,
 * rotate and delete. A new or rotated key's value is shown once, in one panel with a copy button and a warning to
 * store it now; hiding the panel (or leaving the page) removes it from the DOM, and it is never kept in storage.
 */
import type { AdminKeySecretResponse, KeyView } from '../../../core/api-schemas';
import { byId, fill, h } from '../dom';
import { formatWhen, plural } from '../format';
import type { AdminShell } from './shell';
import { afterConfirm, onSubmit, requiredValue, tableHead } from './ui';

export class KeysView {
  private keys: KeyView[] = [];
  private nextToken?: string;

  constructor(private readonly shell: AdminShell) {
    onSubmit('key-create', () => void this.create());
    byId('keys-refresh').addEventListener('click', () => void this.load());
    byId('keys-more').addEventListener('click', () => void this.load(this.nextToken));
    byId('key-secret-copy').addEventListener('click', () => void this.copySecret());
    byId('key-secret-done').addEventListener('click', () => {
      this.hideSecret();
      byId('key-name').focus();
    });
  }

  async load(nextToken?: string): Promise<void> {
    try {
      const page = await this.shell.client.adminListKeys({ limit: 50, ...(nextToken ? { nextToken } : {}) });
      this.keys = nextToken ? [...this.keys, ...page.keys] : page.keys;
      this.nextToken = page.nextToken;
      byId('keys-more').hidden = !page.nextToken;
      this.draw();
    } catch (error) {
      this.shell.failed(error, 'listing keys');
    }
  }

  private draw(): void {
    if (this.keys.length === 0) {
      fill(byId('keys-table'), h('p', { class: 'empty muted' }, 'No program keys are registered yet.'));
      return;
    }
    const head = tableHead([
      'Name',
      'Role',
      'State',
      'Created',
      'Last used',
      { label: 'In flight', num: true },
      { label: 'Today', num: true },
      'Key id',
    ]);
    const rows = this.keys.map((key) => {
      const button = (label: string, aria: string, onClick: () => void, testId: string, danger = false) =>
        h(
          'button',
          {
            class: danger ? 'button small danger' : 'button small',
            attrs: { type: 'button', 'aria-label': `${aria} ${key.name}`, 'data-testid': testId },
            on: { click: onClick },
          },
          label,
        );
      return h(
        'tr',
        { attrs: { 'data-key-id': key.keyId, 'data-testid': 'key-row' } },
        h('th', { attrs: { scope: 'row' } }, key.name, h('br'), h('code', { class: 'muted' }, key.principalId)),
        h('td', {}, key.role),
        h(
          'td',
          {},
          h(
            'span',
            { class: key.enabled ? 'badge status-succeeded' : 'badge status-failed', attrs: { 'data-testid': 'key-state' } },
            key.enabled ? 'enabled' : 'disabled',
          ),
        ),
        h('td', { class: 'nowrap' }, formatWhen(key.createdAt)),
        h('td', { class: 'nowrap' }, key.lastUsedAt ? formatWhen(key.lastUsedAt) : h('span', { class: 'muted' }, 'never')),
        h('td', { class: 'num' }, String(key.jobsInFlight)),
        h('td', { class: 'num' }, String(key.conversionsToday)),
        h('td', { class: 'nowrap' }, h('code', { attrs: { title: key.keyId } }, `${key.keyId.slice(0, 12)}…`)),
        h(
          'td',
          {},
          h(
            'div',
            { class: 'row-actions' },
            key.enabled
              ? button('Disable', 'Disable the key of', () => void this.setEnabled(key, false), 'key-disable')
              : button('Enable', 'Enable the key of', () => void this.setEnabled(key, true), 'key-enable'),
            button('Rotate…', 'Rotate the key of', () => void this.rotate(key), 'key-rotate'),
            button('Jobs', 'Show the jobs of', () => this.shell.showJobsOf(key.principalId), 'key-jobs'),
            button('Delete…', 'Delete the key of', () => void this.remove(key), 'key-delete', true),
          ),
        ),
      );
    });
    fill(
      byId('keys-table'),
      h(
        'table',
        { class: 'keys' },
        h('caption', {}, `Program keys: ${plural(this.keys.length, 'key')}, newest first`),
        head,
        h('tbody', {}, rows),
      ),
    );
  }

  private async create(): Promise<void> {
    const name = requiredValue(this.shell, 'key-name', 'Give the key a name first (who it is for).');
    if (!name) return;
    const role = byId<HTMLSelectElement>('key-role').value === 'admin' ? 'admin' : 'user';
    const principalId = byId<HTMLInputElement>('key-principal').value.trim();
    const button = byId<HTMLButtonElement>('key-create-button');
    button.disabled = true;
    try {
      const created = await this.shell.client.adminCreateKey({ name, role, ...(principalId ? { principalId } : {}) });
      byId<HTMLInputElement>('key-name').value = '';
      byId<HTMLInputElement>('key-principal').value = '';
      this.shell.cleared();
      this.showSecret(created, `A new ${created.key.role} key for ${created.key.name}.`);
      await this.load();
    } catch (error) {
      this.shell.failed(error, 'creating a key');
    } finally {
      button.disabled = false;
    }
  }

  private async setEnabled(key: KeyView, enabled: boolean): Promise<void> {
    try {
      await this.shell.client.adminSetKeyEnabled(key.keyId, enabled);
      this.shell.cleared();
      this.shell.announce(
        enabled
          ? `The key of ${key.name} is enabled again (within a minute).`
          : `The key of ${key.name} is disabled: refused within a minute.`,
      );
      await this.load();
    } catch (error) {
      this.shell.failed(error, `${enabled ? 'enabling' : 'disabling'} the key of ${key.name}`);
    }
  }

  private rotate(key: KeyView): Promise<void> {
    return afterConfirm(
      this.shell,
      {
        title: `Rotate the key of ${key.name}?`,
        text: 'A new value is made for the same program and shown once; the current value is refused from now on, so whatever uses it stops working until it gets the new one.',
        confirm: 'Rotate key',
      },
      `rotating the key of ${key.name}`,
      async () => {
        const rotated = await this.shell.client.adminRotateKey(key.keyId);
        this.shell.cleared();
        this.showSecret(rotated, `The new value of ${rotated.key.name}'s key; the old one is refused from now on.`);
        await this.load();
      },
    );
  }

  private remove(key: KeyView): Promise<void> {
    return afterConfirm(
      this.shell,
      {
        title: `Delete the key of ${key.name}?`,
        text: 'The key is removed from the registry and refused within a minute; the program’s jobs stay. This cannot be undone (create a new key instead).',
        confirm: 'Delete key',
      },
      `deleting the key of ${key.name}`,
      async () => {
        await this.shell.client.adminDeleteKey(key.keyId);
        this.shell.cleared();
        this.shell.announce(`The key of ${key.name} is deleted.`);
        await this.load();
      },
    );
  }

  private showSecret(secret: AdminKeySecretResponse, text: string): void {
    byId('key-secret-text').textContent = text;
    byId<HTMLInputElement>('key-secret-value').value = secret.value;
    byId('key-secret-copied').textContent = '';
    byId('key-secret').hidden = false;
    byId('key-secret-title').focus();
    this.shell.announce(`${text} Store the value now: it is shown this once.`);
  }

  /** Removes the value from the page. */
  hideSecret(): void {
    byId<HTMLInputElement>('key-secret-value').value = '';
    byId('key-secret-text').textContent = '';
    byId('key-secret-copied').textContent = '';
    byId('key-secret').hidden = true;
  }

  private async copySecret(): Promise<void> {
    const input = byId<HTMLInputElement>('key-secret-value');
    const status = byId('key-secret-copied');
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = 'Copied to the clipboard.';
    } catch {
      // No clipboard permission (or an insecure origin): select it so Ctrl+C / ⌘C copies it.
      input.focus();
      input.select();
      status.textContent = 'The clipboard is not available here: the value is selected, copy it with Ctrl+C (⌘C).';
    }
  }
}
