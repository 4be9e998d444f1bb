/**
 * `k2p-web convert | jobs | status` through their real `run(args, io)` with a
 * captured io, against the TEST DOUBLE of the jobs API
 * (test/doubles/jobs-api-double.ts) and a fake clock (polls never wait).
 * One test runs the real binary; it is skipped until cli/main.ts registers
 * the commands.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { buildBundle } from '../../core/bundler';
import { folderSource } from '../../core/node/bundle-source';
import { UsageError, type CliIO } from '../../cli/command';
import { createConvertCommand } from '../../cli/commands/convert';
import { createJobsCommand } from '../../cli/commands/jobs';
import { createLogsCommand } from '../../cli/commands/logs';
import { createStatusCommand } from '../../cli/commands/status';
import { maskKey } from '../../cli/local-stack';
import { InterruptedError, type RemoteDeps } from '../../cli/remote';
import { DOUBLE_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';
import { bundleWithDataFile, FIXTURE_SAMPLES, sampleBundle } from '../support/job-fixtures';

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'k2p-web.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-convert-'));
let api: JobsApiDouble;
let run = 0;

beforeAll(async () => {
  api = await startJobsApiDouble();
});
afterEach(() => {
  api.faults.length = 0;
  api.refusals.length = 0;
  api.outcomes.length = 0;
  api.onPoll = undefined;
  api.onRequest = undefined;
  api.longPoll = false;
});
afterAll(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
  rmSync(scratch, { recursive: true, force: true });
});

function fakeClock(): Clock {
  let now = Date.parse('2024-05-01T12:00:00Z');
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
    },
  };
}

interface Captured {
  io: CliIO;
  stdout(): string;
  stderr(): string;
}

/** A CliIO whose output is kept; a fresh working folder per call, so downloads never collide. */
function capture(options: { tty?: boolean; env?: Record<string, string>; cwd?: string } = {}): Captured {
  let out = '';
  let err = '';
  const stdout = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    }),
    { isTTY: options.tty ?? false },
  );
  const stderr = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        err += String(chunk);
        done();
      },
    }),
    { isTTY: options.tty ?? false },
  );
  const cwd = options.cwd ?? join(scratch, `run-${++run}`);
  mkdirSync(cwd, { recursive: true });
  return { io: { stdout, stderr, env: options.env ?? {}, cwd }, stdout: () => out, stderr: () => err };
}

function deps(controller = new AbortController()): RemoteDeps {
  return { clock: fakeClock(), random: () => 0.5, extraRoots: [], interrupts: () => ({ signal: controller.signal, dispose: () => {} }) };
}

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The escape character the TTY redraws start with. */
const ESC = String.fromCharCode(27);

const target = () => ['--api', api.url, '--key', DOUBLE_KEY];
const sample = (name: string) => join(FIXTURE_SAMPLES, name);

function lastJob(): JobView {
  return [...api.jobs.values()].at(-1)!.view;
}

describe('k2p-web convert', () => {
  it('bundles a workflow folder, uploads it, follows the stages and downloads <Workflow>-k2p.zip', async () => {
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(0);
    // Progress on stderr, the result on stdout.
    const err = c.stderr();
    const out = c.stdout();
    expect(err).toContain(`API ${api.url} (flag), key ${maskKey(DOUBLE_KEY)}`);
    expect(err).toMatch(/Bundled KNIME_single_csv: \d+ files, 1 node,/);
    for (const stage of ['Uploading', 'Validating', 'Queued', 'Converting']) expect(err).toMatch(new RegExp(`✔ ${stage} +\\d`));
    expect(err).toContain('✔ Done        SUCCEEDED in 3.4 s');
    expect(out).not.toMatch(/API |Bundled|✔ Uploading|✔ Done/);
    expect(out).toMatch(/✔ Wrote KNIME_single_csv-k2p\.zip \(\d/);
    expect(out).toContain('Components      1');
    const zip = unzipSync(new Uint8Array(readFileSync(join(c.io.cwd, 'KNIME_single_csv-k2p.zip'))));
    expect(Object.keys(zip)).toContain('report.json');
    // What went up is the bundler's own byte-identical bundle.
    const folder = await folderSource(sample('KNIME_single_csv'));
    const library = await buildBundle(folder.files, { sourceName: folder.name });
    const job = [...api.jobs.values()].at(-1)!;
    expect(library.ok && Buffer.from(library.zip).equals(job.bundle!)).toBe(true);
    expect(job.view).toMatchObject({
      workflowName: 'KNIME_single_csv',
      filename: 'KNIME_single_csv',
      options: { workbook: 'both', graph: 'both' },
    });
    expect(job.uploadFields!.map(([name]) => name)).toEqual(['key', 'Content-Type', 'Policy', 'X-Amz-Signature']);
  });

  it('follows the job with the long poll: every GET asks to wait 20 s and, when honoured, the next one goes at once', async () => {
    api.longPoll = true;
    const clock = fakeClock();
    const sleeps: number[] = [];
    const code = await createConvertCommand({
      ...deps(),
      clock: { now: clock.now, sleep: (ms, signal) => (sleeps.push(ms), clock.sleep(ms, signal)) },
    }).run([sample('KNIME_single_csv'), ...target()], capture().io);
    expect(code).toBe(0);
    const polls = api.requests.filter((r) => r.method === 'GET' && r.path === `/jobs/${lastJob().jobId}`);
    expect(polls.map((r) => r.waitSeconds)).toEqual(['0', '20', '20']);
    expect(sleeps).toEqual([]);
  });

  it('prints the report: components, node counts and the nodes not implemented, by name', async () => {
    api.outcomes.push({
      status: 'SUCCEEDED',
      components: [
        {
          workflowId: 'discounts__g01',
          nodes: 2,
          edges: 1,
          idle: 0,
          notImplementedCount: 1,
          notImplementedNames: ['Line Plot'],
          files: {},
        },
        {
          workflowId: 'discounts__g02',
          nodes: 3,
          edges: 2,
          idle: 1,
          notImplementedCount: 2,
          notImplementedNames: ['Line Plot', 'Normalizer (Apply)'],
          files: {},
        },
      ],
    });
    const c = capture();
    const code = await createConvertCommand(deps()).run(
      [sample('discounts'), ...target(), '--workbook', 'py', '--graph', 'off', '-o', 'out/result.zip'],
      c.io,
    );
    expect(code).toBe(0);
    const out = c.stdout();
    expect(out).toContain('✔ Wrote out/result.zip');
    expect(out).toContain('Components      2');
    expect(out).toContain('Nodes           5 (3 edges, 1 idle, 3 not implemented)');
    expect(out).toContain('discounts__g02: 3 nodes, 2 edges, 1 idle, 2 not implemented: Line Plot, Normalizer (Apply)');
    expect(out).toContain('Not implemented Line Plot (×2), Normalizer (Apply)');
    expect(lastJob().options).toEqual({ workbook: 'py', graph: 'off' });
    expect(existsSync(join(c.io.cwd, 'out', 'result.zip'))).toBe(true);
  });

  it('uploads a .zip that already is a valid bundle as it is', async () => {
    const c = capture();
    const bundle = sampleBundle('KNIME_io_csv');
    writeFileSync(join(c.io.cwd, 'my-bundle.zip'), bundle);
    const code = await createConvertCommand(deps()).run(['my-bundle.zip', ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).toMatch(/Bundle my-bundle\.zip: valid as it is \(\d+ files, 2 nodes/);
    const job = [...api.jobs.values()].at(-1)!;
    expect(Buffer.from(bundle).equals(job.bundle!)).toBe(true);
    expect(job.view.filename).toBe('my-bundle.zip');
    expect(existsSync(join(c.io.cwd, 'my-bundle-k2p.zip'))).toBe(true);
  });

  it('bundles the workflow inside a .zip that is not a bundle as it is (data files left out)', async () => {
    const c = capture();
    writeFileSync(join(c.io.cwd, 'export.zip'), bundleWithDataFile());
    const code = await createConvertCommand(deps()).run(['export.zip', ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).toContain('(export.zip is not a bundle as it is: ZIP_DISALLOWED_FILE)');
    const uploaded = unzipSync(new Uint8Array([...api.jobs.values()].at(-1)!.bundle!));
    expect(Object.keys(uploaded).sort()).toEqual(['CSV Reader (#1)/settings.xml', 'workflow.knime']);
  });

  it('stops before uploading when the workflow cannot be bundled (exit 1, nothing created)', async () => {
    const c = capture();
    const folder = join(c.io.cwd, 'Broken');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'no workflow here');
    const before = api.jobs.size;
    const code = await createConvertCommand(deps()).run([folder, ...target()], c.io);
    expect(code).toBe(1);
    expect(c.stderr()).toContain('cannot bundle');
    expect(c.stderr()).toContain('WORKFLOW_MISSING');
    expect(api.jobs.size).toBe(before);
  });

  it('--json prints one final JSON object on stdout, progress on stderr', async () => {
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target(), '--json'], c.io);
    expect(code).toBe(0);
    const lines = c.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as { ok: boolean; output: string; job: JobView };
    expect(result.ok).toBe(true);
    expect(result.job.status).toBe('SUCCEEDED');
    expect(result.output).toBe(join(c.io.cwd, 'KNIME_single_csv-k2p.zip'));
    expect(c.stderr()).toContain('✔ Converting');
  });

  it('shows a REJECTED bundle’s code, message, missing file and what to do (exit 1)', async () => {
    api.outcomes.push({
      status: 'REJECTED',
      error: {
        code: 'SETTINGS_MISSING',
        message: 'Folder `Row Filter (#3)` is referenced but `Row Filter (#3)/settings.xml` is missing.',
        details: { entry: 'Row Filter (#3)/settings.xml' },
      },
    });
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(1);
    const err = c.stderr();
    expect(err).toContain('✖ REJECTED: SETTINGS_MISSING');
    expect(err).toContain('is missing.');
    expect(err).toContain('missing file: Row Filter (#3)/settings.xml');
    expect(err).toContain('what to do: Include every node folder');
    expect(c.stderr()).toMatch(/✖ Validating +REJECTED after/);
    expect(existsSync(join(c.io.cwd, 'KNIME_single_csv-k2p.zip'))).toBe(false);
  });

  it('shows a conversion failure with the converter’s exit code (exit 1)', async () => {
    api.outcomes.push({ status: 'FAILED', error: { code: 'CONVERTER_PARSE_ERROR', details: { exitCode: 3 } } });
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target(), '--json'], c.io);
    expect(code).toBe(1);
    const result = JSON.parse(c.stdout()) as { ok: boolean; error: { code: string } };
    expect(result).toMatchObject({ ok: false, error: { code: 'CONVERTER_PARSE_ERROR' } });
    const human = capture();
    api.outcomes.push({ status: 'TIMED_OUT', error: { code: 'CONVERTER_TIMEOUT' } });
    expect(await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], human.io)).toBe(1);
    expect(human.stderr()).toContain('✖ TIMED_OUT: CONVERTER_TIMEOUT');
  });

  it('waits out SERVER_BUSY with a countdown line, then converts', async () => {
    api.refusals.push({ code: 'SERVER_BUSY', retryAfter: 3 });
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).toContain('⏳ SERVER_BUSY: The service is at capacity. Retrying in 3 s…');
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path === '/jobs').slice(-2);
    expect(posts[0]!.idempotencyKey).toBe(posts[1]!.idempotencyKey);
  });

  it('redraws the countdown, progress bar and elapsed time in place on a TTY', async () => {
    api.refusals.push({ code: 'RATE_LIMITED', retryAfter: 2 });
    const c = capture({ tty: true });
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(0);
    const out = c.stderr();
    expect(out).toContain('\r\x1b[2K⏳ RATE_LIMITED');
    expect(out).toContain('Retrying in 1 s…\n');
    expect(out).toMatch(new RegExp(`${ESC}\\[2K↑ Uploading +█+ 100%`));
    expect(out).toContain('\r\x1b[2K⠿ Validating');
  });

  it('prints plain progress lines on a terminal with TERM=dumb, and never progress on stdout', async () => {
    const c = capture({ tty: true, env: { TERM: 'dumb' } });
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(0);
    expect(c.stderr()).not.toContain(ESC);
    expect(c.stderr()).toContain('… Validating\n');
    expect(c.stdout()).not.toContain('Validating');
  });

  it('gives up when the service stays busy for longer than it will wait (exit 1)', async () => {
    api.refusals.push({ code: 'RATE_LIMITED', retryAfter: 3600 });
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(1);
    expect(c.stderr()).toContain('✖ RATE_LIMITED (HTTP 429)');
    expect(c.stderr()).toContain('gave up after waiting');
  });

  it('refuses a bundle over the upload limit up front (BUNDLE_TOO_LARGE)', async () => {
    const saved = api.maxBytes;
    api.maxBytes = 100;
    try {
      const c = capture();
      const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
      expect(code).toBe(1);
      expect(c.stderr()).toContain('✖ BUNDLE_TOO_LARGE (HTTP 422)');
      expect(c.stderr()).toContain('what to do: Upload only workflow.knime');
    } finally {
      api.maxBytes = saved;
    }
  });

  it('explains an upload refused by S3 and deletes the job so it holds no slot', async () => {
    api.faults.push({
      method: 'POST',
      path: /^\/upload$/,
      kind: {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>',
      },
    });
    const c = capture();
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(1);
    expect(c.stderr()).toContain('S3 refused the upload (403 AccessDenied)');
    expect(c.stderr()).toContain('The upload link expired');
    expect(c.stderr()).toMatch(/Job \S+ was deleted/);
    expect(lastJob().status).toBe('DELETED');
  });

  it('Ctrl-C while following leaves the job running and says how to check it (exit 130)', async () => {
    const controller = new AbortController();
    api.onPoll = (job) => {
      if (job.view.status === 'QUEUED') controller.abort(new InterruptedError());
    };
    const c = capture();
    const code = await createConvertCommand(deps(controller)).run([sample('KNIME_single_csv'), ...target()], c.io);
    expect(code).toBe(130);
    const id = lastJob().jobId;
    expect(c.stderr()).toContain(`Stopped waiting. Job ${id} keeps running on the server.`);
    expect(c.stderr()).toContain(`\`k2p-web status ${id}\``);
    expect(lastJob().status).not.toBe('DELETED');
  });

  it('Ctrl-C during the upload deletes the job it created', async () => {
    const controller = new AbortController();
    api.onRequest = (method, path) => {
      if (method === 'POST' && path === '/upload') controller.abort(new InterruptedError());
    };
    const c = capture();
    const code = await createConvertCommand(deps(controller)).run([sample('KNIME_single_csv'), ...target(), '--json'], c.io);
    expect(code).toBe(130);
    expect(c.stderr()).toMatch(/Interrupted during the upload\. Job \S+ was deleted/);
    expect(JSON.parse(c.stdout())).toMatchObject({ ok: false, interrupted: true, status: 'AWAITING_UPLOAD' });
    expect(lastJob().status).toBe('DELETED');
  });

  it('explains an API key the service refuses, masking it', async () => {
    const c = capture();
    const key = 'k2p-wrong-key-0000000000000';
    const code = await createConvertCommand(deps()).run([sample('KNIME_single_csv'), '--api', api.url, '--key', key], c.io);
    expect(code).toBe(1);
    expect(c.stderr()).toContain('✖ UNAUTHORIZED (HTTP 401)');
    expect(c.stderr()).toContain(`using ${maskKey(key)} from flag`);
    expect(c.stdout() + c.stderr()).not.toContain(key);
  });

  it('says when the API cannot be reached', async () => {
    const c = capture();
    const port = await closedPort();
    const code = await createConvertCommand(deps()).run(
      [sample('KNIME_single_csv'), '--api', `http://127.0.0.1:${port}`, '--key', DOUBLE_KEY],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.stderr()).toContain(
      `✖ POST http://127.0.0.1:${port}/jobs: cannot reach the API (ECONNREFUSED). Check the URL and your connection.`,
    );
  });

  it('never prints the API key in full', async () => {
    const c = capture({ env: { K2P_API_URL: api.url, K2P_API_KEY: DOUBLE_KEY } });
    expect(await createConvertCommand(deps()).run([sample('KNIME_single_csv')], c.io)).toBe(0);
    expect(c.stderr()).toContain(`(env), key ${maskKey(DOUBLE_KEY)}`);
    expect(c.stdout() + c.stderr()).not.toContain(DOUBLE_KEY);
  });

  it('treats bad arguments as usage errors (exit 2 through the CLI)', async () => {
    const convert = createConvertCommand(deps());
    const c = capture();
    await expect(convert.run([], c.io)).rejects.toThrow(UsageError);
    await expect(convert.run([sample('KNIME_single_csv'), '--workbook', 'pdf', ...target()], c.io)).rejects.toThrow(
      /--workbook must be py, ipynb or both/,
    );
    await expect(convert.run([sample('KNIME_single_csv'), '--graph', 'svg', ...target()], c.io)).rejects.toThrow(/--graph must be/);
    await expect(convert.run(['no-such-folder', ...target()], c.io)).rejects.toThrow(/cannot find no-such-folder/);
    await expect(convert.run([sample('KNIME_single_csv'), '--bogus'], c.io)).rejects.toMatchObject({
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
  });

  it('without --api/--key, env or a running local stack, says how to start local mode', async () => {
    const c = capture();
    await expect(createConvertCommand(deps()).run([sample('KNIME_single_csv')], c.io)).rejects.toThrow(
      /no local stack running\. Start local mode with `npm start`/,
    );
  });
});

describe('k2p-web jobs', () => {
  it('lists the caller’s jobs newest first in a table', async () => {
    const c = capture();
    const code = await createJobsCommand(deps()).run([...target(), '--limit', '3'], c.io);
    expect(code).toBe(0);
    const lines = c.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^JOB ID +STATUS +WORKFLOW +CREATED +TOOK +OUTCOME$/);
    expect(lines).toHaveLength(4);
    const newest = [...api.jobs.values()].filter((j) => j.owner === DOUBLE_KEY).at(-1)!.view;
    expect(lines[1]).toContain(newest.jobId);
  });

  it('--json prints {ok, jobs}', async () => {
    const c = capture();
    expect(await createJobsCommand(deps()).run([...target(), '--json', '--limit', '2'], c.io)).toBe(0);
    const result = JSON.parse(c.stdout()) as { ok: boolean; jobs: JobView[] };
    expect(result.ok).toBe(true);
    expect(result.jobs).toHaveLength(2);
  });

  it('follows pagination past one page (the API gives at most 100 per page)', async () => {
    const key = `k2p-many-jobs-key-${Date.now()}`;
    api.keys.push(key);
    for (let i = 0; i < 105; i++) {
      const response = await fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'x-api-key': key }, body: `{"filename":"Flow${i}"}` });
      expect(response.status).toBe(201);
    }
    const c = capture();
    expect(await createJobsCommand(deps()).run(['--api', api.url, '--key', key, '--json', '--limit', '1000'], c.io)).toBe(0);
    const jobs = (JSON.parse(c.stdout()) as { jobs: JobView[] }).jobs;
    expect(jobs.map((j) => j.workflowName)).toEqual(Array.from({ length: 105 }, (_, i) => `Flow${104 - i}`));
    expect(api.requests.filter((r) => r.method === 'GET' && r.path === '/jobs' && r.apiKey === key)).toHaveLength(2);
  });

  it('rejects a bad --limit', async () => {
    await expect(createJobsCommand(deps()).run([...target(), '--limit', '0'], capture().io)).rejects.toThrow(
      /--limit must be a whole number/,
    );
  });
});

describe('k2p-web status', () => {
  it('shows one job with its stage, durations and result', async () => {
    const done = [...api.jobs.values()].find((j) => j.view.status === 'SUCCEEDED')!.view;
    const c = capture();
    expect(await createStatusCommand(deps()).run([done.jobId, ...target()], c.io)).toBe(0);
    const out = c.stdout();
    expect(out).toContain(`Job         ${done.jobId}`);
    expect(out).toContain('Status      SUCCEEDED');
    expect(out).toContain('Durations   upload 0.2 s · validation 0.8 s · queue 0.1 s · conversion 2.3 s · total 3.4 s');
    expect(out).toContain('Components      1');
    expect(out).toContain(`download with \`k2p-web status ${done.jobId} -o <file>\``);
  });

  it('--wait follows a job to the end; -o downloads its result', async () => {
    const c0 = capture();
    const created = await fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'x-api-key': DOUBLE_KEY }, body: '{"filename":"Waited"}' });
    const { job, upload } = (await created.json()) as { job: JobView; upload: { url: string; fields: Record<string, string> } };
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append('file', new Blob([Buffer.from(sampleBundle())]), 'bundle.zip');
    expect((await fetch(upload.url, { method: 'POST', body: form })).status).toBe(204);
    const code = await createStatusCommand(deps()).run([job.jobId, ...target(), '--wait', '-o', 'got.zip'], c0.io);
    expect(code).toBe(0);
    expect(c0.stderr()).toContain('✔ Converting');
    expect(c0.stdout()).toContain('Status      SUCCEEDED');
    expect(c0.stdout()).toContain('✔ Wrote got.zip (');
    expect(existsSync(join(c0.io.cwd, 'got.zip'))).toBe(true);
    // --wait follows with the long poll.
    const polls = api.requests.filter((r) => r.method === 'GET' && r.path === `/jobs/${job.jobId}`);
    expect(polls.slice(2).every((r) => r.waitSeconds === '20')).toBe(true);
  });

  it('--wait exits 1 when the job does not succeed; --json gives {ok, job}', async () => {
    const rejected = [...api.jobs.values()].find((j) => j.view.status === 'REJECTED')!.view;
    const c = capture();
    expect(await createStatusCommand(deps()).run([rejected.jobId, ...target(), '--wait', '--json'], c.io)).toBe(1);
    expect(JSON.parse(c.stdout())).toMatchObject({ ok: false, job: { status: 'REJECTED', error: { code: 'SETTINGS_MISSING' } } });
    const plain = capture();
    expect(await createStatusCommand(deps()).run([rejected.jobId, ...target()], plain.io)).toBe(0);
    expect(plain.stdout()).toContain('missing file: Row Filter (#3)/settings.xml');
  });

  it('reports an unknown job as NOT_FOUND (exit 1) and a malformed id as a usage error', async () => {
    const c = capture();
    expect(await createStatusCommand(deps()).run(['nosuchjob123', ...target()], c.io)).toBe(1);
    expect(c.stderr()).toContain('✖ NOT_FOUND (HTTP 404): No such job.');
    await expect(createStatusCommand(deps()).run(['../etc', ...target()], c.io)).rejects.toThrow(/is not a job id/);
  });
});

describe('k2p-web logs', () => {
  it('writes a finished job’s log to stdout as it is', async () => {
    const done = [...api.jobs.values()].find((j) => j.view.status === 'SUCCEEDED')!.view;
    const c = capture();
    expect(await createLogsCommand(deps()).run([done.jobId, ...target()], c.io)).toBe(0);
    expect(c.stdout()).toMatch(new RegExp(`^k2p-web conversion log: job ${done.jobId}, workflow ${done.workflowName}\n`));
    expect(c.stdout()).toContain('== knime2py exited with code 0');
    expect(c.stderr()).toBe('');
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: `/jobs/${done.jobId}/logs` });
  });

  it('explains LOG_NOT_AVAILABLE and NOT_FOUND on stderr (exit 1), and a malformed id as a usage error', async () => {
    const rejected = [...api.jobs.values()].find((j) => j.view.status === 'REJECTED')!.view;
    const c = capture();
    expect(await createLogsCommand(deps()).run([rejected.jobId, ...target()], c.io)).toBe(1);
    expect(c.stdout()).toBe('');
    expect(c.stderr()).toContain('✖ LOG_NOT_AVAILABLE (HTTP 409)');
    expect(c.stderr()).toContain('what to do:');
    const unknown = capture();
    expect(await createLogsCommand(deps()).run(['nosuchjob123', ...target()], unknown.io)).toBe(1);
    expect(unknown.stderr()).toContain('✖ NOT_FOUND (HTTP 404)');
    await expect(createLogsCommand(deps()).run(['../etc', ...target()], c.io)).rejects.toThrow(/is not a job id/);
    await expect(createLogsCommand(deps()).run([...target()], c.io)).rejects.toThrow(UsageError);
  });
});

/** Whether cli/main.ts lists the commands yet (the lead registers them). */
function commandsRegistered(): boolean {
  try {
    return /^\s+convert\s/m.test(execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 60_000 }));
  } catch {
    return false;
  }
}
const registered = commandsRegistered();

describe('the real k2p-web binary', () => {
  it.skipIf(!registered)('converts a sample end to end: node cli/k2p-web.mjs convert … --json', async () => {
    const cwd = join(scratch, 'binary');
    mkdirSync(cwd, { recursive: true });
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('LIMIT_') && !name.startsWith('K2P_API')),
    );
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'convert', sample('KNIME_single_csv'), ...target(), '--json'],
        { cwd, env, timeout: 60_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        },
      );
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, job: { status: 'SUCCEEDED' } });
    expect(existsSync(join(cwd, 'KNIME_single_csv-k2p.zip'))).toBe(true);
    expect(result.stderr).not.toContain(DOUBLE_KEY);
  });
});
