/** `k2p-web admin jobs|counts|job|logs|cancel|delete|audit`: every owner's jobs and the audit trail, through the admin API. */
import type { AdminListAuditResponse, AdminListJobsResponse } from '../../core/api-schemas';
import { adminJobsTable, auditTable, countsLines, jobDetailLines } from '../admin-display';
import { EXIT } from '../command';
import { cancelLine } from './cancel';
import {
  ADMIN_FLAGS,
  confirmed,
  noPositionals,
  optional,
  parseFlags,
  parseCode,
  parseJobId,
  parseLimit,
  parseRange,
  parseState,
  RANGE_FLAGS,
  RANGE_HELP,
  rangeSubcommand,
  withAdmin,
  YES_FLAG,
  writeJson,
  type AdminSubcommand,
} from './admin-common';

const PAGE_FLAGS = {
  ...ADMIN_FLAGS,
  ...RANGE_FLAGS,
  limit: { type: 'string' },
  all: { type: 'boolean', default: false },
  'next-token': { type: 'string' },
} as const;

const PAGE_HELP = `  --limit <N>       per page, 1–100 (default 20)
  --all             follow the pages to the end (else one page; the next one's token is printed on stderr)
  --next-token <t>  start at this page (the token a previous listing printed)`;

/**
 * Pages of a listing: one, or with `all` every one, the later ones asked with the first answer's resolved range (a
 * span like 24h would otherwise move between pages, and a token belongs to its range). Returns every item, the range
 * and the token of the page after the last one read.
 */
async function collectPages<T, P extends { nextToken?: string; since: string; until: string }>(
  all: boolean,
  first: { since?: string; until?: string; nextToken?: string },
  fetchPage: (range: { since?: string; until?: string; nextToken?: string }) => Promise<P>,
  items: (page: P) => T[],
): Promise<{ items: T[]; since: string; until: string; nextToken?: string }> {
  let page = await fetchPage(first);
  const collected = [...items(page)];
  while (all && page.nextToken) {
    page = await fetchPage({ since: page.since, until: page.until, nextToken: page.nextToken });
    collected.push(...items(page));
  }
  return { items: collected, since: page.since, until: page.until, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
}

const jobs: AdminSubcommand = {
  name: 'jobs',
  usage: 'jobs [--state S] [--code C] [--owner P] [--since 24h] [--until T] [--limit N] [--all]',
  summary: 'every owner’s jobs, newest first, filtered',
  details: `Lists jobs of every owner created in the range, newest first: id, state, error code, age, workflow, owner.

  --state <S>       only jobs in this state (QUEUED, FAILED, …)
  --code <C>        only jobs with this error code (REJECTED, FAILED and TIMED_OUT jobs have one)
  --owner <P>       only jobs of this principal id (the OWNER column)
${RANGE_HELP}
${PAGE_HELP}

A filtered page may hold fewer than --limit jobs and still have a next one.
--json prints the API's page {jobs, nextToken?, since, until}; with --all, every job in one {jobs, since, until}.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, {
      ...PAGE_FLAGS,
      state: { type: 'string' },
      code: { type: 'string' },
      owner: { type: 'string' },
    });
    noPositionals(positionals);
    const filters = {
      ...optional('state', parseState(values.state)),
      ...optional('code', parseCode(values.code)),
      ...optional('owner', values.owner),
      ...optional('limit', parseLimit(values.limit)),
    };
    const range = parseRange(values, Date.now());
    return withAdmin(values, io, deps, async ({ client, clock, signal }) => {
      const listed = await collectPages(
        values.all ?? false,
        { ...range, ...optional('nextToken', values['next-token']) },
        (page) => client.adminListJobs({ ...filters, ...page }, { signal }),
        (page: AdminListJobsResponse) => page.jobs,
      );
      if (values.json) {
        writeJson(io, { jobs: listed.items, ...optional('nextToken', listed.nextToken), since: listed.since, until: listed.until });
        return EXIT.ok;
      }
      io.stdout.write(listed.items.length > 0 ? adminJobsTable(listed.items, clock.now()) : 'No jobs match.\n');
      io.stderr.write(`${listed.items.length} jobs created ${listed.since} – ${listed.until}.\n${moreLine(listed.nextToken, 'jobs')}`);
      return EXIT.ok;
    });
  },
};

/** On stderr, after a page with more to come: how to get them. */
function moreLine(nextToken: string | undefined, what: string): string {
  return nextToken ? `More ${what} may match: add --all, or --next-token ${nextToken}\n` : '';
}

const counts = rangeSubcommand({
  name: 'counts',
  summary: 'jobs created in the range, by state and by error code',
  details: `Counts the jobs created in the range: the total, by state now, and by error code.
--json prints the API's {since, until, total, byState, byCode}.`,
  fetch: ({ client, signal }, range) => client.adminJobCounts(range, { signal }),
  text: (answer, io) => io.stdout.write(`${countsLines(answer).join('\n')}\n`),
});

const job: AdminSubcommand = {
  name: 'job',
  usage: 'job <job-id>',
  summary: 'one job in full: timeline, validation, converter, report, log',
  details: `Shows any job in full: its owner, every state it went through with when, the validation verdict, the
converter that ran it, its error or its report, and whether its conversion log can be read (\`k2p-web admin logs\`).

--json prints the API's {job, history, validation, converter, report, log, …}.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
    const jobId = parseJobId(positionals);
    return withAdmin(values, io, deps, async ({ client, clock, signal }) => {
      const detail = await client.adminGetJob(jobId, { signal });
      if (values.json) writeJson(io, detail);
      else io.stdout.write(`${jobDetailLines(detail, clock.now()).join('\n')}\n`);
      return EXIT.ok;
    });
  },
};

const logs: AdminSubcommand = {
  name: 'logs',
  usage: 'logs <job-id>',
  summary: 'any job’s conversion log, to stdout',
  details: `Writes any job's conversion log to stdout as it is: knime2py's command, what it printed and how it ended, and
the runner's lines (scrubbed, at most 1 MiB). A job has one once its conversion ran, for as long as its result is kept;
otherwise LOG_NOT_AVAILABLE, exit 1. (--json only changes how an error is printed.)`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
    const jobId = parseJobId(positionals);
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      io.stdout.write(await client.adminGetJobLog(jobId, { signal }));
      return EXIT.ok;
    });
  },
};

const cancel: AdminSubcommand = {
  name: 'cancel',
  usage: 'cancel <job-id>',
  summary: 'cancel any job (audited)',
  details: `Cancels any job as its owner could: CANCELLED at once before its conversion starts, else CANCELLING until its
task has stopped. Audited. A job that has already ended is JOB_ALREADY_ENDED, exit 1.

--json prints the job as the API answers.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
    const jobId = parseJobId(positionals);
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      const answer = await client.adminCancelJob(jobId, { signal });
      io.stdout.write(values.json ? `${JSON.stringify(answer)}\n` : `${cancelLine(answer)}\n`);
      return EXIT.ok;
    });
  },
};

const remove: AdminSubcommand = {
  name: 'delete',
  usage: 'delete <job-id> [--yes]',
  summary: 'delete any job (asks first on a terminal; audited)',
  details: `Deletes any job as its owner could: its bundle, result and report are removed and it ends DELETED (a running
one is cancelled first: CANCELLING, deleted once its task has stopped). Audited. On a terminal it asks first.

  --yes             do not ask

--json prints the job as the API answers.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, { ...ADMIN_FLAGS, ...YES_FLAG });
    const jobId = parseJobId(positionals);
    if (!(await confirmed(`Delete job ${jobId} (its bundle, result and report)?`, values.yes, io, deps))) return EXIT.failed;
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      const answer = await client.adminDeleteJob(jobId, { signal });
      io.stdout.write(values.json ? `${JSON.stringify(answer)}\n` : `${jobId}  ${answer.status}\n`);
      return EXIT.ok;
    });
  },
};

const audit: AdminSubcommand = {
  name: 'audit',
  usage: 'audit [--since 7d] [--until T] [--limit N] [--all]',
  summary: 'the audit trail of admin actions, newest first',
  details: `Lists the audit trail: every admin cancel, delete, key and person action in the range, newest first — when,
who, what, its outcome (with the error code of a refusal), the job's state afterwards and the target.

${RANGE_HELP}
${PAGE_HELP}

--json prints the API's page {entries, nextToken?, since, until}; with --all, every entry in one.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, PAGE_FLAGS);
    noPositionals(positionals);
    const limit = parseLimit(values.limit);
    const range = parseRange(values, Date.now());
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      const listed = await collectPages(
        values.all ?? false,
        { ...range, ...optional('nextToken', values['next-token']) },
        (page) => client.adminListAudit({ ...optional('limit', limit), ...page }, { signal }),
        (page: AdminListAuditResponse) => page.entries,
      );
      if (values.json) {
        writeJson(io, { entries: listed.items, ...optional('nextToken', listed.nextToken), since: listed.since, until: listed.until });
        return EXIT.ok;
      }
      io.stdout.write(listed.items.length > 0 ? auditTable(listed.items) : 'No audit entries in the range.\n');
      io.stderr.write(moreLine(listed.nextToken, 'entries'));
      return EXIT.ok;
    });
  },
};

export const ADMIN_JOB_COMMANDS: readonly AdminSubcommand[] = [jobs, counts, job, logs, cancel, remove, audit];
