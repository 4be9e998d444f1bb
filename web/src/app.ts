/**
 * The page's controller: pick → review → convert (admission, upload, follow)
 * → result, plus resuming a job named in the URL, the recent-jobs list, and
 * who calls the API: a signed-in person (bearer token; their jobs from GET /jobs)
 * or, when the deployment allows it, the shared anonymous key (jobs remembered
 * in this browser). Signed out without anonymous access, the page only offers
 * to sign in.
 * The logic it calls (bundler, flow, explanations, stages, result reading) is
 * in small pure modules; this file wires them to the DOM.
 */
import { ApiClient, isCapacityError } from '../../core/api-client';
import { resultFilename, type JobView } from '../../core/api-schemas';
import { buildBundle, type BundleResult } from '../../core/bundler';
import { STATUS_LABELS } from '../../core/format';
import { DEFAULT_BUNDLE_LIMITS } from '../../core/limits';
import { showAccount } from './account-header';
import { AccountJobs, type AccountJobsState } from './account-jobs';
import { loadPageConfig, type PageConfig } from './config';
import { byId, fill, h, saveFile } from './dom';
import { explainFailure, explainJobError, type Explanation } from './explain';
import { convert, conversionOptions, follow, type FlowDeps, type FlowEvent } from './flow';
import { formatWhen, plural } from './format';
import { RecentJobs, type RecentJob } from './recent-jobs';
import { readResultZip } from './result';
import { manifestJson, reviewOf, type Review } from './review';
import { SignIn, type Person } from './sign-in';
import { archiveSelection, ARCHIVE_PATTERN, dropSelection, folderSelection, SelectionError, type Selection } from './sources';
import { uploadBundle } from './upload';
import { jobIdFromUrl, jobLink, urlWithJob } from './url-state';
import { JobPanel } from './view-job';
import { resultContent, type ResultState } from './view-result';
import { explanationBlock } from './view-error';
import { reviewContent } from './view-review';

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // Blocked storage (privacy settings) throws on access.
  }
}

function sessionStore(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

export class App {
  private config?: PageConfig;
  private client?: ApiClient;
  private readonly configReady: Promise<void>;
  private readonly recent = new RecentJobs(safeStorage());
  /** Present when the deployment has an identity provider. */
  private signIn?: SignIn;
  /** The signed-in person's jobs (GET /jobs); present while someone is signed in. */
  private accountJobs?: AccountJobs;
  /** When a refused bearer token last led to a renewal: at most one a minute, whatever the API keeps answering. */
  private renewedAfterRefusalAt = Number.NEGATIVE_INFINITY;
  private readonly jobPanel = new JobPanel();

  private selection?: Selection;
  private bundle?: BundleResult;
  /** Bumped on every pick: a slow bundling of an older pick must not overwrite a newer one. */
  private pickGeneration = 0;

  private job?: JobView;
  private run?: AbortController;
  private timer?: ReturnType<typeof setInterval>;
  private result?: ResultState;
  /** What "Check again" does after an error. */
  private retryAction?: () => void;
  private uploading = false;

  constructor() {
    this.wirePicking();
    this.wireActions();
    this.configReady = this.loadConfig();
    window.addEventListener('beforeunload', (event) => {
      // Leaving mid-upload loses the upload (the job stays resumable once uploaded).
      if (this.uploading) event.preventDefault();
    });
  }

  /** Once config and sign-in are settled: marks the page ready (for tests and benchmarks) and resumes a job named in the URL. */
  async start(): Promise<void> {
    await this.configReady;
    document.documentElement.dataset.ready = 'true';
    const jobId = jobIdFromUrl(location.href);
    if (jobId !== undefined && this.canConvert()) await this.resume(jobId);
  }

  private async loadConfig(): Promise<void> {
    try {
      this.config = await loadPageConfig();
      if (this.config.resultRetentionDays !== undefined) {
        byId('retention-note').textContent =
          `Uploads are deleted after the conversion and results after ${plural(this.config.resultRetentionDays, 'day')}`;
      }
    } catch (error) {
      this.pageError(explainFailure(error));
      return;
    }
    const config = this.config;
    const storage = sessionStore();
    if (config.signIn && storage) {
      const signIn = (this.signIn = new SignIn(config.signIn, { origin: location.origin, storage }));
      signIn.onChange((person, reason) => this.accessChanged(person, reason));
      const back = await signIn.start(location.href);
      // Signed in from another page of the site (admin.html): the session is in this tab's storage, so go back there.
      if (back.kind === 'signed-in' && new URL(back.url).pathname !== location.pathname) return location.replace(back.url);
      if (back.kind !== 'none') history.replaceState(null, '', back.url);
      if (back.kind === 'failed') this.signInError(`The sign-in did not work: ${back.message}`);
      if (back.kind === 'signed-out') byId('auth-status').textContent = 'You are signed out.';
    } else if (config.signIn) {
      this.signInError('Signing in needs this browser’s session storage, which is blocked here (privacy settings).');
    }
    this.client = new ApiClient({
      baseUrl: config.apiUrl,
      ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
      bearerToken: () => this.signIn?.token(),
      fetch: (input, init) => this.apiFetch(input, init),
    });
    this.wireAccount();
    this.showAccess();
  }

  /**
   * The API's fetch, watching for a refused bearer token (revoked at the provider, a session ended elsewhere): the
   * session is renewed once; when the provider refuses that too, it ends and the page says so.
   */
  private async apiFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const response = await fetch(input, init);
    const authorization = new Headers(init?.headers).get('authorization');
    if (response.status === 401 && authorization?.startsWith('Bearer ') && Date.now() - this.renewedAfterRefusalAt > 60_000) {
      this.renewedAfterRefusalAt = Date.now();
      void this.signIn?.renew();
    }
    return response;
  }

  /** Someone may use the converter: a signed-in person, or anyone when the deployment allows anonymous use. */
  private canConvert(): boolean {
    return this.signIn?.person !== undefined || this.config?.anonymousAccess === true;
  }

  private wireAccount(): void {
    const signIn = this.signIn;
    if (!signIn) return;
    const go = (button: HTMLButtonElement) => {
      button.disabled = true;
      byId('sign-in-error').hidden = true;
      byId('auth-status').textContent = 'Going to the sign-in page…';
      signIn.signIn(location.href).catch((error: unknown) => {
        button.disabled = false;
        byId('auth-status').textContent = '';
        this.signInError(`The sign-in page could not be reached: ${(error as Error).message}`);
      });
    };
    byId<HTMLButtonElement>('sign-in-button').addEventListener('click', (event) => go(event.currentTarget as HTMLButtonElement));
    byId<HTMLButtonElement>('sign-in-main').addEventListener('click', (event) => go(event.currentTarget as HTMLButtonElement));
    byId<HTMLButtonElement>('sign-out-button').addEventListener('click', () => {
      if (this.uploading) {
        byId('auth-status').textContent = 'An upload is in progress: cancel it first, or wait until it has finished.';
        return;
      }
      byId<HTMLButtonElement>('sign-out-button').disabled = true;
      this.leaveJob();
      signIn.signOut().catch((error: unknown) => this.signInError(`Signing out did not finish: ${(error as Error).message}`));
    });
  }

  private signInError(message: string): void {
    const box = byId('sign-in-error');
    box.hidden = false;
    box.textContent = message;
  }

  /** A sign-in, a sign-out, or a session that ended on its own (its refresh was refused). */
  private accessChanged(person: Person | undefined, reason?: string): void {
    if (!this.client) return; // Still starting: showAccess() follows.
    if (reason) {
      byId('auth-status').textContent = reason;
      const ended = byId('sign-in-ended');
      ended.hidden = false;
      ended.textContent = reason;
    }
    if (!person && !this.canConvert()) {
      this.leaveJob();
      byId('review').hidden = true;
    }
    this.showAccess();
  }

  /** Shows what this visitor can do: the converter, or why to sign in; the account in the header; whose recent jobs. */
  private showAccess(): void {
    const config = this.config;
    if (!config || !this.client) return;
    const person = this.signIn?.person;
    const allowed = this.canConvert();
    byId('pick').hidden = !allowed;
    byId('sign-in-needed').hidden = allowed;
    byId('trial-note').hidden = !(config.anonymousAccess && !person);
    byId('trial-sign-in').hidden = !this.signIn;
    byId('account').hidden = !this.signIn;
    showAccount(person);
    if (person && !this.accountJobs) {
      byId('auth-status').textContent = `Signed in as ${person.name}.`;
      byId('sign-in-ended').hidden = true;
      this.accountJobs = new AccountJobs(this.client, () => this.drawRecent());
      void this.accountJobs.load();
      void this.showAdminLink();
    } else if (!person && this.accountJobs) {
      this.accountJobs.reset();
      this.accountJobs = undefined;
      byId('admin-link').hidden = true;
    }
    this.drawRecent();
  }

  /** The admin page's link, for admins only (GET /me says; the admin routes check again). */
  private async showAdminLink(): Promise<void> {
    const me = await this.client?.me().catch(() => undefined);
    byId('admin-link').hidden = !(me?.role === 'admin' && this.signIn?.person);
  }

  private pageError(ex: Explanation): void {
    const box = byId('page-error');
    box.hidden = false;
    fill(box, h('p', {}, h('code', {}, ex.code), ' ', h('strong', {}, ex.title), ex.message ? ` ${ex.message}` : ''), h('p', {}, ex.hint));
  }

  // ── Pick ──────────────────────────────────────────────────────────────

  private wirePicking(): void {
    const folderInput = byId<HTMLInputElement>('folder-input');
    const fileInput = byId<HTMLInputElement>('file-input');
    byId('folder-button').addEventListener('click', () => folderInput.click());
    byId('file-button').addEventListener('click', () => fileInput.click());
    folderInput.addEventListener('change', () => {
      const files = folderInput.files;
      if (!files || files.length === 0) return;
      this.pick(async () => folderSelection(files, this.config?.bundleLimits ?? DEFAULT_BUNDLE_LIMITS));
      folderInput.value = '';
    });
    fileInput.addEventListener('change', () => {
      const file = fileInput.files?.[0];
      if (!file) return;
      const limits = this.config?.bundleLimits ?? DEFAULT_BUNDLE_LIMITS;
      this.pick(async () => {
        if (!ARCHIVE_PATTERN.test(file.name)) throw new SelectionError(`${file.name} is neither a .knwf nor a .zip file.`);
        return archiveSelection(file, limits);
      });
      fileInput.value = '';
    });
    const zone = byId('drop-zone');
    // The whole page accepts drops, so a near miss does not open the file in the tab.
    document.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
    document.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null) zone.classList.remove('dragging');
    });
    document.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('dragging');
      const transfer = event.dataTransfer;
      if (!transfer) return;
      // Read synchronously: the DataTransfer is emptied once the event handler returns.
      const pending = dropSelection(transfer, this.config?.bundleLimits ?? DEFAULT_BUNDLE_LIMITS);
      pending.catch(() => undefined); // pick() reports it; a drop ignored during an upload must not reject unheard
      this.pick(() => pending);
    });
  }

  private pick(select: () => Promise<Selection>): void {
    const status = byId('pick-status');
    if (this.uploading) {
      status.textContent = 'An upload is in progress: cancel it first, or wait until it has finished.';
      return;
    }
    const generation = ++this.pickGeneration;
    performance.clearMarks('k2p:select');
    performance.mark('k2p:select');
    status.textContent = 'Reading the workflow…';
    this.leaveJob();
    void (async () => {
      let selection: Selection;
      try {
        selection = await select();
      } catch (error) {
        if (generation !== this.pickGeneration) return;
        this.selection = undefined;
        this.bundle = undefined;
        this.showReview({ review: undefined, failure: explainFailure(error) });
        status.textContent = '';
        return;
      }
      if (generation !== this.pickGeneration) return;
      this.selection = selection;
      await this.analyze(undefined, generation);
    })();
  }

  /** Runs the bundler (manifest + bundle bytes) over the current selection. */
  private async analyze(root: string | undefined, generation = this.pickGeneration): Promise<void> {
    const selection = this.selection;
    if (!selection) return;
    const status = byId('pick-status');
    let result: BundleResult;
    try {
      result = await buildBundle(selection.sources, {
        limits: this.config?.bundleLimits ?? DEFAULT_BUNDLE_LIMITS,
        sourceName: selection.sourceName,
        ...(root !== undefined ? { root } : {}),
      });
    } catch (error) {
      if (generation !== this.pickGeneration) return;
      this.showReview({ review: undefined, failure: explainFailure(error) });
      status.textContent = '';
      return;
    }
    if (generation !== this.pickGeneration) return;
    performance.clearMeasures('k2p:bundle');
    performance.measure('k2p:bundle', 'k2p:select');
    this.bundle = result;
    const review = reviewOf(result);
    this.showReview({ review });
    status.textContent = `${selection.sourceName}: ${plural(selection.fileCount, 'file')} looked at, ${result.ok ? 'ready to convert' : 'cannot be converted yet'}.`;
    performance.clearMeasures('k2p:manifest');
    performance.measure('k2p:manifest', 'k2p:select');
  }

  private showReview(view: { review: Review | undefined; failure?: Explanation }): void {
    const section = byId('review');
    section.hidden = false;
    const body = byId('review-body');
    if (view.review) {
      fill(
        body,
        reviewContent(view.review, {
          onRootChange: (root) => void this.analyze(root).then(() => document.getElementById('root-select')?.focus()),
        }),
      );
    } else if (view.failure) {
      fill(
        body,
        h(
          'div',
          { class: 'problems', attrs: { role: 'alert' } },
          h('h3', {}, 'This selection cannot be converted'),
          explanationBlock(view.failure, true),
          h('p', { class: 'muted' }, 'Nothing was uploaded.'),
        ),
      );
    }
    const canConvert = view.review?.ok === true;
    byId('options').hidden = !canConvert;
    byId('convert-button').hidden = !canConvert;
    byId('manifest-button').hidden = !view.review || view.review.rows.length === 0;
    section.dataset.state = canConvert ? 'ready' : 'blocked';
    byId('review-title').focus();
  }

  // ── Convert ───────────────────────────────────────────────────────────

  private wireActions(): void {
    byId('convert-button').addEventListener('click', () => void this.startConversion());
    byId('manifest-button').addEventListener('click', () => {
      if (this.bundle) saveFile(manifestJson(this.bundle.manifest), 'manifest.json', 'application/json');
    });
    for (const id of ['opt-script', 'opt-notebook', 'opt-graph']) byId(id).addEventListener('change', () => this.checkOptions());
    byId('cancel-button').addEventListener('click', () => this.run?.abort(new DOMException('Cancelled by the user.', 'AbortError')));
    byId('retry-button').addEventListener('click', () => this.retryAction?.());
    byId('delete-button').addEventListener('click', () => void this.deleteJob());
    byId('cancel-job-button').addEventListener('click', () => void this.cancelJob());
    byId('again-button').addEventListener('click', () => this.again());
    byId('recent-clear').addEventListener('click', () => {
      this.recent.clear();
      this.drawRecent();
    });
    byId('recent-more').addEventListener('click', () => void this.accountJobs?.loadMore());
    byId('recent-refresh').addEventListener('click', () => void this.accountJobs?.load());
  }

  private options() {
    const checked = (id: string) => byId<HTMLInputElement>(id).checked;
    return conversionOptions({ script: checked('opt-script'), notebook: checked('opt-notebook'), graph: checked('opt-graph') });
  }

  private checkOptions(): boolean {
    const ok = this.options() !== undefined;
    byId('options-hint').hidden = ok;
    byId<HTMLButtonElement>('convert-button').disabled = !ok;
    return ok;
  }

  private flowDeps(signal: AbortSignal): FlowDeps {
    return { api: this.client!, upload: uploadBundle, signal, onEvent: (event) => this.onFlowEvent(event) };
  }

  private async startConversion(): Promise<void> {
    const bundle = this.bundle;
    const options = this.options();
    if (!bundle?.ok || !options) return;
    await this.configReady;
    if (!this.client) return; // pageError already says why.
    this.leaveJob();
    byId('review').hidden = true;
    this.jobPanel.reset();
    this.showButtons({ cancel: true });
    byId('job-title').focus();
    const run = (this.run = new AbortController());
    this.uploading = true;
    try {
      // fflate's output is backed by a plain ArrayBuffer, which is what Blob wants.
      const zip = new Blob([bundle.zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
      const job = await convert({ bundle: zip, filename: bundle.manifest.workflowName, options }, this.flowDeps(run.signal));
      this.finished(job);
    } catch (error) {
      if (this.run !== run) return;
      this.failed(error, () => void this.startConversion(), 'The conversion could not be started');
    } finally {
      this.uploading = false;
    }
  }

  /** Follows a job after a reload or from the recent list. */
  private async resume(jobId: string): Promise<void> {
    await this.configReady;
    if (!this.client) return;
    this.leaveJob({ keepUrl: true });
    this.jobPanel.reset();
    this.jobPanel.setStatus('Looking up the job');
    this.showButtons({});
    const run = (this.run = new AbortController());
    try {
      const job = await follow(jobId, this.flowDeps(run.signal));
      this.finished(job);
    } catch (error) {
      if (this.run !== run) return;
      this.failed(error, () => void this.resume(jobId), 'The job could not be followed');
    }
  }

  private onFlowEvent(event: FlowEvent): void {
    switch (event.type) {
      case 'creating':
        this.jobPanel.setStatus('Requesting a conversion slot');
        break;
      case 'capacity-wait':
        this.jobPanel.capacityWait(event.wait.code, event.wait.message, event.wait.secondsLeft, event.wait.attempt);
        break;
      case 'created':
        this.jobPanel.clearCapacity();
        this.trackJob(event.job);
        history.replaceState(null, '', urlWithJob(location.href, event.job.jobId));
        break;
      case 'upload-progress':
        this.jobPanel.uploadProgress(event.progress.loaded, event.progress.total);
        break;
      case 'upload-retry':
        this.jobPanel.networkTrouble(event.error.message, event.delayMs, event.attempt);
        break;
      case 'uploaded':
        this.uploading = false;
        this.jobPanel.clearNetwork();
        this.showButtons({ delete: true, cancelJob: true });
        break;
      case 'job':
        this.jobPanel.clearNetwork();
        this.trackJob(event.job);
        break;
      case 'poll-retry': {
        const error = event.retry.error;
        const message = isCapacityError(error) ? `${error.code}: ${error.message}` : error.message;
        this.jobPanel.networkTrouble(message, event.retry.delayMs, event.retry.attempt);
        break;
      }
    }
  }

  /** Shows a job's state, remembers it locally and keeps the elapsed time ticking. */
  private trackJob(job: JobView): void {
    this.job = job;
    this.jobPanel.showJob(job, Date.now());
    // Signed in, the job is the person's: the link opens it wherever they sign in.
    byId('job-link-scope').textContent = this.accountJobs ? 'works wherever you sign in' : 'works in this browser';
    if (this.accountJobs) this.accountJobs.upsert(job);
    else {
      this.recent.remember({ jobId: job.jobId, workflowName: job.workflowName, createdAt: job.createdAt, status: job.status });
      this.drawRecent();
    }
    if (!job.terminal && this.timer === undefined) {
      this.timer = setInterval(() => this.job && this.jobPanel.tick(this.job, Date.now()), 1000);
    }
    if (job.terminal) this.stopTimer();
    this.showButtons({ delete: job.status !== 'DELETED', cancel: this.uploading, cancelJob: !job.terminal && !this.uploading });
    // After a reload the picked files are gone: this job can only expire (or be deleted now).
    this.jobPanel.note(
      job.status === 'AWAITING_UPLOAD' && !this.uploading
        ? 'The upload of this job did not finish (the page was left during it). Delete the job, or leave it to expire, and convert the workflow again.'
        : undefined,
    );
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private finished(job: JobView): void {
    this.trackJob(job);
    this.run = undefined;
    this.showButtons({ delete: job.status !== 'DELETED', again: true });
    if (job.status === 'SUCCEEDED') {
      void this.loadResult(job);
      return;
    }
    const ex = explainJobError(job);
    if (ex) {
      const heading =
        job.status === 'REJECTED' ? 'The bundle was rejected' : job.status === 'EXPIRED' ? 'The job expired' : 'The conversion failed';
      this.jobPanel.showError(ex, heading);
    }
    byId('job-title').focus();
  }

  private failed(error: unknown, retry: () => void, heading: string): void {
    this.stopTimer();
    this.run = undefined;
    this.uploading = false;
    this.jobPanel.clearCapacity();
    this.jobPanel.clearNetwork();
    if (isAbort(error)) {
      this.jobPanel.setStatus('Cancelled');
      this.showButtons({ again: true });
      return;
    }
    const ex = explainFailure(error);
    this.jobPanel.setStatus(
      this.job ? `${STATUS_LABELS[this.job.status]} (${this.job.status}) — not followed any more` : `Not started (${ex.code})`,
    );
    this.jobPanel.showError(ex, heading);
    this.retryAction = ex.retryable ? retry : undefined;
    this.showButtons({
      retry: ex.retryable,
      delete: this.job !== undefined && this.job.status !== 'DELETED',
      cancelJob: this.job !== undefined && !this.job.terminal,
      again: true,
    });
    byId('job-title').focus();
  }

  private showButtons(visible: { cancel?: boolean; retry?: boolean; delete?: boolean; again?: boolean; cancelJob?: boolean }): void {
    byId('cancel-button').hidden = !visible.cancel;
    byId('cancel-job-button').hidden = !visible.cancelJob;
    byId('retry-button').hidden = !visible.retry;
    byId('delete-button').hidden = !visible.delete;
    byId('again-button').hidden = !visible.again;
  }

  // ── Result ────────────────────────────────────────────────────────────

  private async loadResult(job: JobView): Promise<void> {
    const section = byId('result');
    section.hidden = false;
    this.result = { job, filename: resultFilename(job.workflowName) };
    this.drawResult();
    byId('result-title').focus();
    try {
      const link = await this.client!.getResultUrl(job.jobId);
      this.result.filename = link.filename;
      const response = await fetch(link.url, { credentials: 'omit', cache: 'no-store' });
      if (!response.ok) throw new Error(`The result download answered HTTP ${response.status}.`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (this.result?.job.jobId !== job.jobId) return;
      this.result.blobUrl = URL.createObjectURL(new Blob([bytes], { type: 'application/zip' }));
      this.result.preview = readResultZip(bytes);
      this.result.componentId = this.result.preview.components[0]?.id;
    } catch (error) {
      if (this.result?.job.jobId !== job.jobId) return;
      this.result.loadError = explainFailure(error);
    }
    this.drawResult();
    section.dataset.state = this.result.preview ? 'ready' : 'failed';
  }

  private drawResult(): void {
    if (!this.result) return;
    fill(
      byId('result-body'),
      resultContent(this.result, {
        onDownloadLink: () => void this.downloadByLink(),
        onComponentChange: (id) => {
          if (!this.result) return;
          this.result.componentId = id;
          this.drawResult();
          byId('component-select').focus();
        },
      }),
    );
  }

  private async downloadByLink(): Promise<void> {
    if (!this.job || !this.client) return;
    try {
      const link = await this.client.getResultUrl(this.job.jobId);
      location.assign(link.url);
    } catch (error) {
      this.jobPanel.showError(explainFailure(error), 'The download link could not be fetched');
    }
  }

  private clearResult(): void {
    if (this.result?.blobUrl) URL.revokeObjectURL(this.result.blobUrl);
    this.result = undefined;
    byId('result').hidden = true;
    byId('result-body').replaceChildren();
  }

  // ── Delete, start over, recent jobs ───────────────────────────────────

  private async deleteJob(): Promise<void> {
    const job = this.job;
    if (!job || !this.client) return;
    this.run?.abort(new DOMException('The job was deleted.', 'AbortError'));
    this.run = undefined;
    const button = byId<HTMLButtonElement>('delete-button');
    button.disabled = true;
    try {
      const deleted = await this.client.deleteJob(job.jobId);
      this.clearResult();
      this.jobPanel.clearError();
      this.jobPanel.clearNetwork();
      this.trackJob(deleted);
      this.jobPanel.setStatus(
        deleted.status === 'CANCELLING'
          ? 'Deleting: the conversion is being stopped first; its data is removed once it has stopped'
          : `Deleted (${deleted.status}): the bundle and the result were removed from the service`,
      );
      this.showButtons({ again: true });
      byId('again-button').focus();
    } catch (error) {
      this.jobPanel.showError(explainFailure(error), 'The job could not be deleted');
    } finally {
      button.disabled = false;
    }
  }

  /** Cancels the job on the service: it ends CANCELLED (after CANCELLING while its task stops); following goes on. */
  private async cancelJob(): Promise<void> {
    const job = this.job;
    if (!job || !this.client) return;
    const button = byId<HTMLButtonElement>('cancel-job-button');
    button.disabled = true;
    try {
      const cancelled = await this.client.cancelJob(job.jobId);
      this.trackJob(cancelled);
      this.jobPanel.setStatus(
        cancelled.status === 'CANCELLING'
          ? 'Cancelling: the conversion is being stopped'
          : `${STATUS_LABELS[cancelled.status]} (${cancelled.status}): the job was cancelled`,
      );
      if (cancelled.terminal) {
        const run = this.run;
        this.run = undefined;
        run?.abort(new DOMException('The job was cancelled.', 'AbortError'));
        this.finished(cancelled);
      } else if (!this.run) void this.resume(cancelled.jobId);
    } catch (error) {
      this.jobPanel.showError(explainFailure(error), 'The job could not be cancelled');
    } finally {
      button.disabled = false;
    }
  }

  /** Back to an empty page, ready for the next workflow. */
  private again(): void {
    this.leaveJob();
    byId('job').hidden = true;
    byId('review').hidden = true;
    byId('pick-status').textContent = '';
    this.selection = undefined;
    this.bundle = undefined;
    byId('folder-button').focus();
  }

  /** Stops following the current job and clears its views (a new pick or conversion starts, or a job is resumed). */
  private leaveJob(options: { keepUrl?: boolean } = {}): void {
    this.run?.abort(new DOMException('Replaced by a new conversion.', 'AbortError'));
    this.run = undefined;
    this.stopTimer();
    this.job = undefined;
    this.retryAction = undefined;
    this.clearResult();
    byId('job').hidden = true;
    if (!options.keepUrl && jobIdFromUrl(location.href) !== undefined) history.replaceState(null, '', urlWithJob(location.href, undefined));
  }

  /** Signed in: the person's jobs from the service; otherwise the jobs this browser remembers. */
  private drawRecent(): void {
    const account = this.accountJobs?.state;
    if (account) return this.drawAccountJobs(account);
    const jobs = this.recent.list();
    // Signed out without anonymous use, this browser's old anonymous jobs cannot be opened.
    byId('recent').hidden = jobs.length === 0 || !this.canConvert();
    byId('recent-note').textContent = 'Remembered by this browser only (local storage); nothing about them is sent anywhere.';
    byId('recent-status').textContent = '';
    byId('recent-more').hidden = true;
    byId('recent-refresh').hidden = true;
    byId('recent-clear').hidden = false;
    this.fillRecent(jobs);
  }

  private drawAccountJobs(state: AccountJobsState): void {
    byId('recent').hidden = false;
    byId('recent-note').textContent = 'Your jobs on the service, from every browser where you sign in, newest first.';
    const status = state.loading
      ? 'Loading your jobs…'
      : state.error !== undefined
        ? `Your jobs could not be loaded: ${explainFailure(state.error).title}`
        : state.loaded && state.jobs.length === 0
          ? 'You have no jobs yet.'
          : state.loaded
            ? `${plural(state.jobs.length, 'job')} shown${state.more ? ', older ones on request' : ''}.`
            : '';
    const statusBox = byId('recent-status');
    if (statusBox.textContent !== status) statusBox.textContent = status;
    byId('recent-more').hidden = !state.more;
    byId<HTMLButtonElement>('recent-more').disabled = state.loading;
    byId('recent-refresh').hidden = false;
    byId<HTMLButtonElement>('recent-refresh').disabled = state.loading;
    byId('recent-clear').hidden = true;
    this.fillRecent(state.jobs);
  }

  private fillRecent(jobs: readonly RecentJob[]): void {
    fill(
      byId('recent-list'),
      jobs.map((job) =>
        h(
          'li',
          {},
          h('a', { attrs: { href: jobLink(job.jobId) } }, job.workflowName),
          ' ',
          h('span', { class: `badge status-${job.status.toLowerCase()}` }, STATUS_LABELS[job.status]),
          ' ',
          h('time', { class: 'muted', attrs: { datetime: job.createdAt } }, formatWhen(job.createdAt)),
        ),
      ),
    );
  }
}
