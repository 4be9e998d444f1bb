/**
 * The jobs section: filters (state, error code, owner, time range), the counts by state and by code for the range,
 * one page of every owner's jobs (newest first, paged with the API's tokens), and one job's failure view — code,
 * message, hint, its timeline, and the converter's log beside the report or validation summary — with cancel and
 * delete behind a confirmation. Filters always go to the API: the page never filters rows itself.
 */
import { ApiError } from '../../../core/api-client';
import type { AdminJobCountsResponse, AdminJobDetail, AdminJobView } from '../../../core/api-schemas';
import { ERROR_CODES } from '../../../core/errors';
import { STATUS_LABELS } from '../../../core/format';
import { JOB_STATUSES, isTerminal, type JobStatus } from '../../../core/job-states';
import { byId, fill, h, type Child } from '../dom';
import { explainJobError } from '../explain';
import { formatBytes, formatDuration, formatWhen, plural } from '../format';
import { explanationBlock } from '../view-error';
import type { AdminShell } from './shell';
import { describeFilters, jobsQuery, PageTokens, rangeQuery, type JobFilters } from './queries';
import { afterConfirm, onSubmit, tableHead } from './ui';

function option(value: string, label: string): HTMLOptionElement {
  return h('option', { attrs: { value } }, label);
}

export function statusBadge(status: JobStatus): HTMLElement {
  return h('span', { class: `badge status-${status.toLowerCase()}` }, status);
}

function noReportReason(status: JobStatus): string {
  if (status === 'REJECTED') return 'No report: the bundle was rejected before any conversion.';
  if (isTerminal(status)) return 'No report: the conversion did not finish.';
  return 'No report yet: the job is still moving.';
}

/** One group of counts (by state, by code): a list of filter buttons, or why there is none. */
function countGroup(title: string, id: string, items: HTMLElement[], empty: string): HTMLElement {
  return h(
    'div',
    {},
    h('h3', { id }, title),
    items.length ? h('ul', { class: 'counts-list', attrs: { 'aria-labelledby': id } }, items) : h('p', { class: 'muted' }, empty),
  );
}

export class JobsView {
  private readonly tokens = new PageTokens();
  private nextToken?: string;
  private detail?: AdminJobDetail;

  constructor(private readonly shell: AdminShell) {
    const state = byId<HTMLSelectElement>('filter-state');
    state.append(option('', 'any state'), ...JOB_STATUSES.map((s) => option(s, `${s} (${STATUS_LABELS[s]})`)));
    const code = byId<HTMLSelectElement>('filter-code');
    code.append(option('', 'any code'), ...[...ERROR_CODES].sort().map((c) => option(c, c)));
    onSubmit('job-filters', () => {
      this.tokens.reset();
      void this.load();
    });
    byId('filter-reset').addEventListener('click', () => {
      for (const id of ['filter-state', 'filter-code', 'filter-owner', 'filter-until']) byId<HTMLInputElement>(id).value = '';
      byId<HTMLInputElement>('filter-since').value = '7d';
      this.tokens.reset();
      void this.load();
    });
    byId('jobs-next').addEventListener('click', () => {
      if (!this.nextToken) return;
      this.tokens.next(this.nextToken);
      void this.load({ keepCounts: true });
    });
    byId('jobs-prev').addEventListener('click', () => {
      this.tokens.previous();
      void this.load({ keepCounts: true });
    });
    byId('job-close').addEventListener('click', () => this.closeDetail());
    byId('job-cancel').addEventListener('click', () => void this.act('cancel'));
    byId('job-delete').addEventListener('click', () => void this.act('delete'));
  }

  private filters(): JobFilters {
    const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value;
    return {
      state: value('filter-state'),
      code: value('filter-code'),
      owner: value('filter-owner'),
      since: value('filter-since'),
      until: value('filter-until'),
    };
  }

  /** Shows one principal's jobs (from the keys, people or usage sections). */
  filterOwner(owner: string): void {
    byId<HTMLInputElement>('filter-owner').value = owner;
    this.tokens.reset();
    void this.load().then(() => byId('jobs-title').scrollIntoView());
  }

  /** Loads the counts and the current page; false when the API refused (the shell has said why). */
  async load(options: { keepCounts?: boolean } = {}): Promise<boolean> {
    const filters = this.filters();
    const busy = byId<HTMLButtonElement>('filter-apply');
    busy.disabled = true;
    try {
      const [page, counts] = await Promise.all([
        this.shell.client.adminListJobs(jobsQuery(filters, this.tokens.current)),
        options.keepCounts ? Promise.resolve(undefined) : this.shell.client.adminJobCounts(rangeQuery(filters.since, filters.until)),
      ]);
      if (counts) this.drawCounts(counts);
      this.nextToken = page.nextToken;
      this.drawTable(page.jobs, filters, page.since, page.until);
      byId<HTMLButtonElement>('jobs-next').disabled = !page.nextToken;
      byId<HTMLButtonElement>('jobs-prev').disabled = !this.tokens.hasPrevious;
      byId('jobs-page').textContent = `Page ${this.tokens.page}`;
      this.shell.cleared();
      this.shell.announce(`${plural(page.jobs.length, 'job')} on page ${this.tokens.page} (${describeFilters(filters)}).`);
      return true;
    } catch (error) {
      this.shell.failed(error, 'listing jobs');
      return false;
    } finally {
      busy.disabled = false;
    }
  }

  private drawCounts(counts: AdminJobCountsResponse): void {
    const states = JOB_STATUSES.filter((s) => counts.byState[s] > 0);
    const codes = Object.entries(counts.byCode).sort(([, a], [, b]) => b - a);
    const countButton = (label: string, n: number, apply: () => void, testId: string) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            class: 'count-button',
            attrs: { type: 'button', 'data-testid': testId, 'aria-label': `${label}: ${n} — show only these` },
            on: { click: apply },
          },
          h('span', { class: 'count-label' }, label),
          ' ',
          h('span', { class: 'count-value' }, String(n)),
        ),
      );
    const setAndLoad = (id: string, value: string) => () => {
      byId<HTMLSelectElement>(id).value = value;
      this.tokens.reset();
      void this.load();
    };
    fill(
      byId('job-counts'),
      h(
        'p',
        { class: 'counts-total' },
        h('strong', {}, plural(counts.total, 'job')),
        ` created ${formatWhen(counts.since)} – ${formatWhen(counts.until)}`,
      ),
      h(
        'div',
        { class: 'counts-groups' },
        countGroup(
          'By state',
          'counts-state-title',
          states.map((s) => countButton(s, counts.byState[s], setAndLoad('filter-state', s), `count-state-${s}`)),
          'No jobs in this range.',
        ),
        countGroup(
          'By error code',
          'counts-code-title',
          codes.map(([code, n]) => countButton(code, n, setAndLoad('filter-code', code), `count-code-${code}`)),
          'No failed or rejected jobs in this range.',
        ),
      ),
    );
  }

  private drawTable(jobs: AdminJobView[], filters: JobFilters, since: string, until: string): void {
    const caption = h('caption', {}, `Jobs ${formatWhen(since)} – ${formatWhen(until)}: ${describeFilters(filters)}`);
    if (jobs.length === 0) {
      fill(
        byId('jobs-table'),
        h('table', {}, caption),
        h('p', { class: 'empty muted', attrs: { 'data-testid': 'jobs-empty' } }, 'No job matches.'),
      );
      return;
    }
    const head = tableHead(['Created', 'Job', 'Owner', 'State', 'Error code']);
    const rows = jobs.map((job) =>
      h(
        'tr',
        { attrs: { 'data-job-id': job.jobId, 'data-testid': 'job-row' } },
        h('td', { class: 'nowrap' }, formatWhen(job.createdAt)),
        h('th', { attrs: { scope: 'row' } }, h('code', {}, job.jobId), h('br'), h('span', { class: 'muted' }, job.workflowName)),
        h(
          'td',
          { class: 'owner' },
          h(
            'button',
            {
              class: 'link-button',
              attrs: { type: 'button', title: 'Show only this owner’s jobs', 'data-testid': 'owner-filter' },
              on: { click: () => this.filterOwner(job.owner) },
            },
            h('code', {}, job.owner),
          ),
        ),
        h('td', {}, statusBadge(job.status)),
        h('td', {}, job.error ? h('code', { attrs: { 'data-testid': 'row-code' } }, job.error.code) : h('span', { class: 'muted' }, '—')),
        h(
          'td',
          {},
          h(
            'button',
            {
              class: 'button small',
              attrs: { type: 'button', 'data-testid': 'job-open', 'aria-label': `Details of job ${job.jobId}` },
              on: { click: () => void this.open(job.jobId) },
            },
            job.error ? 'Why?' : 'Details',
          ),
        ),
      ),
    );
    fill(byId('jobs-table'), h('table', { class: 'jobs' }, caption, head, h('tbody', {}, rows)));
  }

  // ── One job ──────────────────────────────────────────────────────────

  async open(jobId: string): Promise<void> {
    this.shell.announce(`Loading job ${jobId}…`);
    try {
      const detail = await this.shell.client.adminGetJob(jobId);
      let log: string | undefined;
      let logProblem: string | undefined;
      if (detail.log.available) {
        try {
          log = await this.shell.client.adminGetJobLog(jobId);
        } catch (error) {
          if (error instanceof ApiError && error.status === 403) throw error;
          logProblem = error instanceof ApiError ? `${error.code}: ${error.message}` : (error as Error).message;
        }
      }
      this.detail = detail;
      this.drawDetail(detail, log, logProblem);
      this.shell.cleared();
      const section = byId('job-detail');
      section.hidden = false;
      byId('job-detail-title').focus();
      this.shell.announce(`Job ${jobId}: ${detail.job.status}${detail.job.error ? `, ${detail.job.error.code}` : ''}.`);
    } catch (error) {
      this.shell.failed(error, `loading job ${jobId}`);
    }
  }

  private closeDetail(): void {
    const jobId = this.detail?.job.jobId;
    this.detail = undefined;
    byId('job-detail').hidden = true;
    fill(byId('job-detail-body'));
    const row = jobId ? document.querySelector<HTMLElement>(`tr[data-job-id="${CSS.escape(jobId)}"] [data-testid="job-open"]`) : null;
    (row ?? byId('jobs-title')).focus();
  }

  private drawDetail(detail: AdminJobDetail, log: string | undefined, logProblem: string | undefined): void {
    const { job } = detail;
    byId('job-detail-title').textContent = `Job ${job.jobId}`;
    const problem =
      explainJobError(job) ?? (detail.validation.error ? explainJobError({ ...job, error: detail.validation.error }) : undefined);
    const facts: [string, Child][] = [
      ['Workflow', job.workflowName + (job.filename ? ` (${job.filename})` : '')],
      ['Owner', h('code', {}, job.owner)],
      ['State', [statusBadge(job.status), ` ${STATUS_LABELS[job.status]}`]],
      ['Created', formatWhen(job.createdAt)],
    ];
    if (job.finishedAt) facts.push(['Finished', formatWhen(job.finishedAt)]);
    if (job.durationsMs.total !== undefined) facts.push(['Took', formatDuration(job.durationsMs.total)]);
    if (detail.converter)
      facts.push([
        'Converter',
        [`knime2py ${detail.converter.version ?? '(version unknown)'}`, detail.converter.image ? ` · ${detail.converter.image}` : ''],
      ]);
    if (detail.cancelRequestedAt) facts.push(['Cancel asked', formatWhen(detail.cancelRequestedAt)]);
    if (detail.deletedAt) facts.push(['Deleted', formatWhen(detail.deletedAt)]);
    facts.push(['Validation', detail.validation.verdict]);

    const logBlock = h(
      'section',
      { class: 'side', attrs: { 'aria-labelledby': 'job-log-title' } },
      h('h3', { id: 'job-log-title' }, 'Conversion log', detail.log.bytes !== undefined ? ` (${formatBytes(detail.log.bytes)})` : ''),
      log !== undefined
        ? h('pre', { class: 'log', attrs: { 'data-testid': 'job-log', tabindex: 0, 'aria-labelledby': 'job-log-title' } }, log || '(empty)')
        : h(
            'p',
            { class: 'muted', attrs: { 'data-testid': 'job-log-missing' } },
            logProblem ?? 'No log: the job did not reach the converter, or its log was removed with the job.',
          ),
    );
    const summary = detail.report ?? undefined;
    const bundle = detail.validation.bundle ?? job.bundle;
    const reportBlock = h(
      'section',
      { class: 'side', attrs: { 'aria-labelledby': 'job-report-title' } },
      h('h3', { id: 'job-report-title' }, summary ? 'Report' : 'Bundle'),
      summary
        ? h(
            'dl',
            { class: 'facts', attrs: { 'data-testid': 'job-report' } },
            h('dt', {}, 'Components'),
            h('dd', {}, String(summary.components)),
            h('dt', {}, 'Nodes'),
            h('dd', {}, `${summary.nodes} (${summary.edges} edges)`),
            h('dt', {}, 'Not implemented'),
            h('dd', {}, summary.notImplemented ? summary.notImplementedNames.join(', ') || String(summary.notImplemented) : 'none'),
            h('dt', {}, 'Files'),
            h('dd', {}, summary.files.join(', ')),
          )
        : bundle
          ? h(
              'dl',
              { class: 'facts', attrs: { 'data-testid': 'job-report' } },
              h('dt', {}, 'Entries'),
              h('dd', {}, String(bundle.entries)),
              h('dt', {}, 'ZIP size'),
              h('dd', {}, formatBytes(bundle.zipBytes)),
            )
          : h('p', { class: 'muted', attrs: { 'data-testid': 'job-report' } }, noReportReason(job.status)),
      h('h3', {}, 'Timeline'),
      h(
        'ol',
        { class: 'timeline' },
        detail.history.map((entry) => h('li', {}, h('code', {}, entry.status), ` ${formatWhen(entry.at)}`)),
      ),
    );
    fill(
      byId('job-detail-body'),
      problem ? explanationBlock(problem, true) : null,
      h(
        'dl',
        { class: 'facts' },
        facts.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]),
      ),
      h('div', { class: 'side-by-side' }, logBlock, reportBlock),
    );
    byId('job-cancel').hidden = isTerminal(job.status) || job.status === 'CANCELLING';
    byId('job-delete').hidden = job.status === 'DELETED';
  }

  private act(action: 'cancel' | 'delete'): Promise<void> {
    const job = this.detail?.job;
    if (!job) return Promise.resolve();
    const request =
      action === 'cancel'
        ? {
            title: `Cancel job ${job.jobId}?`,
            text: `Its conversion stops and it ends CANCELLED. The owner (${job.owner}) sees it cancelled. This is written to the audit trail.`,
            confirm: 'Cancel job',
          }
        : {
            title: `Delete job ${job.jobId}?`,
            text: `Its upload, result and log are removed now (a running conversion is stopped first); the owner (${job.owner}) can no longer download anything. This cannot be undone and is written to the audit trail.`,
            confirm: 'Delete job',
          };
    const doing = action === 'cancel' ? `cancelling job ${job.jobId}` : `deleting job ${job.jobId}`;
    return afterConfirm(this.shell, request, doing, async () => {
      const after =
        action === 'cancel' ? await this.shell.client.adminCancelJob(job.jobId) : await this.shell.client.adminDeleteJob(job.jobId);
      this.shell.announce(`Job ${job.jobId} is now ${after.status}.`);
      await this.load();
      await this.open(job.jobId);
    });
  }
}
