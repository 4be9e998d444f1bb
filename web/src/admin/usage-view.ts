/** The usage section: jobs per principal over a range, as a bar chart (usage-chart.ts) and the same numbers as a table. */
import type { AdminUsageResponse } from '../../../core/api-schemas';
import { byId, fill, h } from '../dom';
import { formatWhen, plural } from '../format';
import type { AdminShell } from './shell';
import { rangeQuery } from './queries';
import { onSubmit, tableHead } from './ui';
import { drawUsageChart, layoutUsage, SEGMENT_LABELS, SEGMENT_SHORT, segmentCounts, USAGE_SEGMENTS } from './usage-chart';

export class UsageView {
  constructor(private readonly shell: AdminShell) {
    onSubmit('usage-form', () => void this.load());
  }

  async load(): Promise<void> {
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    try {
      const usage = await this.shell.client.adminUsage(rangeQuery(value('usage-since'), value('usage-until')));
      this.draw(usage);
      this.shell.cleared();
    } catch (error) {
      this.shell.failed(error, 'reading usage');
    }
  }

  private draw(usage: AdminUsageResponse): void {
    const range = `${formatWhen(usage.since)} – ${formatWhen(usage.until)}`;
    if (usage.principals.length === 0) {
      fill(byId('usage-body'), h('p', { class: 'empty muted' }, `No jobs ${range}.`));
      return;
    }
    const total = usage.principals.reduce((sum, p) => sum + p.jobs, 0);
    const title = `Jobs per principal, ${range}: ${plural(total, 'job')} by ${plural(usage.principals.length, 'principal')}`;
    const legend = h(
      'ul',
      { class: 'legend', attrs: { 'aria-hidden': 'true' } },
      USAGE_SEGMENTS.map((kind) => h('li', {}, h('span', { class: `swatch usage-${kind}` }), SEGMENT_LABELS[kind])),
    );
    const head = tableHead(
      [
        'Principal',
        { label: 'Jobs', num: true },
        ...USAGE_SEGMENTS.map((kind) => ({ label: SEGMENT_SHORT[kind], num: true, title: SEGMENT_LABELS[kind] })),
        'Busiest day',
      ],
      false,
    );
    const rows = usage.principals.map((p) => {
      const counts = segmentCounts(p);
      const busiest = [...p.days].sort((a, b) => b.jobs - a.jobs)[0];
      return h(
        'tr',
        { attrs: { 'data-testid': 'usage-row' } },
        h(
          'th',
          { attrs: { scope: 'row' } },
          h(
            'button',
            {
              class: 'link-button',
              attrs: { type: 'button', title: 'Show this principal’s jobs' },
              on: { click: () => this.shell.showJobsOf(p.principalId) },
            },
            p.name ?? h('code', {}, p.principalId),
          ),
          p.kind ? h('span', { class: 'muted' }, ` (${p.kind})`) : null,
        ),
        h('td', { class: 'num' }, String(p.jobs)),
        USAGE_SEGMENTS.map((kind) => h('td', { class: 'num' }, String(counts[kind]))),
        h('td', { class: 'nowrap' }, busiest ? `${busiest.date}: ${busiest.jobs}` : '—'),
      );
    });
    fill(
      byId('usage-body'),
      h('figure', { class: 'usage-figure' }, drawUsageChart(layoutUsage(usage.principals), title), h('figcaption', {}, title), legend),
      h(
        'div',
        { class: 'table-scroll admin-table' },
        h('table', {}, h('caption', {}, 'The numbers behind the chart'), head, h('tbody', {}, rows)),
      ),
    );
  }
}
