/**
 * The admin page's controller: config, sign-in (the main page's OpenID client and session; the ID token is the bearer),
 * and who may see what. Invariants: nothing is shown but a sign-in button until someone is signed in; the sections
 * appear only after the API has answered an admin route (the API decides, not the page: a 403 shows "Not allowed"
 * and no data, also when it comes later); a key value lives only in the DOM of the one panel that shows it.
 */
import { ApiClient, ApiError } from '../../../core/api-client';
import { showAccount } from '../account-header';
import { loadPageConfig, type PageConfig } from '../config';
import { byId, fill, h } from '../dom';
import { explainFailure } from '../explain';
import { SignIn, type Person } from '../sign-in';
import { explanationBlock } from '../view-error';
import { confirmAction, type ConfirmRequest } from './confirm';
import { JobsView } from './jobs-view';
import { KeysView } from './keys-view';
import { PeopleView } from './people-view';
import type { AdminShell } from './shell';
import { UsageView } from './usage-view';

function sessionStore(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

export class AdminApp implements AdminShell {
  private config?: PageConfig;
  private signIn?: SignIn;
  private api?: ApiClient;
  private allowed = false;
  private jobs?: JobsView;
  private keys?: KeysView;
  private people?: PeopleView;
  private usage?: UsageView;

  get client(): ApiClient {
    if (!this.api) throw new Error('the admin page has no API client yet');
    return this.api;
  }

  async start(): Promise<void> {
    try {
      this.config = await loadPageConfig();
    } catch (error) {
      this.failed(error, 'loading the configuration');
      document.documentElement.dataset.ready = 'true';
      return;
    }
    const storage = sessionStore();
    if (!this.config.signIn || !storage) {
      this.pageMessage(
        this.config.signIn
          ? 'Signing in needs this browser’s session storage, which is blocked here (privacy settings).'
          : 'This deployment has no sign-in, so there is no admin page: use `k2p-web admin` with an admin key.',
      );
      document.documentElement.dataset.ready = 'true';
      return;
    }
    const signIn = (this.signIn = new SignIn(this.config.signIn, { origin: location.origin, storage }));
    // The provider sends people back to the main page, which returns them here; a stored session is simply restored.
    await signIn.start(location.href);
    this.api = new ApiClient({ baseUrl: this.config.apiUrl, bearerToken: () => signIn.token() });
    signIn.onChange((person, reason) => void this.accessChanged(person, reason));
    this.wireAccount(signIn);
    await this.accessChanged(signIn.person);
    document.documentElement.dataset.ready = 'true';
  }

  private wireAccount(signIn: SignIn): void {
    const go = (button: HTMLButtonElement) => {
      button.disabled = true;
      this.announce('Going to the sign-in page…');
      signIn.signIn(location.href).catch((error: unknown) => {
        button.disabled = false;
        this.failed(error, 'reaching the sign-in page');
      });
    };
    for (const id of ['sign-in-button', 'sign-in-main']) {
      byId<HTMLButtonElement>(id).addEventListener('click', (event) => go(event.currentTarget as HTMLButtonElement));
    }
    byId<HTMLButtonElement>('sign-out-button').addEventListener('click', () => {
      byId<HTMLButtonElement>('sign-out-button').disabled = true;
      this.hideData();
      signIn.signOut().catch((error: unknown) => this.failed(error, 'signing out'));
    });
  }

  /** Shows the account, then asks the API whether this person may administer (the first admin listing). */
  private async accessChanged(person: Person | undefined, reason?: string): Promise<void> {
    byId('account').hidden = false;
    showAccount(person);
    byId('signed-out').hidden = person !== undefined;
    if (!person) {
      this.hideData();
      byId('not-allowed').hidden = true;
      if (reason) this.announce(reason);
      return;
    }
    if (this.allowed) return;
    this.announce('Checking your access…');
    this.jobs ??= new JobsView(this);
    const ok = await this.jobs.load();
    if (!ok) return;
    this.allowed = true;
    byId('not-allowed').hidden = true;
    byId('admin').hidden = false;
    this.keys ??= new KeysView(this);
    this.people ??= new PeopleView(this);
    this.usage ??= new UsageView(this);
    await Promise.all([this.keys.load(), this.people.load(), this.usage.load()]);
  }

  private hideData(): void {
    this.allowed = false;
    byId('admin').hidden = true;
    byId('job-detail').hidden = true;
    // Nothing an admin saw stays in the page once they are gone.
    for (const id of ['job-counts', 'jobs-table', 'job-detail-body', 'keys-table', 'people-table', 'usage-body']) fill(byId(id));
    this.keys?.hideSecret();
  }

  announce(message: string): void {
    byId('admin-status').textContent = message;
  }

  cleared(): void {
    byId('page-error').hidden = true;
  }

  failed(error: unknown, doing: string): void {
    if (error instanceof ApiError && error.status === 403) {
      this.hideData();
      byId('signed-out').hidden = true;
      const box = byId('not-allowed');
      box.hidden = false;
      byId('not-allowed-code').textContent = `The service answered ${error.status} ${error.code}.`;
      this.cleared();
      this.announce('Not allowed: your account does not have the admin role.');
      byId('not-allowed-title').focus();
      return;
    }
    const box = byId('page-error');
    box.hidden = false;
    fill(box, h('p', {}, `Something went wrong while ${doing}.`), explanationBlock(explainFailure(error), true));
    this.announce(`Failed while ${doing}.`);
  }

  private pageMessage(message: string): void {
    const box = byId('page-error');
    box.hidden = false;
    fill(box, h('p', {}, message));
  }

  confirm(request: ConfirmRequest): Promise<boolean> {
    return confirmAction(request);
  }

  showJobsOf(owner: string): void {
    this.jobs?.filterOwner(owner);
  }
}
