/**
 * Workspace benchmark: the 7 sample workflows converted through ONE
 * `k2p-web convert <folder of 7> --out …` (the real binary, as a user runs it)
 * against local mode with the real knime2py, against knime2py run directly on
 * the same 7, one after the other, in the same run. Reports both totals, the
 * overhead per workflow and the ratio. Needs K2P_SOURCE (a knime2py release
 * folder); without it the row is skipped with a message.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, startE2e } from '../test/e2e/support';
import { SAMPLES_DIR } from '../test/support/samples';
import { printTable } from './report';

const PYTHON = '/usr/bin/python3';
const CLI = join(ROOT, 'cli', 'k2p-web.mjs');
/** The goal: what a workflow may cost through the service beyond knime2py's own run. */
const GOAL_SECONDS_PER_WORKFLOW = 0.5;

function samples(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((name) => statSync(join(SAMPLES_DIR, name)).isDirectory())
    .sort();
}

/** Runs a process to its end and returns its wall time in seconds; never spawnSync: local mode answers from this process. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(command, args, { env, cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message}):\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
  return (performance.now() - started) / 1000;
}

export async function runWorkspaceBench(): Promise<void> {
  console.log('\n## Workspace: the sample workflows through one `k2p-web convert <folder>` vs knime2py directly');
  const source = process.env.K2P_SOURCE?.trim();
  if (!source) {
    console.log('SKIPPED: set K2P_SOURCE to a knime2py release folder (e.g. K2P_SOURCE=/path/to/knime2py-0.1.11 npm run bench).');
    return;
  }
  const names = samples();
  const scratch = mkdtempSync(join(tmpdir(), 'k2p-bench-workspace-'));
  const pythonEnv = { ...process.env, PYTHONPATH: join(resolve(source), 'src') };
  // The CLI as installed: bundled into dist/ (what `npm ci` leaves), not through tsx.
  await run(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], process.env);
  const e2e = await startE2e({ ...process.env, K2P_SOURCE: source });
  try {
    const cliEnv = { ...process.env, K2P_API_URL: e2e.stack.urls.api, K2P_API_KEY: e2e.stack.keys.cli.value };
    // Warm-up of both paths (the first conversion pays for Python's and the stand-ins' cold start).
    await run(PYTHON, ['-m', 'knime2py', join(SAMPLES_DIR, names[0]!), '--out', join(scratch, 'warm-direct')], pythonEnv);
    await run(process.execPath, [CLI, 'convert', join(SAMPLES_DIR, names[0]!), '-o', join(scratch, 'warm.zip')], cliEnv);

    let direct = 0;
    for (const name of names)
      direct += await run(PYTHON, ['-m', 'knime2py', join(SAMPLES_DIR, name), '--out', join(scratch, 'direct', name)], pythonEnv);
    const throughCli = await run(process.execPath, [CLI, 'convert', SAMPLES_DIR, '--out', join(scratch, 'cli')], cliEnv);

    const count = names.length;
    const overhead = (throughCli - direct) / count;
    printTable(
      ['path', 'workflows', 'total s', 's per workflow'],
      [
        ['knime2py directly, one after the other', String(count), direct.toFixed(2), (direct / count).toFixed(2)],
        [
          'k2p-web convert <folder> (local mode, default concurrency)',
          String(count),
          throughCli.toFixed(2),
          (throughCli / count).toFixed(2),
        ],
      ],
    );
    console.log(
      `overhead per workflow: ${overhead.toFixed(2)} s (goal ≤ ${GOAL_SECONDS_PER_WORKFLOW} s: ${overhead <= GOAL_SECONDS_PER_WORKFLOW ? 'met' : 'not met'}); ` +
        `ratio k2p-web / knime2py: ${(throughCli / direct).toFixed(2)}×`,
    );
  } finally {
    await e2e.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
