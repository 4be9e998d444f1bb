/**
 * How `k2p-web admin` shows the admin API's answers when --json is not given: aligned plain tables (no colours, so
 * they read the same in a terminal and a log) and `name  value` lines. Pure functions of the answers and `nowMs`.
 */
import type {
  AdminJobCountsResponse,
  AdminJobDetail,
  AdminJobView,
  AuditEntry,
  KeyView,
  PersonStandingView,
  PrincipalUsage,
} from '../core/api-schemas';
import { formatBytes, formatDuration, plural, statusLabel } from '../core/format';
import { JOB_STATUSES } from '../core/job-states';
import { errorLines, field, formatAge, resultLines } from './job-display';

const MAX_NAME = 32;
const BAR_WIDTH = 24;

/** Columns padded to their widest cell; the last one is not padded, so lines carry no trailing blanks. */
export function alignedTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(format).join('\n')}\n`;
}

export function adminJobsTable(jobs: readonly AdminJobView[], nowMs: number): string {
  return alignedTable(
    ['JOB ID', 'STATE', 'CODE', 'CREATED', 'WORKFLOW', 'OWNER'],
    jobs.map((job) => [
      job.jobId,
      job.status,
      job.error?.code ?? '-',
      formatAge(job.createdAt, nowMs),
      truncate(job.workflowName, MAX_NAME),
      job.owner,
    ]),
  );
}

/** The total, every state with jobs, and the error codes, most frequent first. */
export function countsLines(counts: AdminJobCountsResponse): string[] {
  const lines = [`Jobs created ${counts.since} – ${counts.until}: ${counts.total}`];
  const states = JOB_STATUSES.filter((status) => counts.byState[status] > 0);
  if (states.length > 0) {
    lines.push('', 'By state:');
    const width = Math.max(...states.map((s) => s.length));
    for (const status of states) lines.push(`  ${status.padEnd(width)}  ${String(counts.byState[status]).padStart(6)}`);
  }
  const codes = Object.entries(counts.byCode).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (codes.length > 0) {
    lines.push('', 'By error code:');
    const width = Math.max(...codes.map(([code]) => code.length));
    for (const [code, n] of codes) lines.push(`  ${code.padEnd(width)}  ${String(n).padStart(6)}`);
  }
  return lines;
}

/** One job in full: who, what, its timeline, the validation verdict, the converter, the report and the log. */
export function jobDetailLines(detail: AdminJobDetail, nowMs: number): string[] {
  const job = detail.job;
  const lines = [
    `${field('Job')}${job.jobId}`,
    `${field('Owner')}${job.owner}`,
    `${field('Workflow')}${job.workflowName}${job.filename && job.filename !== job.workflowName ? ` (${job.filename})` : ''}`,
    `${field('State')}${job.status} — ${statusLabel(job.status)}`,
    `${field('Created')}${job.createdAt} (${formatAge(job.createdAt, nowMs)})`,
  ];
  if (detail.cancelRequestedAt) lines.push(`${field('Cancel asked')}${detail.cancelRequestedAt}`);
  if (detail.deletedAt) lines.push(`${field('Deleted')}${detail.deletedAt}`);
  if (detail.deadlineAt && !job.terminal) lines.push(`${field('Deadline')}${detail.deadlineAt}`);
  lines.push('', 'History:', ...historyLines(detail.history));
  lines.push('', `${field('Validation')}${validationText(detail.validation)}`);
  lines.push(`${field('Converter')}${converterText(detail.converter)}`);
  if (job.error) lines.push('', ...errorLines(job).slice(0, -1));
  if (detail.report) lines.push('', 'Report:', ...resultLines({ ...job, result: detail.report }));
  lines.push('', `${field('Log')}${logText(detail)}`);
  return lines;
}

/** Each state with its time and how long after the previous one it came. */
function historyLines(history: AdminJobDetail['history']): string[] {
  if (history.length === 0) return ['  (none recorded)'];
  const width = Math.max(...history.map((entry) => entry.status.length));
  return history.map((entry, i) => {
    const previous = history[i - 1];
    const after = previous ? `  +${formatDuration(Date.parse(entry.at) - Date.parse(previous.at))}` : '';
    return `  ${entry.at}  ${entry.status.padEnd(width)}${after}`.trimEnd();
  });
}

function validationText(validation: AdminJobDetail['validation']): string {
  const bundle = validation.bundle
    ? ` (bundle ${formatBytes(validation.bundle.zipBytes)}, ${plural(validation.bundle.nodes, 'node')}, ${plural(validation.bundle.files, 'file')})`
    : '';
  const why = validation.error ? `: ${validation.error.code} — ${validation.error.message}` : '';
  return `${validation.verdict}${bundle}${why}`;
}

function converterText(converter: AdminJobDetail['converter']): string {
  if (!converter) return 'not run';
  return `knime2py ${converter.version ?? 'unknown version'}${converter.image ? ` (image ${converter.image})` : ''}`;
}

function logText(detail: AdminJobDetail): string {
  if (!detail.log.available) return 'not available';
  const size = detail.log.bytes !== undefined ? `${formatBytes(detail.log.bytes)}; ` : '';
  return `available (${size}\`k2p-web admin logs ${detail.job.jobId}\`)`;
}

export function keysTable(keys: readonly KeyView[], nowMs: number): string {
  return alignedTable(
    ['KEY ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'LAST USED', 'IN FLIGHT', 'TODAY', 'PRINCIPAL'],
    keys.map((key) => [
      key.keyId,
      truncate(key.name, MAX_NAME),
      key.role,
      key.enabled ? 'enabled' : 'disabled',
      formatAge(key.createdAt, nowMs),
      key.lastUsedAt ? formatAge(key.lastUsedAt, nowMs) : 'never',
      String(key.jobsInFlight),
      String(key.conversionsToday),
      key.principalId,
    ]),
  );
}

/** A key as `name  value` lines (never its value: only create and rotate have one, printed on its own). */
export function keyLines(key: KeyView): string[] {
  return [
    `${field('Key id')}${key.keyId}`,
    `${field('Name')}${key.name}`,
    `${field('Principal')}${key.principalId} (${key.kind}, role ${key.role})`,
    `${field('State')}${key.enabled ? 'enabled' : 'disabled'}`,
    ...(key.rotatedFrom ? [`${field('Replaces')}${key.rotatedFrom}`] : []),
  ];
}

export function peopleTable(people: readonly PersonStandingView[], nowMs: number): string {
  return alignedTable(
    ['PRINCIPAL', 'STATE', 'ROLE', 'UPDATED'],
    people.map((person) => [
      person.principalId,
      person.enabled ? 'enabled' : 'disabled',
      roleText(person),
      formatAge(person.updatedAt, nowMs),
    ]),
  );
}

export function personLine(person: PersonStandingView): string {
  return `${person.principalId}: ${person.enabled ? 'enabled' : 'disabled'}, role ${roleText(person)}`;
}

function roleText(person: PersonStandingView): string {
  return person.role ?? 'from their token';
}

/** One row per principal, most jobs first, with a bar scaled to the busiest one. */
export function usageTable(principals: readonly PrincipalUsage[]): string {
  const most = Math.max(1, ...principals.map((p) => p.jobs));
  return alignedTable(
    ['PRINCIPAL', 'KIND', 'JOBS', 'OK', 'FAILED', 'REJECTED', 'CANCELLED', ''],
    principals.map((p) => [
      truncate(p.name ?? p.principalId, MAX_NAME),
      p.kind ?? '-',
      String(p.jobs),
      String(p.succeeded),
      String(p.failed),
      String(p.rejected),
      String(p.cancelled),
      usageBar(p.jobs, most),
    ]),
  );
}

/** `████▌` : jobs against the busiest principal's, in eighths of a character; never empty for a principal with jobs. */
export function usageBar(jobs: number, most: number, width = BAR_WIDTH): string {
  const eighths = jobs === 0 ? 0 : Math.max(1, Math.round((jobs / Math.max(most, jobs)) * width * 8));
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]!;
  return '█'.repeat(Math.floor(eighths / 8)) + partial;
}

export function auditTable(entries: readonly AuditEntry[]): string {
  return alignedTable(
    ['AT', 'WHO', 'ACTION', 'OUTCOME', 'STATUS', 'TARGET'],
    entries.map((entry) => [
      entry.at,
      truncate(entry.who.name, MAX_NAME),
      entry.action,
      entry.code ? `${entry.outcome} ${entry.code}` : entry.outcome,
      entry.status ?? '-',
      targetText(entry.target),
    ]),
  );
}

function targetText(target: AuditEntry['target']): string {
  const whose = target.name ?? target.owner;
  return `${target.type} ${target.id}${whose ? ` (${whose})` : ''}`;
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
