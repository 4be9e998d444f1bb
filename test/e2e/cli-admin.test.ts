/**
 * `k2p-web admin` end to end: the real commands against local mode (the synthesized stack, the real authorizer and
 * admin handlers, the knime2py CONTRACT DOUBLE as the converter) with local mode's admin key. An admin creates a
 * program key for a second principal, both principals convert, and the admin filters their jobs, reads one in full
 * and its log, lists, disables, rotates and re-enables the key, and reads the usage as JSON; a user key gets FORBIDDEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminCommand } from '../../cli/commands/admin';
import { ApiClient } from '../../core/api-client';
import type { AdminListJobsResponse, AdminUsageResponse, KeyView } from '../../core/api-schemas';
import { uploadToPresignedPost } from '../../core/node/upload';
import { captureIO } from '../support/cli-io';
import { bundleWithMode, startE2e, type E2e } from './support';

let e2e: E2e;

beforeAll(async () => {
  e2e = await startE2e();
}, 600_000);

afterAll(async () => {
  await e2e?.close();
});

/** One `k2p-web admin …` run, with the admin key unless another is given. */
async function admin(args: string[], key = e2e.stack.keys.admin.value): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO();
  const code = await createAdminCommand({ extraRoots: [], interactive: () => false }).run(
    [...args, '--api', e2e.stack.urls.api, '--key', key],
    c.io,
  );
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** Converts a bundle asking the contract double for `mode` ('' succeeds, exit-3 is CONVERTER_PARSE_ERROR) and waits for the end. */
async function converted(client: ApiClient, mode: string, name: string): Promise<string> {
  const { job, upload } = await client.createJob({ filename: name });
  await uploadToPresignedPost(upload!, bundleWithMode(mode));
  await client.followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 60_000 });
  return job.jobId;
}

describe('k2p-web admin against local mode', () => {
  it('keys, two principals’ jobs filtered, one job in full, its log, usage; a user key is refused', async () => {
    const created = await admin(['keys', 'create', '--name', 'ci-bot', '--role', 'user']);
    expect(created.code).toBe(0);
    const value = created.stdout.trim();
    expect(created.stdout).toBe(`${value}\n`);
    expect(created.stderr).not.toContain(value);
    const keyId = /Key id +([0-9a-f]{64})/.exec(created.stderr)![1]!;
    const bot = new ApiClient({ baseUrl: e2e.stack.urls.api, apiKey: value });
    const botId = (await bot.me()).id;
    const userId = (await e2e.client.me()).id;
    expect(botId).not.toBe(userId);

    const botFailed = await converted(bot, 'exit-3', 'bot-broken.zip');
    const botDone = await converted(bot, '', 'bot-fine.zip');
    const userFailed = await converted(e2e.client, 'exit-3', 'user-broken.zip');
    const userOther = await converted(e2e.client, 'exit-1', 'user-crash.zip');

    const parseErrors = await admin(['jobs', '--state', 'FAILED', '--code', 'CONVERTER_PARSE_ERROR', '--since', '1h', '--all', '--json']);
    expect(parseErrors.code).toBe(0);
    const failed = JSON.parse(parseErrors.stdout) as AdminListJobsResponse;
    expect(failed.jobs.map((j) => [j.jobId, j.owner])).toEqual([
      [userFailed, userId],
      [botFailed, botId],
    ]);
    const mine = JSON.parse((await admin(['jobs', '--owner', botId, '--all', '--json'])).stdout) as AdminListJobsResponse;
    expect(mine.jobs.map((j) => j.jobId)).toEqual([botDone, botFailed]);
    const table = await admin(['jobs', '--state', 'FAILED', '--since', '1h', '--all']);
    const rows = table.stdout.trimEnd().split('\n').slice(1);
    expect(rows.map((row) => row.split(/ +/)[0])).toEqual([userOther, userFailed, botFailed]);
    expect(rows[0]).toMatch(new RegExp(`^${userOther} +FAILED +CONVERTER_FAILED .* ${userId.replace(/[^\w]/g, '.')}$`));

    const detail = await admin(['job', botFailed]);
    expect(detail.code).toBe(0);
    expect(detail.stdout).toContain(`  Owner           ${botId}\n`);
    expect(detail.stdout).toMatch(/History:\n.*AWAITING_UPLOAD\n.*VALIDATING.*\n.*QUEUED.*\n.*RUNNING.*\n.*FAILED/);
    expect(detail.stdout).toContain('  Validation      accepted');
    expect(detail.stdout).toContain('✖ FAILED: CONVERTER_PARSE_ERROR');
    expect(detail.stdout).toMatch(/ {2}Log {13}available \(/);
    const log = await admin(['logs', botFailed]);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain(botFailed);
    expect(log.stdout).toMatch(/exited with code 3/);

    const listed = JSON.parse((await admin(['keys', 'list', '--principal', botId, '--json'])).stdout) as { keys: KeyView[] };
    expect(listed.keys).toEqual([expect.objectContaining({ keyId, name: 'ci-bot', role: 'user', enabled: true, conversionsToday: 2 })]);
    const disabled = await admin(['keys', 'disable', keyId]);
    expect(disabled.code).toBe(0);
    expect((await admin(['keys', 'list'])).stdout.split('\n').find((row) => row.startsWith(keyId))).toMatch(/ci-bot +user +disabled /);
    // Rotating keeps the key's standing: the new value of a disabled key is disabled too, until enabled.
    const rotated = await admin(['keys', 'rotate', keyId]);
    expect(rotated.code).toBe(0);
    const newValue = rotated.stdout.trim();
    expect(newValue).not.toBe(value);
    const newId = /Key id +([0-9a-f]{64})/.exec(rotated.stderr)![1]!;
    const afterRotation = JSON.parse((await admin(['keys', 'list', '--principal', botId, '--json'])).stdout) as { keys: KeyView[] };
    expect(afterRotation.keys).toEqual([expect.objectContaining({ keyId: newId, rotatedFrom: keyId, enabled: false })]);
    expect((await admin(['keys', 'enable', newId])).code).toBe(0);
    expect((await new ApiClient({ baseUrl: e2e.stack.urls.api, apiKey: newValue }).me()).id).toBe(botId);

    const usage = await admin(['usage', '--since', '1h', '--json']);
    expect(usage.code).toBe(0);
    const principals = (JSON.parse(usage.stdout) as AdminUsageResponse).principals;
    expect(principals.find((p) => p.principalId === botId)).toMatchObject({ name: 'ci-bot', jobs: 2, succeeded: 1, failed: 1 });
    expect(principals.find((p) => p.principalId === userId)).toMatchObject({ failed: 2 });

    const refused = await admin(['jobs'], e2e.stack.keys.cli.value);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('✖ FORBIDDEN (HTTP 403)');
    expect(refused.stderr).toContain('need an API key with role admin');
  }, 300_000);
});
