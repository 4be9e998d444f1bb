/**
 * `k2p-web convert` over a folder of workflows, end to end: the real command
 * against local mode with the real knime2py (test/support/real-converter.ts).
 * The folder holds workflows that convert, one the converter fails on (a
 * well-formed workflow.knime that is no KNIME workflow: knime2py exits 3) and
 * one the bundle check refuses before upload (a node's settings.xml missing).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CliIO } from '../../cli/command';
import { createConvertCommand } from '../../cli/commands/convert';
import type { WorkflowOutcome } from '../../cli/convert-workspace';
import { captureIO, type CapturedIO } from '../support/cli-io';
import { describeWithRealConverter, findRealConverter } from '../support/real-converter';
import { SAMPLES_DIR } from '../support/samples';
import { startE2e, type E2e } from './support';

const real = await findRealConverter();

/** Not a KNIME workflow, yet well-formed XML with no references: it passes the bundle policy and knime2py refuses it. */
const NOT_A_WORKFLOW = `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="workflow.knime">
<entry key="created_by" type="xstring" value="5.2.0"/>
</config>
`;

describeWithRealConverter('k2p-web convert <folder of workflows> against local mode with the real knime2py', real, (converter) => {
  let e2e: E2e;
  const scratch = mkdtempSync(join(tmpdir(), 'k2p-e2e-cli-'));

  beforeAll(async () => {
    e2e = await startE2e(converter.localModeEnv);
  }, 600_000);

  afterAll(async () => {
    await e2e?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function capture(name: string): CapturedIO {
    const cwd = join(scratch, name);
    mkdirSync(cwd, { recursive: true });
    return captureIO({}, cwd);
  }

  function convert(args: string[], io: CliIO): Promise<number> {
    const command = createConvertCommand({
      extraRoots: [],
      interrupts: () => ({ signal: new AbortController().signal, dispose: () => {} }),
    });
    return command.run([...args, '--api', e2e.stack.urls.api, '--key', e2e.stack.keys.cli.value], io);
  }

  function workspace(cwd: string, samples: Record<string, string>): string {
    const ws = join(cwd, 'ws');
    for (const [folder, sample] of Object.entries(samples)) cpSync(join(SAMPLES_DIR, sample), join(ws, folder), { recursive: true });
    mkdirSync(join(ws, 'Broken'), { recursive: true });
    writeFileSync(join(ws, 'Broken', 'workflow.knime'), NOT_A_WORKFLOW);
    return ws;
  }

  it('prints the summary table on stdout, writes a result per workflow that converted, and exits 1', async () => {
    const c = capture('table');
    const ws = workspace(c.io.cwd, { KNIME_single_csv: 'KNIME_single_csv', 'group/Nested': '_synthetic_nested' });
    // A workflow whose node folder lacks its settings.xml: refused here, never uploaded.
    mkdirSync(join(ws, 'Missing'));
    writeFileSync(join(ws, 'Missing', 'workflow.knime'), readFileSync(join(SAMPLES_DIR, 'KNIME_io_csv', 'workflow.knime')));
    const code = await convert(['ws', '--out', 'out'], c.io);
    expect(code, c.stderr()).toBe(1);
    const [header, ...rows] = c.stdout().split('\n');
    expect(header).toMatch(/^WORKFLOW +STATE +CODE +NODES +NOT CONVERTED +TIME$/);
    expect(rows.slice(0, 4)).toEqual([
      expect.stringMatching(/^ws\/Broken +FAILED +CONVERTER_PARSE_ERROR +0 +- +[\d.]+ s$/),
      expect.stringMatching(/^ws\/KNIME_single_csv +SUCCEEDED +- +1 +0 +[\d.]+ s$/),
      expect.stringMatching(/^ws\/Missing +REJECTED +SETTINGS_MISSING +- +- +[\d.]+ s$/),
      expect.stringMatching(/^ws\/group\/Nested +SUCCEEDED +- +3 +\d+ +[\d.]+ s$/),
    ]);
    expect(c.stdout()).toContain('4 workflows: 2 succeeded, 2 failed.');
    expect(existsSync(join(c.io.cwd, 'out', 'KNIME_single_csv-k2p.zip'))).toBe(true);
    expect(existsSync(join(c.io.cwd, 'out', 'Nested-k2p.zip'))).toBe(true);
    expect(existsSync(join(c.io.cwd, 'out', 'Broken-k2p.zip'))).toBe(false);
    // Progress went to stderr, plainly: it is not a terminal.
    expect(c.stderr()).toMatch(/✖ \[1\/4\] ws\/Broken: FAILED CONVERTER_PARSE_ERROR in/);
    expect(c.stderr()).not.toContain('\x1b');
  }, 300_000);

  it('--json: one object per workflow; never more jobs in flight at once, as the service records them, than --concurrency', async () => {
    const c = capture('json');
    workspace(c.io.cwd, { A: 'KNIME_io_csv', B: 'KNIME_two_graphs', C: 'KNIME_traverse_order', D: 'discounts' });
    const code = await convert(['ws', '--json', '--concurrency', '2'], c.io);
    expect(code, c.stderr()).toBe(1);
    const lines = c
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WorkflowOutcome);
    expect(lines.map((l) => [l.workflow, l.state, l.code ?? null, l.nodes])).toEqual([
      ['A', 'SUCCEEDED', null, 2],
      ['B', 'SUCCEEDED', null, 4],
      ['Broken', 'FAILED', 'CONVERTER_PARSE_ERROR', 0],
      ['C', 'SUCCEEDED', null, 13],
      ['D', 'SUCCEEDED', null, 2],
    ]);
    for (const line of lines.filter((l) => l.ok)) expect(existsSync(line.output!)).toBe(true);
    // Each job's life on the service, created → finished; at no moment more than two overlap.
    const jobs = await Promise.all(lines.map((line) => e2e.client.getJob(line.jobId!)));
    const events = jobs.flatMap((job) => [
      { at: Date.parse(job.createdAt), delta: 1 },
      { at: Date.parse(job.finishedAt!), delta: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let open = 0;
    let most = 0;
    for (const event of events) most = Math.max(most, (open += event.delta));
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);
  }, 300_000);
});
