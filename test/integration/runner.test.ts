/**
 * The runner end to end: presigned URLs served by a local HTTP server, the real
 * bundle validator, and the real knime2py (test/support/real-converter.ts) as
 * K2P_COMMAND; the knime2py contract double only for what the real converter
 * cannot be made to do (hang, flood, oversized or stray outputs, every exit code).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNIME2PY_VERSION } from '../../core/runner-contract';
import type { ConversionReport } from '../../core/types';
import { runJob } from '../../runner/runner';
import { FAKE_SIGNATURE, startPresignedServer, type PresignedServer } from '../doubles/presigned-server';
import { differencesFromReference, referenceErrorCode, referenceExitCode } from '../support/knime2py-reference';
import { describeWithRealConverter, findRealConverter, type RealConverter } from '../support/real-converter';
import { bundleFiles, sampleBundle, SAMPLES_DIR, sha256, zipFiles } from '../support/samples';
import { sampleNames } from '../support/zip-builder';

const DOUBLE = resolve('test/doubles/k2p-double.mjs');
const real = await findRealConverter();
/** The runner's converter settings for the real knime2py. */
const realEnv = (converter: RealConverter) => ({ K2P_COMMAND: converter.command, K2P_VERSION_COMMAND: converter.versionCommand });
const scratchRoot = mkdtempSync(join(tmpdir(), 'k2p-runner-it-'));
let server: PresignedServer;
let counter = 0;

beforeAll(async () => {
  server = await startPresignedServer();
});
afterAll(async () => {
  await server.close();
  rmSync(scratchRoot, { recursive: true, force: true });
});

interface JobRun {
  exitCode: number;
  report?: ConversionReport;
  zip?: Buffer;
  files: Record<string, Uint8Array>;
  logs: string[];
  scratch: string;
  elapsedMs: number;
  resultKey: string;
  /** log.txt as uploaded. */
  log?: string;
}

/** Runs one job on a bundle; env entries override the defaults (undefined removes one). */
async function runBundle(bundle: Uint8Array, workflow: string, env: Record<string, string | undefined> = {}): Promise<JobRun> {
  const id = `job-${String(++counter).padStart(8, '0')}`;
  const scratch = join(scratchRoot, id);
  server.put(`bundles/${id}/bundle.zip`, bundle);
  const logs: string[] = [];
  const fullEnv = {
    PATH: process.env.PATH,
    JOB_ID: id,
    INPUT_URL: server.url(`bundles/${id}/bundle.zip`),
    INPUT_SHA256: sha256(bundle),
    RESULT_URL: server.url(`results/${id}/result.zip`),
    REPORT_URL: server.url(`results/${id}/report.json`),
    LOG_URL: server.url(`results/${id}/log.txt`),
    WORKFLOW_NAME: workflow,
    K2P_COMMAND: DOUBLE,
    K2P_VERSION_COMMAND: `node -e "console.log('0.1.11')"`,
    SCRATCH_DIR: scratch,
    CONVERTER_IMAGE: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11',
    ...env,
  };
  const started = Date.now();
  const exitCode = await runJob(fullEnv, { logSink: (line) => logs.push(line) });
  const elapsedMs = Date.now() - started;
  const reportObject = server.objects.get(`results/${id}/report.json`);
  const zip = server.objects.get(`results/${id}/result.zip`)?.body;
  const logObject = server.objects.get(`results/${id}/log.txt`);
  return {
    ...(logObject ? { log: logObject.body.toString('utf8') } : {}),
    exitCode,
    report: reportObject ? JSON.parse(reportObject.body.toString('utf8')) : undefined,
    zip,
    files: zip ? unzipSync(zip) : {},
    logs,
    scratch,
    elapsedMs,
    resultKey: `results/${id}/result.zip`,
  };
}

const sample = (name: string, env: Record<string, string | undefined> = {}) => runBundle(sampleBundle(name), name, env);
const text = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString('utf8');

function expectNoScratchPaths(run: JobRun) {
  expect(run.zip?.includes(run.scratch)).toBe(false);
  expect(run.zip?.includes(scratchRoot)).toBe(false);
  for (const [name, data] of Object.entries(run.files)) {
    expect(text(data), name).not.toContain(scratchRoot);
    expect(text(data), name).not.toMatch(/run-[A-Za-z0-9]{6}/);
  }
  expect(JSON.stringify(run.report)).not.toContain(scratchRoot);
}

describeWithRealConverter('runner with the real knime2py', real, (converter) => {
  const matched: string[] = [];
  afterAll(() => {
    console.log(
      `real knime2py ${converter.version} (${converter.origin}): ${matched.length}/${sampleNames().length} sample workflows converted through the runner, outputs match the references`,
    );
  });

  it('is the pinned knime2py release, and each job records that version', async () => {
    expect(converter.version).toBe(KNIME2PY_VERSION);
    const run = await sample('KNIME_single_csv', realEnv(converter));
    expect(run.report?.converter).toMatchObject({ command: converter.command, version: KNIME2PY_VERSION });
  });

  it("records the image's CONVERTER_VERSION without asking Python, and asks only when the image declares none", async () => {
    // The version command would say 7.7.7: the image's declared (build-verified) version wins, a junk one does not.
    const asked = { ...realEnv(converter), K2P_VERSION_COMMAND: `node -e "console.log('7.7.7')"` };
    const declared = await sample('KNIME_single_csv', { ...asked, CONVERTER_VERSION: KNIME2PY_VERSION });
    expect(declared.report?.converter.version).toBe(KNIME2PY_VERSION);
    const junk = await sample('KNIME_single_csv', { ...asked, CONVERTER_VERSION: 'not a version' });
    expect(junk.report?.converter.version).toBe('7.7.7');
  });

  it.each(sampleNames())('converts %s into result.zip matching the reference outputs', async (name) => {
    const run = await sample(name, realEnv(converter));
    expect(run.exitCode).toBe(0);
    const errorCode = referenceErrorCode(name);
    if (errorCode) {
      // The reference says knime2py refuses this one: the job ends with the matching error code.
      expect(run.report).toMatchObject({ outcome: 'FAILED', exitCode: referenceExitCode(name), error: { code: errorCode } });
      expect(run.zip).toBeUndefined();
      matched.push(name);
      return;
    }
    expect(run.report).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0, workflow: name, converter: { version: converter.version } });
    expect(run.report?.error).toBeUndefined();
    expect(differencesFromReference(name, run.files)).toEqual([]);
    const outputs = Object.keys(run.files).filter((f) => f !== 'README.md' && f !== 'report.json');
    expect(Object.keys(run.files)).toEqual(['README.md', 'report.json', ...outputs]);
    expect(run.report?.summary.files).toEqual(Object.keys(run.files));
    expect(run.report?.summary.resultBytes).toBe(run.zip?.length);
    expect(run.report?.components.map((c) => c.workflowId)).toEqual(
      outputs.filter((o) => o.endsWith('.json')).map((o) => o.replace('.json', '')),
    );
    expect(text(run.files[`${name}__g01_workbook.py`])).toContain(`# Source:   ${name}/workflow.knime`);
    expectNoScratchPaths(run);
    // Nothing of the run is left in scratch.
    expect(readdirSync(run.scratch)).toEqual([]);
    matched.push(name);
  });

  it('reports the not-converted nodes in report.json and README.md', async () => {
    const run = await sample('KNIME_traverse_order', realEnv(converter));
    const archived = JSON.parse(text(run.files['report.json']));
    expect(archived.summary.notImplementedNames).toEqual([
      'Normalizer _Apply_ (org.knime.base.node.preproc.normalize.NormalizerApplyNodeFactory)',
    ]);
    expect(archived).toMatchObject({ outcome: 'SUCCEEDED', workflow: 'KNIME_traverse_order', inputSha256: run.report?.inputSha256 });
    expect(archived.summary).toMatchObject({ nodes: 13, edges: 13, idle: 7, notImplemented: 1 });
    const readme = text(run.files['README.md']);
    expect(readme).toContain('Normalizer _Apply_');
    expect(readme).toMatch(/pip install .*pandas/);
    expect(readme).toContain('scikit-learn');
  });

  it('uploads log.txt with knime2py’s command, output and ending, and the runner’s lines, without scratch paths or signatures', async () => {
    const run = await sample('KNIME_single_csv', realEnv(converter));
    const log = run.log ?? '';
    expect(log).toContain(`k2p-web conversion log: job ${run.report?.jobId}, workflow KNIME_single_csv`);
    expect(log).toMatch(/^\$ .+ KNIME_single_csv --out \.$/m);
    // knime2py's JSON summary on stdout, as it printed it.
    expect(log).toMatch(/== knime2py stdout \(\d+ bytes\) ==\n\{/);
    expect(log).toContain('"workflow"');
    expect(log).toContain('KNIME_single_csv__g01_workbook.py');
    expect(log).toMatch(/== knime2py exited with code 0 after \d+ ms ==/);
    expect(log).toContain('"message":"job finished"');
    expect(log).not.toContain(scratchRoot);
    expect(log).not.toMatch(/run-[A-Za-z0-9]{6}/);
    expect(log).not.toContain(FAKE_SIGNATURE);
    const id = run.resultKey.split('/')[1];
    expect(server.objects.get(`results/${id}/log.txt`)?.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('uploads with the right content types and lengths', async () => {
    const run = await sample('KNIME_single_csv', realEnv(converter));
    const id = run.resultKey.split('/')[1];
    const result = server.objects.get(`results/${id}/result.zip`);
    const report = server.objects.get(`results/${id}/report.json`);
    expect(result?.headers['content-type']).toBe('application/zip');
    expect(Number(result?.headers['content-length'])).toBe(result?.body.length);
    expect(report?.headers['content-type']).toBe('application/json');
    expect(Number(report?.headers['content-length'])).toBe(report?.body.length);
  });

  it('passes the workbook and graph options to the converter', async () => {
    const run = await sample('KNIME_io_csv', { ...realEnv(converter), K2P_WORKBOOK: 'py', K2P_GRAPH: 'off' });
    expect(Object.keys(run.files)).toEqual(['README.md', 'report.json', 'KNIME_io_csv__g01_workbook.py']);
    expect(run.report?.options).toEqual({ workbook: 'py', graph: 'off' });
    expect(run.report?.components[0]?.files).toEqual({ workbookPy: 'KNIME_io_csv__g01_workbook.py' });
  });

  it('gives a byte-identical result.zip for a second run of the same bundle', async () => {
    const first = await sample('KNIME_two_graphs', realEnv(converter));
    const second = await sample('KNIME_two_graphs', realEnv(converter));
    expect(first.report?.jobId).not.toBe(second.report?.jobId);
    expect(first.report?.outcome).toBe('SUCCEEDED');
    expect(first.zip?.length).toBeGreaterThan(0);
    expect(second.zip?.equals(first.zip as Buffer)).toBe(true);
  });

  it('names the folder and outputs after a sanitized workflow name', async () => {
    const run = await runBundle(sampleBundle('KNIME_io_csv'), '../Évaluation/2024', realEnv(converter));
    expect(run.report?.workflow).toBe('_Évaluation_2024');
    expect(Object.keys(run.files)).toContain('_Évaluation_2024__g01_workbook.py');
    expect(text(run.files['_Évaluation_2024__g01_workbook.py'])).toContain('# Source:   _Évaluation_2024/workflow.knime');
    expectNoScratchPaths(run);
  });

  it('maps a workflow without nodes to CONVERTER_PARSE_ERROR (knime2py exits 3 on it)', async () => {
    const files = new Map([
      [
        'workflow.knime',
        Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<config key="workflow.knime"><config key="nodes"/></config>\n'),
      ],
    ]);
    const run = await runBundle(zipFiles(files), 'Empty', realEnv(converter));
    expect(run.report).toMatchObject({ outcome: 'FAILED', exitCode: 3, error: { code: 'CONVERTER_PARSE_ERROR' } });
    expect(run.report?.stderrTail).toContain('Empty/workflow.knime');
    expect(JSON.stringify(run.report)).not.toContain(scratchRoot);
  });
});

describe('runner: stray outputs (contract double)', () => {
  it('packages only regular files from --out and ignores what the contract double wrote elsewhere', async () => {
    const run = await sample('KNIME_io_csv', { K2P_DOUBLE_MODE: 'write-outside' });
    expect(run.report?.outcome).toBe('SUCCEEDED');
    expect(Object.keys(run.files)).not.toContain('link-to-outside.txt');
    expect(Object.keys(run.files).some((f) => f.includes('outside'))).toBe(false);
    const warnings = run.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.message)).toEqual(
      expect.arrayContaining(['converter outputs left out of the result', 'converter wrote outside its output folder; ignored']),
    );
  });
});

describe('runner: bundle problems (K2P_COMMAND is the contract double, never started)', () => {
  it('fails with RUNNER_FAILED when the bundle does not match the validated sha256', async () => {
    const run = await sample('discounts', { INPUT_SHA256: 'f'.repeat(64) });
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' }, exitCode: null });
    expect(run.report?.error?.message).toContain('sha256');
    expect(run.zip).toBeUndefined();
  });

  it('reports the validator code for a bundle that is not valid', async () => {
    const files = bundleFiles(join(SAMPLES_DIR, 'KNIME_io_csv'));
    files.set('data.csv', Buffer.from('a,b\n1,2\n'));
    const run = await runBundle(zipFiles(files), 'KNIME_io_csv');
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'ZIP_DISALLOWED_FILE', details: { entry: 'data.csv' } } });
    expect(run.zip).toBeUndefined();
  });

  it('reports SETTINGS_MISSING when a referenced settings.xml is absent', async () => {
    const files = bundleFiles(join(SAMPLES_DIR, 'KNIME_io_csv'));
    files.delete('CSV Writer (#2)/settings.xml');
    const run = await runBundle(zipFiles(files), 'KNIME_io_csv');
    expect(run.report?.error?.code).toBe('SETTINGS_MISSING');
  });

  it('stops reading a download larger than the upload limit', async () => {
    const run = await sample('KNIME_PP_2022_LR', { LIMIT_MAX_UPLOAD_BYTES: '1024' });
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'BUNDLE_TOO_LARGE' } });
  });

  it('fails with RUNNER_FAILED when the bundle cannot be downloaded', async () => {
    const run = await sample('discounts', { INPUT_URL: server.url('bundles/nothing-here/bundle.zip') });
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' } });
    expect(run.report?.error?.message).toContain('HTTP 404');
    expect(run.report?.error?.message).not.toContain(FAKE_SIGNATURE);
  });
});

describe('runner: converter failures (contract double)', () => {
  it.each([
    ['exit-2', 2, 'CONVERTER_INPUT_ERROR'],
    ['exit-3', 3, 'CONVERTER_PARSE_ERROR'],
    ['exit-4', 4, 'CONVERTER_NO_NODES'],
    ['exit-1', 1, 'CONVERTER_FAILED'],
    ['exit-70', 70, 'CONVERTER_FAILED'],
  ])('maps the contract double K2P_DOUBLE_MODE=%s (exit %i) to %s', async (mode, exitCode, code) => {
    const run = await sample('KNIME_io_csv', { K2P_DOUBLE_MODE: mode });
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({ outcome: 'FAILED', exitCode, error: { code } });
    expect(run.report?.stderrTail).toContain('ERROR');
    expect(run.zip).toBeUndefined();
  });

  it('stops a hanging converter (contract double) that ignores SIGTERM: CONVERTER_TIMEOUT, TIMED_OUT', async () => {
    const run = await sample('KNIME_io_csv', {
      K2P_DOUBLE_MODE: 'hang',
      LIMIT_CONVERTER_TIMEOUT_SECONDS: '1',
      RUNNER_KILL_GRACE_SECONDS: '0.5',
    });
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({
      outcome: 'TIMED_OUT',
      exitCode: null,
      error: { code: 'CONVERTER_TIMEOUT', details: { signal: 'SIGKILL' } },
    });
    expect(run.report?.stderrTail).toContain('ignoring SIGTERM');
    expect(run.elapsedMs).toBeLessThan(8000);
  });

  it('caps a stdout flood (contract double) and fails with CONVERTER_FAILED', async () => {
    const run = await sample('KNIME_io_csv', { K2P_DOUBLE_MODE: 'flood-stdout' });
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'CONVERTER_FAILED' } });
    expect(run.report?.error?.message).toContain('standard output');
    const finished = run.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'converter finished');
    expect(finished.stopped).toBe('stdout-limit');
    expect(run.elapsedMs).toBeLessThan(10_000);
  });

  it('stops a converter (contract double) that keeps writing past the output limit', async () => {
    const run = await sample('KNIME_io_csv', { K2P_DOUBLE_MODE: 'huge-output', LIMIT_MAX_OUTPUT_BYTES: String(1024 ** 2) });
    expect(run.report).toMatchObject({
      outcome: 'FAILED',
      exitCode: null,
      error: { code: 'CONVERTER_FAILED', details: { maxOutputBytes: 1024 ** 2, signal: 'SIGTERM' } },
    });
    expect(run.zip).toBeUndefined();
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(readdirSync(run.scratch)).toEqual([]);
  });

  it('rejects outputs over the limit even when the converter (contract double) finished before a check', async () => {
    const run = await sample('KNIME_io_csv', {
      K2P_DOUBLE_MODE: 'huge-output',
      K2P_DOUBLE_HUGE_BYTES: String(3 * 1024 ** 2),
      LIMIT_MAX_OUTPUT_BYTES: String(1024 ** 2),
    });
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'CONVERTER_FAILED' } });
    expect(run.zip).toBeUndefined();
  });

  it('fails with RUNNER_FAILED when the converter command does not exist', async () => {
    const run = await sample('KNIME_io_csv', { K2P_COMMAND: '/nonexistent/k2p' });
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' } });
    expect(run.report?.error?.message).toContain('ENOENT');
  });

  it('gives the converter no presigned URL and a TMPDIR/HOME inside scratch', async () => {
    const dumpEnv = `node -e "console.error(JSON.stringify(process.env)); process.exit(1)"`;
    const run = await sample('KNIME_io_csv', { K2P_COMMAND: dumpEnv });
    const seen = JSON.parse(run.report?.stderrTail ?? '{}');
    expect(Object.keys(seen)).not.toEqual(expect.arrayContaining(['INPUT_URL']));
    for (const name of ['INPUT_URL', 'RESULT_URL', 'REPORT_URL', 'INPUT_SHA256', 'JOB_ID', 'LOG_URL'])
      expect(seen).not.toHaveProperty(name);
    expect(seen).toMatchObject({ TMPDIR: 'tmp', HOME: 'home' }); // rewritten from the run directory
    expect(run.report?.stderrTail).not.toContain(FAKE_SIGNATURE);
  });

  it('records a null converter version when the version command fails (contract double)', async () => {
    const run = await sample('KNIME_single_csv', { K2P_VERSION_COMMAND: 'false' });
    expect(run.report?.converter).toEqual({ command: DOUBLE, version: null, image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11' });
  });
});

describe('runner: reporting (contract double)', () => {
  it('exits non-zero when report.json cannot be uploaded', async () => {
    const key = 'results/unwritable/report.json';
    server.fail(key, 403);
    const run = await sample('KNIME_io_csv', { REPORT_URL: server.url(key) });
    expect(run.exitCode).not.toBe(0);
    expect(run.logs.some((l) => l.includes('could not upload report.json'))).toBe(true);
  });

  it('reports RUNNER_FAILED (and exits 0) when result.zip cannot be uploaded', async () => {
    const key = 'results/unwritable/result.zip';
    server.fail(key, 403);
    const run = await sample('KNIME_io_csv', { RESULT_URL: server.url(key) });
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' }, exitCode: 0 });
    expect(run.report?.summary.files).toEqual([]);
  });

  it('still reports when misconfigured, and exits 1 when it cannot', async () => {
    const run = await sample('KNIME_io_csv', { INPUT_URL: undefined, K2P_GRAPH: 'svg' });
    expect(run.exitCode).toBe(0);
    expect(run.report).toMatchObject({ outcome: 'FAILED', error: { code: 'RUNNER_FAILED' } });
    expect(run.report?.error?.details?.problems).toHaveLength(2);
    const unreported = await sample('KNIME_io_csv', { INPUT_URL: undefined, REPORT_URL: undefined });
    expect(unreported.exitCode).toBe(1);
  });

  it('still reports, and exits 0, when log.txt cannot be uploaded', async () => {
    const key = 'results/unwritable/log.txt';
    server.fail(key, 403);
    const run = await sample('KNIME_io_csv', { LOG_URL: server.url(key) });
    expect(run.exitCode).toBe(0);
    expect(run.report).toBeDefined();
    expect(run.logs.some((l) => l.includes('could not upload log.txt'))).toBe(true);
  });

  it('bounds log.txt at 1 MiB, head and tail kept, and scrubs what a converter printed of secrets', async () => {
    // A stand-in converter command (not knime2py, not the contract double): secrets, then 3 MiB of stderr, then an end line.
    const script = [
      "const s = 'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F1&X-Amz-Signature=deadbeef';",
      "console.error('url ' + s); console.error('Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=cafe');",
      "console.error('x-api-key: k2p-secret-key-value'); console.error('key ASIAIOSFODNN7EXAMPLE in a line');",
      "process.stderr.write('x'.repeat(3 * 1024 * 1024) + '\\nTHE END\\n', () => process.exit(1));",
    ].join(' ');
    const run = await sample('KNIME_io_csv', { K2P_COMMAND: `node -e "${script}"` });
    const log = run.log ?? '';
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(1024 * 1024);
    expect(log).toMatch(/\[k2p-web: \d+ bytes of the log left out here\]/);
    expect(log).toContain('THE END');
    expect(log).toContain('url https://b.s3.amazonaws.com/k?<redacted>');
    expect(log).toContain('Authorization: <redacted>');
    expect(log).toContain('x-api-key: <redacted>');
    expect(log).toContain('key <redacted AWS key id> in a line');
    for (const secret of ['deadbeef', 'cafe', 'k2p-secret-key-value', 'AKIAIOSFODNN7EXAMPLE', 'ASIAIOSFODNN7EXAMPLE'])
      expect(log).not.toContain(secret);
    expect(log).toMatch(/== knime2py exited with code 1 after \d+ ms ==/);
  });

  it('logs JSON lines with the job id, never signatures or settings contents', async () => {
    const run = await sample('discounts', { K2P_DOUBLE_MODE: 'write-outside' });
    expect(run.logs.length).toBeGreaterThan(4);
    for (const line of run.logs) {
      const entry = JSON.parse(line);
      expect(entry.jobId).toBe(run.report?.jobId);
      expect(line).not.toContain(FAKE_SIGNATURE);
      expect(line).not.toContain('/Users/');
      expect(line).not.toContain('discounts.csv');
    }
  });
});
