/**
 * `k2p-web admin` through its real code against the TEST DOUBLE of the jobs and admin API
 * (test/doubles/jobs-api-double.ts + admin-api-double.ts, every answer checked against docs/openapi.yaml): argument
 * checks before any request, the readable and the --json output, paging with --all, confirmation, the key value
 * alone on stdout, and exit codes (one test runs the real binary for 2 and 1).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdminJobDetail, AdminListJobsResponse, AdminUsageResponse, JobView } from '../../core/api-schemas';
import type { ErrorCode } from '../../core/errors';
import type { JobStatus } from '../../core/job-states';
import { usageBar } from '../../cli/admin-display';
import { UsageError } from '../../cli/command';
import { createAdminCommand, findSubcommand } from '../../cli/commands/admin';
import type { AdminDeps } from '../../cli/commands/admin-common';
import { ADMIN_KEY, DOUBLE_KEY, OTHER_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';
import { captureIO } from '../support/cli-io';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'cli', 'k2p-web.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-admin-'));
const NOW = Date.now();
let api: JobsApiDouble;

beforeAll(async () => {
  api = await startJobsApiDouble();
});
afterAll(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  api.jobs.clear();
  api.requests.length = 0;
});

const quiet: AdminDeps = {
  extraRoots: [],
  interrupts: () => ({ signal: new AbortController().signal, dispose: () => {} }),
  interactive: () => false,
};

async function admin(args: string[], options: { key?: string; deps?: AdminDeps } = {}) {
  const c = captureIO({}, scratch);
  const code = await createAdminCommand(options.deps ?? quiet).run([...args, '--api', api.url, '--key', options.key ?? ADMIN_KEY], c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

let sequence = 0;
/** A job straight into the double, `minutesAgo` old, of the principal behind `owner` (a key of the double). */
function seed(owner: string, status: JobStatus, options: { code?: ErrorCode; minutesAgo?: number; name?: string } = {}): JobView {
  const created = new Date(NOW - (options.minutesAgo ?? 1) * 60_000 - sequence++).toISOString();
  const terminal = !['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'RUNNING', 'CANCELLING'].includes(status);
  const view: JobView = {
    jobId: `job-${String(sequence).padStart(6, '0')}`,
    status,
    terminal,
    workflowName: options.name ?? 'Flow',
    options: { workbook: 'both', graph: 'both' },
    createdAt: created,
    updatedAt: created,
    durationsMs: {},
    ...(status !== 'AWAITING_UPLOAD' ? { uploadedAt: created } : {}),
    ...(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'].includes(status) ? { queuedAt: created } : {}),
    ...(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'].includes(status) ? { startedAt: created } : {}),
    ...(terminal ? { finishedAt: created } : {}),
    ...(options.code ? { error: { code: options.code, message: `${options.code} happened` } } : {}),
  };
  api.jobs.set(view.jobId, { view, owner, outcome: { status: 'SUCCEEDED' }, polls: 0 });
  return view;
}

describe('arguments are checked before any request', () => {
  it.each([
    [['jobs', '--state', 'BROKEN'], /--state must be one of: AWAITING_UPLOAD, VALIDATING, .*CANCELLED \(got "BROKEN"\)/],
    [['jobs', '--code', 'OOPS'], /--code must be one of: .*CONVERTER_PARSE_ERROR.* \(got "OOPS"\)/],
    [['jobs', '--since', 'yesterday'], /--since must be an ISO date-time with offset .* \(got "yesterday"\)/],
    [['counts', '--since', '400d'], /longer than 366 days/],
    [['usage', '--since', '1h', '--until', '2h'], /since is later than until/],
    [['jobs', '--limit', '0'], /--limit must be a whole number from 1 to 100/],
    [['job', 'no/such'], /is not a job id/],
    [['job'], /give exactly one job id/],
    [['keys', 'disable', 'abc'], /"abc" is not a key id: 64 lowercase hex digits/],
    [['keys', 'create'], /--name is required/],
    [['keys', 'create', '--name', 'x', '--role', 'root'], /--role must be one of: user, admin \(got "root"\)/],
    [['person', 'p1'], /give --disable, --enable or --role/],
    [['person', 'p1', '--role', 'owner'], /--role must be one of: user, admin, token/],
    [['person', 'p1', '--disable', '--enable'], /not both/],
    [['keys', 'frobnicate'], /unknown admin command "keys frobnicate"/],
    [['report'], /unknown admin command "report"/],
  ])('%j', async (args, message) => {
    await expect(admin(args)).rejects.toThrow(UsageError);
    await expect(admin(args)).rejects.toThrow(message);
    expect(api.requests).toEqual([]);
  });

  it('names the subcommand from one or two words', () => {
    expect(findSubcommand(['keys'])?.subcommand.name).toBe('keys list');
    expect(findSubcommand(['keys', '--json'])?.subcommand.name).toBe('keys list');
    expect(findSubcommand(['keys', 'rotate', 'x'])).toMatchObject({ subcommand: { name: 'keys rotate' }, rest: ['x'] });
    expect(findSubcommand(['people'])?.subcommand.name).toBe('people list');
    expect(findSubcommand(['people', 'list'])?.rest).toEqual([]);
    expect(findSubcommand(['person', 'p', '--enable'])).toMatchObject({ subcommand: { name: 'person' }, rest: ['p', '--enable'] });
    expect(findSubcommand(['keys', 'nope'])).toBeUndefined();
  });
});

describe('k2p-web admin jobs', () => {
  it('lists every owner’s jobs newest first, filtered, as a table and as the API’s JSON', async () => {
    const old = seed(DOUBLE_KEY, 'FAILED', { code: 'CONVERTER_PARSE_ERROR', minutesAgo: 60 * 30, name: 'Old' });
    const a = seed(DOUBLE_KEY, 'FAILED', { code: 'CONVERTER_PARSE_ERROR', minutesAgo: 30, name: 'Alpha' });
    const b = seed(OTHER_KEY, 'FAILED', { code: 'CONVERTER_PARSE_ERROR', minutesAgo: 20, name: 'Beta' });
    seed(OTHER_KEY, 'FAILED', { code: 'CONVERTER_TIMEOUT', minutesAgo: 10 });
    seed(OTHER_KEY, 'SUCCEEDED', { minutesAgo: 5 });

    const text = await admin(['jobs', '--state', 'FAILED', '--code', 'CONVERTER_PARSE_ERROR', '--since', '24h']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JOB ID +STATE +CODE +CREATED +WORKFLOW +OWNER$/);
    expect(lines.slice(1).map((line) => line.split(/ +/))).toEqual([
      [b.jobId, 'FAILED', 'CONVERTER_PARSE_ERROR', '20', 'min', 'ago', 'Beta', 'principal-1'],
      [a.jobId, 'FAILED', 'CONVERTER_PARSE_ERROR', '30', 'min', 'ago', 'Alpha', 'principal-0'],
    ]);
    expect(text.stderr).toMatch(/^2 jobs created \S+ – \S+\.\n$/);
    expect(text.stdout).not.toContain(old.jobId);

    const json = await admin(['jobs', '--owner', 'principal-0', '--since', '48h', '--json']);
    const page = JSON.parse(json.stdout) as AdminListJobsResponse;
    expect(page.jobs.map((j) => j.jobId)).toEqual([a.jobId, old.jobId]);
    expect(page.jobs.every((j) => j.owner === 'principal-0')).toBe(true);
    expect(Date.parse(page.until) - Date.parse(page.since)).toBe(48 * 3_600_000);
    expect(json.stderr).toBe('');

    const none = await admin(['jobs', '--state', 'QUEUED']);
    expect([none.code, none.stdout]).toEqual([0, 'No jobs match.\n']);
  });

  it('shows one page, says how to get the next; --all follows nextToken with the first answer’s range', async () => {
    const failed: string[] = [];
    for (let i = 0; i < 25; i++) {
      const job = seed(i % 2 ? DOUBLE_KEY : OTHER_KEY, i % 3 === 0 ? 'FAILED' : 'SUCCEEDED', {
        minutesAgo: 100 - i,
        ...(i % 3 === 0 ? { code: 'CONVERTER_FAILED' as const } : {}),
      });
      if (job.status === 'FAILED') failed.unshift(job.jobId);
    }
    const first = await admin(['jobs', '--state', 'FAILED', '--limit', '10', '--json']);
    const page = JSON.parse(first.stdout) as AdminListJobsResponse;
    // The window of the 10 newest jobs holds 4 of the 9 FAILED ones; the page says there is more.
    expect(page.jobs.map((j) => j.jobId)).toEqual(failed.slice(0, 4));
    expect(page.nextToken).toBeDefined();
    const text = await admin(['jobs', '--state', 'FAILED', '--limit', '10']);
    expect(text.stderr).toContain(`More jobs may match: add --all, or --next-token ${page.nextToken}`);
    const next = await admin([
      'jobs',
      '--state',
      'FAILED',
      '--limit',
      '10',
      '--next-token',
      page.nextToken!,
      '--since',
      page.since,
      '--until',
      page.until,
      '--json',
    ]);
    expect((JSON.parse(next.stdout) as AdminListJobsResponse).jobs.map((j) => j.jobId)).toEqual(failed.slice(4, 7));

    api.requests.length = 0;
    const all = await admin(['jobs', '--state', 'FAILED', '--limit', '10', '--since', '3h', '--all', '--json']);
    const everything = JSON.parse(all.stdout) as AdminListJobsResponse;
    expect(everything.jobs.map((j) => j.jobId)).toEqual(failed);
    expect(everything.nextToken).toBeUndefined();
    expect(api.requests.filter((r) => r.path === '/admin/jobs')).toHaveLength(3);
    const allText = await admin(['jobs', '--state', 'FAILED', '--limit', '10', '--all']);
    expect(allText.stdout.trimEnd().split('\n')).toHaveLength(1 + failed.length);
    expect(allText.stderr).not.toContain('More jobs');
  });

  it('a key without role admin: FORBIDDEN, exit 1, saying an admin key is needed (and as JSON with --json)', async () => {
    const text = await admin(['jobs'], { key: DOUBLE_KEY });
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain('✖ FORBIDDEN (HTTP 403): This route is for administrators only.');
    expect(text.stderr).toContain('the admin commands need an API key with role admin; the key in use (k2p-…ef from flag) is not one');
    expect(text.stderr).not.toContain(DOUBLE_KEY);
    const json = await admin(['counts', '--json'], { key: DOUBLE_KEY });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'FORBIDDEN', message: 'This route is for administrators only.' } });
  });
});

describe('k2p-web admin counts, job, logs, cancel, delete, audit', () => {
  it('counts by state and by code', async () => {
    seed(DOUBLE_KEY, 'FAILED', { code: 'CONVERTER_TIMEOUT' });
    seed(DOUBLE_KEY, 'FAILED', { code: 'CONVERTER_TIMEOUT' });
    seed(OTHER_KEY, 'REJECTED', { code: 'SETTINGS_MISSING' });
    seed(OTHER_KEY, 'SUCCEEDED');
    const text = await admin(['counts', '--since', '7d']);
    expect(text.stdout).toMatch(/^Jobs created \S+ – \S+: 4\n\nBy state:\n/);
    expect(text.stdout).toContain('  SUCCEEDED       1\n  REJECTED        1\n  FAILED          2\n');
    expect(text.stdout).toContain('By error code:\n  CONVERTER_TIMEOUT       2\n  SETTINGS_MISSING        1\n');
    const json = JSON.parse((await admin(['counts', '--json'])).stdout);
    expect(json).toMatchObject({ total: 4, byState: { FAILED: 2, QUEUED: 0 }, byCode: { CONVERTER_TIMEOUT: 2, SETTINGS_MISSING: 1 } });
  });

  it('shows one job in full, and writes its log', async () => {
    const job = seed(OTHER_KEY, 'FAILED', { code: 'CONVERTER_PARSE_ERROR', name: 'Broken' });
    const text = await admin(['job', job.jobId]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `  Job             ${job.jobId}\n  Owner           principal-1\n  Workflow        Broken\n  State           FAILED — `,
    );
    expect(text.stdout).toMatch(/History:\n {2}\S+ {2}AWAITING_UPLOAD\n {2}\S+ {2}VALIDATING +\+0\.0 s\n/);
    expect(text.stdout).toContain('  Validation      accepted');
    expect(text.stdout).toContain('  Converter       not run');
    expect(text.stdout).toContain('✖ FAILED: CONVERTER_PARSE_ERROR\n  CONVERTER_PARSE_ERROR happened');
    expect(text.stdout).toContain(`  Log             available (120 B; \`k2p-web admin logs ${job.jobId}\`)`);
    const json = JSON.parse((await admin(['job', job.jobId, '--json'])).stdout) as AdminJobDetail;
    expect(json).toMatchObject({
      job: { jobId: job.jobId, owner: 'principal-1' },
      validation: { verdict: 'accepted' },
      log: { available: true },
    });

    const log = await admin(['logs', job.jobId]);
    expect([log.code, log.stdout]).toEqual([0, `k2p-web conversion log: job ${job.jobId}, workflow Broken\n== knime2py exited ==\n`]);
    const waiting = seed(DOUBLE_KEY, 'QUEUED');
    const none = await admin(['logs', waiting.jobId]);
    expect([none.code, none.stdout]).toEqual([1, '']);
    expect(none.stderr).toContain('✖ LOG_NOT_AVAILABLE (HTTP 409)');
    const missing = await admin(['job', 'nosuchjob123']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('✖ NOT_FOUND (HTTP 404)');
  });

  it('cancels and deletes any job; delete asks on a terminal unless --yes; both are in the audit trail', async () => {
    const queued = seed(DOUBLE_KEY, 'QUEUED');
    const cancelled = await admin(['cancel', queued.jobId]);
    expect([cancelled.code, cancelled.stdout]).toEqual([0, `✔ ${queued.jobId}: CANCELLED — Cancelled.\n`]);
    const again = await admin(['cancel', queued.jobId, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'JOB_ALREADY_ENDED', details: { status: 'CANCELLED' } } });

    const asked: string[] = [];
    const declining: AdminDeps = { ...quiet, interactive: () => true, confirm: async (q) => (asked.push(q), false) };
    const declined = await admin(['delete', queued.jobId], { deps: declining });
    expect([declined.code, declined.stderr]).toEqual([1, 'Nothing was done.\n']);
    expect(asked).toEqual([`Delete job ${queued.jobId} (its bundle, result and report)?`]);
    expect(api.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    const forced = await admin(['delete', queued.jobId, '--yes'], { deps: declining });
    expect([forced.code, forced.stdout]).toEqual([0, `${queued.jobId}  DELETED\n`]);
    expect(asked).toHaveLength(1);
    const accepting: AdminDeps = { ...quiet, interactive: () => true, confirm: async () => true };
    expect((await admin(['delete', queued.jobId, '--json'], { deps: accepting })).stdout).toContain('"status":"DELETED"');

    const trail = await admin(['audit', '--since', '1h']);
    const rows = trail.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^AT +WHO +ACTION +OUTCOME +STATUS +TARGET$/);
    expect(rows.slice(1, 4).map((row) => row.split(/ {2,}/).slice(2, 5))).toEqual([
      ['job.delete', 'succeeded', 'DELETED'],
      ['job.delete', 'succeeded', 'DELETED'],
      ['job.cancel', 'refused JOB_ALREADY_ENDED', 'CANCELLED'],
    ]);
    expect(rows[1]).toContain(`job ${queued.jobId} (principal-0)`);
    const page = JSON.parse((await admin(['audit', '--limit', '2', '--json'])).stdout);
    expect(page.entries).toHaveLength(2);
    expect(page.nextToken).toBeDefined();
    const all = JSON.parse((await admin(['audit', '--limit', '2', '--all', '--json'])).stdout);
    expect(all.entries.length).toBeGreaterThanOrEqual(4);
    expect(all.nextToken).toBeUndefined();
  });
});

describe('k2p-web admin keys, people, person, usage', () => {
  async function me(key: string): Promise<number> {
    return (await fetch(`${api.url}/me`, { headers: { 'x-api-key': key } })).status;
  }

  it('create prints the value alone on stdout; list, disable, enable, rotate and delete act on it', async () => {
    const created = await admin(['keys', 'create', '--name', 'ci-bot', '--role', 'user']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^k2p_[A-Za-z0-9_-]{43}\n$/);
    const value = created.stdout.trim();
    expect(created.stderr).toMatch(/^Created a key:\n {2}Key id {10}[0-9a-f]{64}\n {2}Name {12}ci-bot\n/);
    expect(created.stderr).toContain('(program, role user)');
    expect(created.stderr).not.toContain(value);
    const keyId = /Key id +([0-9a-f]{64})/.exec(created.stderr)![1]!;
    expect(await me(value)).toBe(200);

    const list = await admin(['keys', 'list']);
    const row = list.stdout.split('\n').find((line) => line.startsWith(keyId))!;
    expect(row.split(/ {2,}/).slice(1, 4)).toEqual(['ci-bot', 'user', 'enabled']);
    expect(row).toMatch(/never +0 +0 +[0-9a-f-]{36}$/);
    expect(list.stdout).not.toContain(value);
    const principalId = row.split(/ +/).at(-1)!;
    const json = JSON.parse((await admin(['keys', '--principal', principalId, '--json'])).stdout);
    expect(json.keys).toEqual([expect.objectContaining({ keyId, name: 'ci-bot', enabled: true })]);
    expect(JSON.stringify(json)).not.toContain(value);

    const disabled = await admin(['keys', 'disable', keyId]);
    expect(disabled.stdout).toBe(`✔ ci-bot: key ${keyId} disabled; the authorizer's cache applies it within 60 s.\n`);
    expect(await me(value)).toBe(401);
    expect(JSON.parse((await admin(['keys', 'enable', keyId, '--json'])).stdout)).toMatchObject({ key: { keyId, enabled: true } });
    expect(await me(value)).toBe(200);

    const rotated = await admin(['keys', 'rotate', keyId]);
    const newValue = rotated.stdout.trim();
    expect(rotated.stdout).toMatch(/^k2p_[A-Za-z0-9_-]{43}\n$/);
    expect(newValue).not.toBe(value);
    expect(rotated.stderr).toContain(`Rotated key ${keyId}; its new key:`);
    expect(rotated.stderr).toContain(`  Replaces        ${keyId}`);
    expect([await me(value), await me(newValue)]).toEqual([401, 200]);
    const newId = /Key id +([0-9a-f]{64})/.exec(rotated.stderr)![1]!;

    const asJson = await admin(['keys', 'create', '--name', 'robot', '--role', 'admin', '--json']);
    const answer = JSON.parse(asJson.stdout);
    expect(answer).toMatchObject({ key: { name: 'robot', role: 'admin' }, value: expect.stringMatching(/^k2p_/) });
    expect((await admin(['jobs', '--json'], { key: answer.value })).code).toBe(0);

    const declined = await admin(['keys', 'delete', newId], { deps: { ...quiet, interactive: () => true, confirm: async () => false } });
    expect(declined.code).toBe(1);
    expect(await me(newValue)).toBe(200);
    const deleted = await admin(['keys', 'delete', newId, '--yes']);
    expect(deleted.stdout).toBe(`✔ ci-bot: key ${newId} deleted; the authorizer's cache applies it within 60 s.\n`);
    expect(await me(newValue)).toBe(401);
    const gone = await admin(['keys', 'disable', newId]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('✖ NOT_FOUND (HTTP 404)');
  });

  it('people and person: disable, role override, back to the token', async () => {
    const id = 'oidc:https://idp.example#alice';
    expect((await admin(['people'])).stdout).toBe('No person has a standing set.\n');
    expect((await admin(['person', id, '--disable'])).stdout).toBe(
      `✔ ${id}: disabled, role from their token; the authorizer's cache applies it within 60 s.\n`,
    );
    expect(JSON.parse((await admin(['person', id, '--enable', '--role', 'admin', '--json'])).stdout)).toMatchObject({
      person: { principalId: id, enabled: true, role: 'admin' },
    });
    const table = (await admin(['people', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/^PRINCIPAL +STATE +ROLE +UPDATED$/);
    expect(table[1]!.split(/ {2,}/).slice(0, 3)).toEqual([id, 'enabled', 'admin']);
    expect(JSON.parse((await admin(['person', id, '--role', 'token', '--json'])).stdout).person.role).toBeUndefined();
    expect(JSON.parse((await admin(['people', '--json'])).stdout)).toEqual({ people: [expect.objectContaining({ principalId: id })] });
  });

  it('usage: a row per principal, most jobs first, with a bar; --json is the API’s answer', async () => {
    for (let i = 0; i < 8; i++) seed(DOUBLE_KEY, i < 6 ? 'SUCCEEDED' : 'FAILED', i < 6 ? {} : { code: 'CONVERTER_FAILED' });
    for (let i = 0; i < 2; i++) seed(OTHER_KEY, 'REJECTED', { code: 'SETTINGS_MISSING' });
    seed(OTHER_KEY, 'SUCCEEDED', { minutesAgo: 60 * 24 * 10 });
    const text = await admin(['usage', '--since', '7d']);
    const rows = text.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^PRINCIPAL +KIND +JOBS +OK +FAILED +REJECTED +CANCELLED$/);
    expect(rows[1]!.split(/ +/)).toEqual(['principal-0', '-', '8', '6', '2', '0', '0', '█'.repeat(24)]);
    expect(rows[2]!.split(/ +/)).toEqual(['principal-1', '-', '2', '0', '0', '2', '0', '██████']);
    expect(text.stderr).toMatch(/^Jobs created \S+ – \S+\.\n$/);
    const json = JSON.parse((await admin(['usage', '--since', '30d', '--json'])).stdout) as AdminUsageResponse;
    expect(json.principals.map((p) => [p.principalId, p.jobs])).toEqual([
      ['principal-0', 8],
      ['principal-1', 3],
    ]);
  });

  it('draws bars in eighths, never empty for a principal with jobs', () => {
    expect(usageBar(0, 10)).toBe('');
    expect(usageBar(10, 10, 8)).toBe('████████');
    expect(usageBar(1, 1000, 8)).toBe('▏');
    expect(usageBar(5, 8, 4)).toBe('██▌');
  });
});

describe('the real binary', () => {
  function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('K2P_')));
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { cwd: scratch, env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      );
    });
  }

  it('exits 2 on a bad value (listing the valid ones), 1 on FORBIDDEN, 0 with --help for a subcommand', async () => {
    const env = { K2P_API_URL: api.url, K2P_API_KEY: DOUBLE_KEY };
    const bad = await run(['admin', 'jobs', '--state', 'DONE'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('k2p-web admin: --state must be one of: AWAITING_UPLOAD');
    const forbidden = await run(['admin', 'jobs'], env);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('FORBIDDEN');
    const help = await run(['admin', 'keys', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: k2p-web admin keys create --name N/);
    const overview = await run(['--help']);
    expect(overview.stdout).toMatch(/ {2}admin +operate the service/);
  });
});
