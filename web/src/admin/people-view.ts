/**
 * The people section: the standing an operator has set for people who sign in (disabled, or a role other than their
 * groups give), and a form to set one. Only people with a standing are listed: everyone else is as their sign-in says.
 */
import type { AdminPutPersonRequest, PersonStandingView } from '../../../core/api-schemas';
import { byId, fill, h } from '../dom';
import { formatWhen, plural } from '../format';
import type { AdminShell } from './shell';
import { afterConfirm, onSubmit, requiredValue, tableHead } from './ui';

export class PeopleView {
  constructor(private readonly shell: AdminShell) {
    onSubmit('person-form', () => void this.save());
  }

  async load(): Promise<void> {
    try {
      const people: PersonStandingView[] = [];
      let nextToken: string | undefined;
      do {
        const page = await this.shell.client.adminListPeople({ limit: 100, ...(nextToken ? { nextToken } : {}) });
        people.push(...page.people);
        nextToken = page.nextToken;
      } while (nextToken && people.length < 500);
      this.draw(people);
    } catch (error) {
      this.shell.failed(error, 'listing people');
    }
  }

  private draw(people: PersonStandingView[]): void {
    if (people.length === 0) {
      fill(byId('people-table'), h('p', { class: 'empty muted' }, 'No standing set: everyone is as their sign-in says.'));
      return;
    }
    const head = tableHead(['Principal', 'Standing', 'Role', 'Changed']);
    const rows = people.map((person) =>
      h(
        'tr',
        { attrs: { 'data-testid': 'person-row' } },
        h('th', { attrs: { scope: 'row' } }, h('code', {}, person.principalId)),
        h(
          'td',
          {},
          h('span', { class: person.enabled ? 'badge status-succeeded' : 'badge status-failed' }, person.enabled ? 'enabled' : 'disabled'),
        ),
        h('td', {}, person.role ?? h('span', { class: 'muted' }, 'from their sign-in')),
        h('td', { class: 'nowrap' }, formatWhen(person.updatedAt)),
        h(
          'td',
          {},
          h(
            'div',
            { class: 'row-actions' },
            h(
              'button',
              {
                class: 'button small',
                attrs: { type: 'button', 'aria-label': `${person.enabled ? 'Disable' : 'Enable'} ${person.principalId}` },
                on: { click: () => void this.put(person.principalId, { enabled: !person.enabled }) },
              },
              person.enabled ? 'Disable' : 'Enable',
            ),
            person.role
              ? h(
                  'button',
                  {
                    class: 'button small',
                    attrs: { type: 'button', 'aria-label': `Let the sign-in decide the role of ${person.principalId}` },
                    on: { click: () => void this.put(person.principalId, { role: null }) },
                  },
                  'Clear role override',
                )
              : null,
            h(
              'button',
              {
                class: 'button small',
                attrs: { type: 'button', 'aria-label': `Show the jobs of ${person.principalId}` },
                on: { click: () => this.shell.showJobsOf(person.principalId) },
              },
              'Jobs',
            ),
          ),
        ),
      ),
    );
    fill(
      byId('people-table'),
      h('table', {}, h('caption', {}, `People with a standing: ${plural(people.length, 'person', 'people')}`), head, h('tbody', {}, rows)),
    );
  }

  private async save(): Promise<void> {
    const principalId = requiredValue(this.shell, 'person-id', 'Give the principal id first (as the jobs table shows it).');
    if (!principalId) return;
    const role = byId<HTMLSelectElement>('person-role').value;
    await this.put(principalId, {
      enabled: byId<HTMLSelectElement>('person-enabled').value === 'true',
      role: role === 'user' || role === 'admin' ? role : null,
    });
  }

  private put(principalId: string, change: AdminPutPersonRequest): Promise<void> {
    const doing = `changing the standing of ${principalId}`;
    const apply = async () => {
      const person = await this.shell.client.adminPutPerson(principalId, change);
      this.shell.cleared();
      this.shell.announce(
        `${person.principalId} is ${person.enabled ? 'enabled' : 'disabled'}${person.role ? `, role ${person.role}` : ', role from their sign-in'}.`,
      );
      await this.load();
    };
    if (change.enabled !== false) return apply().catch((error: unknown) => this.shell.failed(error, doing));
    const request = {
      title: `Disable ${principalId}?`,
      text: 'Their sign-in is refused within a minute, however valid their token; their jobs stay. You can enable them again here.',
      confirm: 'Disable',
    };
    return afterConfirm(this.shell, request, doing, apply);
  }
}
