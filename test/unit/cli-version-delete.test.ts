/**
 * `k2p-web --version` and `k2p-web delete` through their real code against
 * the TEST DOUBLE of the jobs API (test/doubles/jobs-api-double.ts); one
 * test runs the real binary with no service at all.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../core/api-schemas';
import { createDeleteCommand } from '../../cli/commands/delete';
import type { RemoteDeps } from '../../cli/remote';
import { printVersion } from '../../cli/version';
import { DOUBLE_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';
import { captureIO } from '../support/cli-io';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'cli', 'k2p-web.mjs');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-version-'));
let api: JobsApiDouble;

beforeAll(async () => {
  api = await startJobsApiDouble();
});
afterAll(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
  rmSync(scratch, { recursive: true, force: true });
});

const capture = (env: Record<string, string> = {}) => captureIO(env, scratch);

const deps: RemoteDeps = { extraRoots: [], interrupts: () => ({ signal: new AbortController().signal, dispose: () => {} }) };

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('k2p-web --version', () => {
  it('prints the CLI version and the service and converter versions from GET /health', async () => {
    const c = capture({ K2P_API_URL: api.url });
    expect(await printVersion([], c.io, deps)).toBe(0);
    expect(c.stdout()).toBe(`k2p-web ${VERSION}\nservice: k2p-web 0.1.0 at ${api.url} (env)\nconverter: knime2py 0.1.11\n`);
    const flag = capture();
    expect(await printVersion(['--api', api.url], flag.io, deps)).toBe(0);
    expect(flag.stdout()).toContain(`(flag)`);
  });

  it('does not fail when the service cannot be reached, or none is configured', async () => {
    const port = await closedPort();
    const down = capture({ K2P_API_URL: `http://127.0.0.1:${port}` });
    expect(await printVersion([], down.io, deps)).toBe(0);
    expect(down.stdout()).toMatch(
      new RegExp(`^k2p-web ${VERSION}\nservice: not reachable \\(http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    const none = capture();
    expect(await printVersion([], none.io, deps)).toBe(0);
    expect(none.stdout()).toContain('service: not reachable (no API configured');
  });

  it('works as `k2p-web --version` and `-V` from the real binary', async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('K2P_API') && name !== 'K2P_LOCAL_DATA_DIR'),
    );
    for (const flag of ['--version', '-V']) {
      const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [CLI, flag], { cwd: scratch, env: { ...env, K2P_API_URL: api.url }, timeout: 60_000 }, (error, stdout) =>
          resolve({ code: error ? Number(error.code ?? -1) : 0, stdout }),
        );
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`k2p-web ${VERSION}\nservice: k2p-web 0.1.0`);
    }
  });
});

describe('k2p-web delete', () => {
  async function createdJob(name: string): Promise<JobView> {
    const response = await fetch(`${api.url}/jobs`, {
      method: 'POST',
      headers: { 'x-api-key': DOUBLE_KEY },
      body: JSON.stringify({ filename: name }),
    });
    return ((await response.json()) as { job: JobView }).job;
  }

  it('deletes each job and prints its resulting state; exit 1 when one of them fails', async () => {
    const [a, b] = [await createdJob('A'), await createdJob('B')];
    const c = capture();
    const code = await createDeleteCommand(deps).run([a.jobId, 'nosuchjob123', b.jobId, '--api', api.url, '--key', DOUBLE_KEY], c.io);
    expect(code).toBe(1);
    expect(c.stdout()).toBe(`${a.jobId}  DELETED\n${b.jobId}  DELETED\n`);
    expect(c.stderr()).toContain('nosuchjob123: ✖ NOT_FOUND (HTTP 404)');
    expect(api.jobs.get(a.jobId)?.view.status).toBe('DELETED');
    expect(api.jobs.get(b.jobId)?.view.status).toBe('DELETED');
  });

  it('--json prints one object per job; exit 0 when all were deleted; a malformed id is a usage error', async () => {
    const a = await createdJob('C');
    const c = capture();
    expect(await createDeleteCommand(deps).run([a.jobId, '--json', '--api', api.url, '--key', DOUBLE_KEY], c.io)).toBe(0);
    expect(JSON.parse(c.stdout())).toMatchObject({ ok: true, jobId: a.jobId, job: { status: 'DELETED' } });
    await expect(createDeleteCommand(deps).run(['../x', '--api', api.url, '--key', DOUBLE_KEY], c.io)).rejects.toThrow(/is not a job id/);
    await expect(createDeleteCommand(deps).run(['--api', api.url, '--key', DOUBLE_KEY], c.io)).rejects.toThrow(/at least one job/);
  });
});
