/**
 * The runner as the container runs it: the esbuild bundle started with `node`,
 * configured by its environment only, with the real knime2py as K2P_COMMAND
 * (the contract double only to hang on demand).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRunner } from '../../runner/build';
import { startPresignedServer, type PresignedServer } from '../doubles/presigned-server';
import { differencesFromReference } from '../support/knime2py-reference';
import { describeWithRealConverter, findRealConverter } from '../support/real-converter';
import { sampleBundle, sha256 } from '../support/samples';

const DOUBLE = resolve('test/doubles/k2p-double.mjs');
const real = await findRealConverter();
const work = mkdtempSync(join(tmpdir(), 'k2p-runner-bundle-'));
let server: PresignedServer;
let bundlePath: string;

beforeAll(async () => {
  server = await startPresignedServer();
  bundlePath = await buildRunner(join(work, 'runner.mjs'));
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

function startRunner(id: string, sample: string, extraEnv: Record<string, string> = {}) {
  const bundle = sampleBundle(sample);
  server.put(`bundles/${id}/bundle.zip`, bundle);
  const env = {
    PATH: process.env.PATH ?? '',
    JOB_ID: id,
    INPUT_URL: server.url(`bundles/${id}/bundle.zip`),
    INPUT_SHA256: sha256(bundle),
    RESULT_URL: server.url(`results/${id}/result.zip`),
    REPORT_URL: server.url(`results/${id}/report.json`),
    LOG_URL: server.url(`results/${id}/log.txt`),
    WORKFLOW_NAME: sample,
    K2P_COMMAND: DOUBLE,
    K2P_VERSION_COMMAND: 'node -e "console.log(\'0.1.11\')"',
    SCRATCH_DIR: join(work, id),
    ...extraEnv,
  };
  // A clean environment, as in the task: nothing but what the task definition sets.
  const child = spawn(process.execPath, [bundlePath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((done) => child.on('close', (code) => done({ code, stderr })));
  return { child, exited };
}

describeWithRealConverter('bundled runner (runner/dist/runner.mjs) with the real knime2py', real, (converter) => {
  it('converts a sample end to end like the reference and exits 0', async () => {
    const { exited } = startRunner('job-bundle-01', 'KNIME_two_graphs', {
      K2P_COMMAND: converter.command,
      K2P_VERSION_COMMAND: converter.versionCommand,
    });
    const { code, stderr } = await exited;
    expect(code).toBe(0);
    const report = JSON.parse(server.objects.get('results/job-bundle-01/report.json')?.body.toString() ?? '{}');
    expect(report).toMatchObject({
      outcome: 'SUCCEEDED',
      jobId: 'job-bundle-01',
      summary: { components: 2 },
      converter: { version: converter.version },
    });
    const files = unzipSync(server.objects.get('results/job-bundle-01/result.zip')?.body as Buffer);
    expect(differencesFromReference('KNIME_two_graphs', files)).toEqual([]);
    for (const line of stderr.trim().split('\n')) expect(JSON.parse(line).jobId).toBe('job-bundle-01');
  });
});

describe('bundled runner (runner/dist/runner.mjs)', () => {
  it('on SIGTERM stops the converter (contract double, hanging) and still uploads a report', async () => {
    const { child, exited } = startRunner('job-bundle-02', 'KNIME_io_csv', { K2P_DOUBLE_MODE: 'hang', RUNNER_KILL_GRACE_SECONDS: '0.5' });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const { code } = await exited;
    expect(code).toBe(0);
    const report = JSON.parse(server.objects.get('results/job-bundle-02/report.json')?.body.toString() ?? '{}');
    expect(report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' } });
    expect(report.error.message).toContain('stopped');
  });

  it('exits 1 when it has nowhere to report', async () => {
    const child = spawn(process.execPath, [bundlePath], { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    const code = await new Promise((done) => child.on('close', done));
    expect(code).toBe(1);
  });
});
