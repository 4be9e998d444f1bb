/**
 * `k2p-web convert` over a whole workspace: root discovery on real folders and
 * .knwf archives, and the conversion of many workflows through the real
 * command against the TEST DOUBLE of the jobs API (test/doubles/jobs-api-double.ts)
 * with a fake clock (waits are counted, never slept): bounded concurrency as
 * the service sees it, RATE_LIMITED with Retry-After waited out, the summary
 * on stdout, progress on stderr (live on a TTY, plain otherwise), Ctrl-C.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../core/api-client';
import type { CliIO } from '../../cli/command';
import { createConvertCommand } from '../../cli/commands/convert';
import type { WorkflowOutcome } from '../../cli/convert-workspace';
import { InterruptedError, type RemoteDeps } from '../../cli/remote';
import { discoverWorkflows } from '../../cli/workspace';
import { DOUBLE_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';
import { bundleFiles, SAMPLES_DIR } from '../support/samples';

const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-workspace-'));
let api: JobsApiDouble;
let run = 0;

beforeAll(async () => {
  api = await startJobsApiDouble();
});
afterEach(() => {
  api.refusals.length = 0;
  api.outcomes.length = 0;
  api.onPoll = undefined;
  api.onRequest = undefined;
});
afterAll(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A clock whose sleeps only move time on, recording each. */
function fakeClock(sleeps: number[] = []): Clock {
  let now = Date.parse('2024-05-01T12:00:00Z');
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
      // Lets the other workflows' requests interleave, as real waits would.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

interface Captured {
  io: CliIO;
  stdout(): string;
  stderr(): string;
}

function sink(isTTY: boolean, onText: (text: string) => void): Writable & { isTTY: boolean; columns: number } {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      onText(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { isTTY, columns: 120 });
}

function capture(options: { tty?: boolean; env?: Record<string, string> } = {}): Captured {
  let out = '';
  let err = '';
  const cwd = join(scratch, `run-${++run}`);
  mkdirSync(cwd, { recursive: true });
  return {
    io: { stdout: sink(false, (t) => (out += t)), stderr: sink(options.tty ?? false, (t) => (err += t)), env: options.env ?? {}, cwd },
    stdout: () => out,
    stderr: () => err,
  };
}

function deps(options: { controller?: AbortController; sleeps?: number[] } = {}): RemoteDeps {
  const controller = options.controller ?? new AbortController();
  return {
    clock: fakeClock(options.sleeps),
    random: () => 0.5,
    extraRoots: [],
    interrupts: () => ({ signal: controller.signal, dispose: () => {} }),
  };
}

const target = (key = DOUBLE_KEY) => ['--api', api.url, '--key', key];

function copySample(name: string, to: string): void {
  cpSync(join(SAMPLES_DIR, name), to, { recursive: true });
}

/** A .knwf-like export: each sample's bundle files below a top folder of the given name. */
function exportOf(folders: Record<string, string>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [top, sample] of Object.entries(folders))
    for (const [path, data] of bundleFiles(join(SAMPLES_DIR, sample))) entries[`${top}/${path}`] = data;
  return zipSync(entries);
}

/**
 * ws/Alpha (one node), ws/group/Nested (a metanode and a component inside),
 * ws/group/Alpha (same name as another), ws/Exported.knwf, and a .knwf inside
 * a workflow's folder (its data, not another workflow).
 */
function workspace(parent: string): string {
  const ws = join(parent, 'ws');
  copySample('KNIME_single_csv', join(ws, 'Alpha'));
  copySample('_synthetic_nested', join(ws, 'group', 'Nested'));
  copySample('KNIME_io_csv', join(ws, 'group', 'Alpha'));
  writeFileSync(join(ws, 'Exported.knwf'), exportOf({ Exported: 'KNIME_two_graphs' }));
  mkdirSync(join(ws, 'Alpha', 'data'));
  writeFileSync(join(ws, 'Alpha', 'data', 'old.knwf'), exportOf({ Old: 'KNIME_io_csv' }));
  return ws;
}

describe('workflow roots of a workspace', () => {
  it('finds every top-most workflow folder and the exports outside them; metanodes and components are not roots', async () => {
    const c = capture();
    const ws = workspace(c.io.cwd);
    const found = await discoverWorkflows(['ws'], c.io.cwd);
    expect(found.map((w) => w.label)).toEqual(['ws/Alpha', 'ws/group/Alpha', 'ws/group/Nested', 'ws/Exported.knwf']);
    expect(found.map((w) => w.path)).toEqual([
      join(ws, 'Alpha'),
      join(ws, 'group', 'Alpha'),
      join(ws, 'group', 'Nested'),
      join(ws, 'Exported.knwf'),
    ]);
    expect(found.map((w) => w.name)).toEqual(['Alpha', 'Alpha', 'Nested', 'Exported']);
    // Two workflows named Alpha: distinct result files.
    expect(found.map((w) => w.resultName)).toEqual(['Alpha-k2p.zip', 'Alpha-2-k2p.zip', 'Nested-k2p.zip', 'Exported-k2p.zip']);
  });

  it('takes several inputs — a .knwf among folders — each once, in the order given', async () => {
    const c = capture();
    workspace(c.io.cwd);
    const found = await discoverWorkflows(['ws/Exported.knwf', 'ws/group/Nested', 'ws/Alpha/workflow.knime', 'ws/group/Nested'], c.io.cwd);
    expect(found.map((w) => w.label)).toEqual(['ws/Exported.knwf', 'ws/group/Nested', 'ws/Alpha']);
  });

  it('splits an export holding several workflows into one input per workflow', async () => {
    const c = capture();
    writeFileSync(join(c.io.cwd, 'two.knwf'), exportOf({ One: 'KNIME_single_csv', Two: 'KNIME_io_csv' }));
    const found = await discoverWorkflows(['two.knwf'], c.io.cwd);
    expect(found.map((w) => [w.label, w.root, w.name])).toEqual([
      ['two.knwf/One', 'One', 'One'],
      ['two.knwf/Two', 'Two', 'Two'],
    ]);
  });

  it('a workflow folder given itself is one workflow', async () => {
    const c = capture();
    const found = await discoverWorkflows([join(SAMPLES_DIR, '_synthetic_nested')], c.io.cwd);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ name: '_synthetic_nested', resultName: '_synthetic_nested-k2p.zip' });
  });
});

function parseLines(stdout: string): WorkflowOutcome[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as WorkflowOutcome);
}

describe('k2p-web convert <workspace>', () => {
  it('converts every workflow, writes each result into --out and prints the summary; a failure makes the exit status 1', async () => {
    const c = capture();
    workspace(c.io.cwd);
    // Creation order follows the run: the second workflow's job is rejected by the service.
    api.outcomes.push({ status: 'SUCCEEDED' }, { status: 'REJECTED', error: { code: 'SETTINGS_MISSING' } });
    const code = await createConvertCommand(deps()).run(['ws', '--out', 'results', '--concurrency', '1', ...target()], c.io);
    expect(code).toBe(1);
    const out = c.stdout();
    const [header, ...rows] = out.split('\n');
    expect(header).toMatch(/^WORKFLOW +STATE +CODE +NODES +NOT CONVERTED +TIME$/);
    expect(rows[0]).toMatch(/^ws\/Alpha +SUCCEEDED +- +1 +0 +\d+\.\d s$/);
    expect(rows[1]).toMatch(/^ws\/group\/Alpha +REJECTED +SETTINGS_MISSING +2 +- +\d+\.\d s$/);
    expect(rows[2]).toMatch(/^ws\/group\/Nested +SUCCEEDED /);
    expect(rows[3]).toMatch(/^ws\/Exported\.knwf +SUCCEEDED /);
    expect(out).toContain('4 workflows: 3 succeeded, 1 failed.');
    for (const name of ['Alpha-k2p.zip', 'Nested-k2p.zip', 'Exported-k2p.zip'])
      expect(Object.keys(unzipSync(new Uint8Array(readFileSync(join(c.io.cwd, 'results', name)))))).toContain('report.json');
    expect(existsSync(join(c.io.cwd, 'results', 'Alpha-2-k2p.zip'))).toBe(false);
    // Progress is on stderr, one plain line per event (stderr is not a terminal).
    const err = c.stderr();
    expect(err).toContain('[2/4] ws/group/Alpha: Bundling');
    expect(err).toMatch(/✖ \[2\/4\] ws\/group\/Alpha: REJECTED SETTINGS_MISSING in/);
    expect(err).not.toContain('\x1b');
    expect(out).not.toContain('Bundling');
  });

  it('--json prints one JSON object per workflow on stdout and nothing else; a bundle refused here is REJECTED, never uploaded', async () => {
    const c = capture();
    copySample('KNIME_single_csv', join(c.io.cwd, 'ws', 'Good'));
    mkdirSync(join(c.io.cwd, 'ws', 'Broken'), { recursive: true });
    // References a node folder that is not there: the bundler refuses it before any upload.
    const broken = readFileSync(join(SAMPLES_DIR, 'KNIME_io_csv', 'workflow.knime'));
    writeFileSync(join(c.io.cwd, 'ws', 'Broken', 'workflow.knime'), broken);
    const created = api.jobs.size;
    const code = await createConvertCommand(deps()).run(['ws', '--json', ...target()], c.io);
    expect(code).toBe(1);
    const lines = parseLines(c.stdout());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      ok: false,
      workflow: 'Broken',
      input: 'ws/Broken',
      state: 'REJECTED',
      code: 'SETTINGS_MISSING',
      uploaded: false,
    });
    expect(lines[0]!.jobId).toBeUndefined();
    expect(lines[1]).toMatchObject({ ok: true, workflow: 'Good', state: 'SUCCEEDED', nodes: 1, notConverted: 0, uploaded: true });
    expect(lines[1]!.output).toBe(join(c.io.cwd, 'Good-k2p.zip'));
    expect(api.jobs.get(lines[1]!.jobId!)?.view.status).toBe('SUCCEEDED');
    expect(api.jobs.size).toBe(created + 1);
  });

  it('never has more of the caller’s jobs in flight on the service than --concurrency', async () => {
    const key = `k2p-workspace-key-${Date.now()}`;
    api.keys.push(key);
    const c = capture();
    const ws = join(c.io.cwd, 'ws');
    for (let i = 0; i < 7; i++) copySample('KNIME_io_csv', join(ws, `Flow${i}`));
    let most = 0;
    // The service's own view: the key's jobs not yet terminal when one more is created.
    api.onRequest = (method, path) => {
      if (method !== 'POST' || path !== '/jobs') return;
      const inFlight = [...api.jobs.values()].filter((job) => job.owner === key && !job.view.terminal).length;
      most = Math.max(most, inFlight + 1);
    };
    const code = await createConvertCommand(deps()).run(['ws', '--concurrency', '2', '--json', ...target(key)], c.io);
    expect(code).toBe(0);
    expect(parseLines(c.stdout()).map((line) => line.state)).toEqual(Array(7).fill('SUCCEEDED'));
    expect(most).toBe(2);
  });

  it('waits out RATE_LIMITED for its Retry-After and retries the same workflow (same Idempotency-Key), never failing it', async () => {
    const sleeps: number[] = [];
    const c = capture();
    const ws = join(c.io.cwd, 'ws');
    for (const name of ['One', 'Two', 'Three']) copySample('KNIME_single_csv', join(ws, name));
    api.refusals.push({ code: 'RATE_LIMITED', retryAfter: 7, details: { limit: 1 } });
    const before = api.requests.length;
    const code = await createConvertCommand(deps({ sleeps })).run(['ws', '--concurrency', '3', ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stdout()).toContain('3 workflows: 3 succeeded, 0 failed.');
    const err = c.stderr();
    expect(err).toMatch(/ws\/\w+: RATE_LIMITED: .* Retrying in 7 s\./);
    // The countdown: seven one-second waits.
    expect(sleeps.filter((ms) => ms === 1000).length).toBeGreaterThanOrEqual(7);
    // The refused workflow was created again with the key of its first try.
    const posts = api.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/jobs');
    expect(posts).toHaveLength(4);
    const keys = posts.map((p) => p.idempotencyKey);
    expect(new Set(keys).size).toBe(3);
    // The limit the service named is the new bound.
    expect(err).toContain('The service allows this API key 1 job in flight: converting 1 at a time.');
  });

  it('does not take a daily limit for a concurrency bound', async () => {
    const c = capture();
    const ws = join(c.io.cwd, 'ws');
    for (const name of ['One', 'Two']) copySample('KNIME_single_csv', join(ws, name));
    api.refusals.push({ code: 'RATE_LIMITED', retryAfter: 2, details: { limit: 1, period: 'day', resetsAt: '2026-12-07T00:00:00.000Z' } });
    const code = await createConvertCommand(deps({ sleeps: [] })).run(['ws', '--concurrency', '2', ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).toMatch(/RATE_LIMITED: .* Retrying in 2 s\./);
    expect(c.stderr()).not.toContain('converting 1 at a time');
  });

  it('draws a live line per workflow on a terminal, and plain lines with TERM=dumb', async () => {
    const live = capture({ tty: true });
    for (const name of ['One', 'Two']) copySample('KNIME_single_csv', join(live.io.cwd, 'ws', name));
    expect(await createConvertCommand(deps()).run(['ws', ...target()], live.io)).toBe(0);
    expect(live.stderr()).toContain('\x1b[J⠿ [1/2] ws/One: ');
    expect(live.stderr()).toContain('\x1b[32m✔\x1b[0m');
    expect(live.stdout()).not.toContain('\x1b');

    const noColor = capture({ tty: true, env: { NO_COLOR: '1' } });
    for (const name of ['One', 'Two']) copySample('KNIME_single_csv', join(noColor.io.cwd, 'ws', name));
    expect(await createConvertCommand(deps()).run(['ws', ...target()], noColor.io)).toBe(0);
    expect(noColor.stderr()).toContain('⠿');
    expect(noColor.stderr()).not.toContain('\x1b[32m');

    const dumb = capture({ tty: true, env: { TERM: 'dumb' } });
    for (const name of ['One', 'Two']) copySample('KNIME_single_csv', join(dumb.io.cwd, 'ws', name));
    expect(await createConvertCommand(deps()).run(['ws', ...target()], dumb.io)).toBe(0);
    expect(dumb.stderr()).not.toContain('\x1b');
    expect(dumb.stderr()).toContain('[1/2] ws/One: Bundling\n');
  });

  it('Ctrl-C starts no more workflows and says which were in flight (exit 130)', async () => {
    const controller = new AbortController();
    const c = capture();
    for (let i = 0; i < 5; i++) copySample('KNIME_single_csv', join(c.io.cwd, 'ws', `Flow${i}`));
    api.onPoll = (job) => {
      if (job.view.status === 'QUEUED') controller.abort(new InterruptedError());
    };
    const code = await createConvertCommand(deps({ controller })).run(['ws', '--concurrency', '2', '--json', ...target()], c.io);
    expect(code).toBe(130);
    const lines = parseLines(c.stdout());
    expect(lines.filter((l) => l.state === 'NOT_STARTED')).toHaveLength(3);
    const inFlight = lines.filter((l) => l.state === 'INTERRUPTED');
    expect(inFlight).toHaveLength(2);
    expect(c.stderr()).toContain('Interrupted: 3 workflows not started; 2 in flight:');
    for (const line of inFlight) expect(c.stderr()).toContain(`\`k2p-web status ${line.jobId}\``);
  });

  it('one workflow keeps the single-workflow form: its report on stdout; --out names the folder for the result', async () => {
    const c = capture();
    mkdirSync(join(c.io.cwd, 'exports'));
    writeFileSync(join(c.io.cwd, 'exports', 'Exported.knwf'), exportOf({ Exported: 'KNIME_io_csv' }));
    // A folder holding one export: that export is the workflow.
    const code = await createConvertCommand(deps()).run(['exports', '--out', 'results', ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).toMatch(/Bundled Exported: \d+ files, 2 nodes/);
    expect(c.stdout()).toMatch(/^✔ Wrote results\/Exported-k2p\.zip \(/);
    expect(c.stdout()).not.toContain('WORKFLOW');
    expect(existsSync(join(c.io.cwd, 'results', 'Exported-k2p.zip'))).toBe(true);
  });

  it('keeps a folder without any workflow as an input that fails with WORKFLOW_MISSING', async () => {
    const c = capture();
    copySample('KNIME_single_csv', join(c.io.cwd, 'Good'));
    mkdirSync(join(c.io.cwd, 'Empty'));
    const code = await createConvertCommand(deps()).run(['Good', 'Empty', '--json', ...target()], c.io);
    expect(code).toBe(1);
    expect(parseLines(c.stdout()).map((l) => [l.input, l.state, l.code ?? null])).toEqual([
      ['Good', 'SUCCEEDED', null],
      ['Empty', 'REJECTED', 'WORKFLOW_MISSING'],
    ]);
  });

  it('refuses -o with several workflows and a bad --concurrency', async () => {
    const c = capture();
    workspace(c.io.cwd);
    const convert = createConvertCommand(deps());
    await expect(convert.run(['ws', '-o', 'x.zip', ...target()], c.io)).rejects.toThrow(/--out <folder> for several workflows/);
    await expect(convert.run(['ws', '--concurrency', '0', ...target()], c.io)).rejects.toThrow(/--concurrency must be a whole number/);
    await expect(convert.run(['ws/Alpha', 'ws/group', '--root', 'Alpha', ...target()], c.io)).rejects.toThrow(/--root picks/);
  });
});
