/**
 * Local mode killed with SIGKILL mid-conversion (contract double hanging): no runner or converter process
 * outlives it, and the next start on the same data dir finishes the job (FAILED, RUNNER_FAILED) within
 * 30 s and leaves no capacity slot held.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, expect, it } from 'vitest';
import { ApiClient } from '../../core/api-client';
import { uploadToPresignedPost } from '../../core/node/upload';
import { DATA_LAYOUT } from '../../local/host/data-dir';
import { startLocalStack, type LocalStack } from '../../local/host/local-stack';
import { descendants, isAlive, waitUntilGone } from '../../local/host/processes';
import { bundleWithMode, CONTRACT_DOUBLE_ENV, ROOT, STACK_NAME, synthE2e } from './support';

let dataDir = '';
let child: ChildProcess | undefined;
let restarted: LocalStack | undefined;

afterEach(async () => {
  if (child?.pid && isAlive(child.pid)) child.kill('SIGKILL');
  await restarted?.close();
  restarted = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts local mode in a child process; resolves with its API once it serves. */
async function startChild(cdkOut: string, sandbox: string): Promise<{ api: string; cliKey: string }> {
  child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'e2e', 'local-mode-process.ts'), cdkOut, STACK_NAME, dataDir, sandbox],
    {
      cwd: ROOT,
      env: CONTRACT_DOUBLE_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { api: string; cliKey: string });
    });
    child!.once('exit', (code) => reject(new Error(`local mode exited (${code}) before serving:\n${stderr}`)));
  });
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

// Sandboxed tasks (bubblewrap, where it works here) and plain processes (--sandbox none) alike.
it.each(['auto', 'none'] as const)(
  'kill -9 of local mode mid-conversion (sandbox %s): nothing outlives it, and the restart fails the job and frees its slots',
  async (sandbox) => {
    dataDir = mkdtempSync(join(tmpdir(), 'k2p-e2e-crash-'));
    const cdkOut = await synthE2e();
    const ready = await startChild(cdkOut, sandbox);
    const client = new ApiClient({ baseUrl: ready.api, apiKey: ready.cliKey });
    const { job, upload } = await client.createJob({ filename: 'crash.zip' });
    await uploadToPresignedPost(upload!, bundleWithMode('hang'));

    // The running task's record names its process; wait until the hanging converter runs below it.
    const records = join(dataDir, DATA_LAYOUT.tasks);
    let tree: number[] = [];
    for (let i = 0; i < 600 && !tree.some((pid) => cmdline(pid).includes('k2p-double.mjs')); i++) {
      const files = existsSync(records) ? readdirSync(records) : [];
      const runner = files[0] && (JSON.parse(readFileSync(join(records, files[0]), 'utf8')) as { pid: number }).pid;
      tree = runner ? [runner, ...descendants(runner)] : [];
      if (!tree.some((pid) => cmdline(pid).includes('k2p-double.mjs'))) await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      tree.some((pid) => cmdline(pid).includes('k2p-double.mjs')),
      'the converter never started',
    ).toBe(true);
    expect((await client.getJob(job.jobId)).status).toBe('RUNNING');

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    // The runner and the converter die with local mode, not at its next start.
    await waitUntilGone(() => [child!.pid!, ...tree], 5000);

    const started = Date.now();
    restarted = await startLocalStack({
      cdkOut,
      synth: 'never',
      stackName: STACK_NAME,
      dataDir,
      portBase: 0,
      controllableClock: true,
      schedules: false,
      converterEnv: CONTRACT_DOUBLE_ENV,
      sandbox,
    });
    const again = new ApiClient({ baseUrl: restarted.urls.api, apiKey: restarted.keys.cli.value });
    const done = await again.followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.code).toBe('RUNNER_FAILED');
    expect(readdirSync(records)).toEqual([]);

    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: restarted.urls.dynamodb, region: restarted.model.names.region, credentials: restarted.credentials }),
    );
    const items = [];
    for (const { name } of restarted.model.tables) items.push(...((await ddb.send(new ScanCommand({ TableName: name }))).Items ?? []));
    const ledgers = items.filter((item) => 'inFlight' in item);
    expect(ledgers.length).toBeGreaterThan(0);
    for (const ledger of ledgers) {
      expect(Number(ledger.inFlight), String(ledger.pk)).toBe(0);
      expect(ledger.holders ? [...(ledger.holders as Set<string>)] : []).toEqual([]);
    }
  },
  240_000,
);
