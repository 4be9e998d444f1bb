/**
 * Where `k2p-web convert|jobs|status` send requests (cli/local-stack.ts):
 * flags, then K2P_API_URL/K2P_API_KEY, then the running local stack's
 * `.k2p-local/stack.json` (with a pid liveness check), else a clear error.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/command';
import { createJobsCommand } from '../../cli/commands/jobs';
import { findLocalStack, maskKey, resolveApiTarget } from '../../cli/local-stack';
import { processIsAlive } from '../../core/node/processes';
import { DOUBLE_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';

const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-target-'));
let folder = 0;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const alive = () => true;
const dead = () => false;

/** A checkout with a running stack's state file, and a folder below it to run commands from. */
function stackAt(state: Record<string, unknown> | string): { root: string; below: string } {
  const root = join(scratch, `checkout-${++folder}`);
  const below = join(root, 'some', 'project');
  mkdirSync(join(root, '.k2p-local'), { recursive: true });
  mkdirSync(below, { recursive: true });
  writeFileSync(join(root, '.k2p-local', 'stack.json'), typeof state === 'string' ? state : JSON.stringify(state));
  return { root, below };
}

const STATE = {
  apiUrl: 'http://127.0.0.1:3000',
  webUrl: 'http://127.0.0.1:8080',
  cliApiKey: 'local-cli-key-123456',
  webApiKey: 'local-web-key-123456',
  pid: 4242,
};

function emptyFolder(): string {
  const path = join(scratch, `empty-${++folder}`);
  mkdirSync(path, { recursive: true });
  return path;
}

describe('resolveApiTarget', () => {
  it('prefers flags, then the environment, then the local stack', async () => {
    const { below } = stackAt(STATE);
    const env = { K2P_API_URL: 'https://env.example/prod', K2P_API_KEY: 'env-key-0123456789' };
    const deps = { isAlive: alive, extraRoots: [] };
    expect(await resolveApiTarget({ api: 'https://flag.example/prod/', key: 'flag-key', env, cwd: below }, deps)).toEqual({
      apiUrl: 'https://flag.example/prod',
      apiKey: 'flag-key',
      source: 'flag',
    });
    expect(await resolveApiTarget({ env, cwd: below }, deps)).toMatchObject({
      apiUrl: 'https://env.example/prod',
      apiKey: env.K2P_API_KEY,
      source: 'env',
    });
    expect(await resolveApiTarget({ env: {}, cwd: below }, deps)).toMatchObject({
      apiUrl: STATE.apiUrl,
      apiKey: STATE.cliApiKey,
      source: 'local stack',
    });
  });

  it('finds the state file in a parent folder of the cwd, or in the checkout the CLI comes from', async () => {
    const { root, below } = stackAt(STATE);
    expect((await findLocalStack(below, { isAlive: alive, extraRoots: [] }))?.file).toBe(join(root, '.k2p-local', 'stack.json'));
    expect((await findLocalStack(emptyFolder(), { isAlive: alive, extraRoots: [root] }))?.state.cliApiKey).toBe(STATE.cliApiKey);
    expect(await findLocalStack(emptyFolder(), { isAlive: alive, extraRoots: [] })).toBeUndefined();
  });

  it('looks first in $K2P_LOCAL_DATA_DIR (a stack started with another --data-dir)', async () => {
    const { root } = stackAt({ ...STATE, cliApiKey: 'data-dir-key-123456' });
    const target = await resolveApiTarget(
      { env: { K2P_LOCAL_DATA_DIR: join(root, '.k2p-local') }, cwd: emptyFolder() },
      { isAlive: alive, extraRoots: [] },
    );
    expect(target).toMatchObject({
      apiKey: 'data-dir-key-123456',
      source: 'local stack',
      stateFile: join(root, '.k2p-local', 'stack.json'),
    });
  });

  it('uses the local stack’s key only with the local stack’s API', async () => {
    const { below } = stackAt(STATE);
    const deps = { isAlive: alive, extraRoots: [] };
    expect(await resolveApiTarget({ key: 'mine-0123456789', env: {}, cwd: below }, deps)).toMatchObject({
      apiUrl: STATE.apiUrl,
      apiKey: 'mine-0123456789',
    });
    expect(await resolveApiTarget({ api: `${STATE.apiUrl}/`, env: {}, cwd: below }, deps)).toMatchObject({ apiKey: STATE.cliApiKey });
    await expect(resolveApiTarget({ api: 'https://elsewhere.example/prod', env: {}, cwd: below }, deps)).rejects.toThrow(
      'no API key for https://elsewhere.example/prod: run `k2p-web login --api https://elsewhere.example/prod` (or pass --key <key>, or set K2P_API_KEY).',
    );
  });

  it('says a state file whose process is gone is stale, and how to start local mode', async () => {
    const { below } = stackAt(STATE);
    const error = await resolveApiTarget({ env: {}, cwd: below }, { isAlive: dead, extraRoots: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(
      /stack\.json is not running \(process 4242 is gone; it was stopped or crashed\)\. Start local mode with `npm start`/,
    );
  });

  it('without anything configured, explains both ways to get going', async () => {
    const error = await resolveApiTarget({ env: {}, cwd: emptyFolder() }, { extraRoots: [] }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'no API to talk to: no --api/--key, no K2P_API_URL/K2P_API_KEY, no profile saved by `k2p-web login`, and no local stack running. ' +
        'Start local mode with `npm start` in the k2p-web folder, or sign in to a deployed API with `k2p-web login --api <url>` ' +
        '(or pass --api <url> --key <key>, or set K2P_API_URL and K2P_API_KEY).',
    );
  });

  it('rejects a damaged state file and a URL that is not http(s)', async () => {
    const { below } = stackAt('{not json');
    await expect(resolveApiTarget({ env: {}, cwd: below }, { isAlive: alive, extraRoots: [] })).rejects.toThrow(/is not valid JSON/);
    const other = stackAt({ apiUrl: 'x' });
    await expect(resolveApiTarget({ env: {}, cwd: other.below }, { isAlive: alive, extraRoots: [] })).rejects.toThrow(
      /does not describe a local stack/,
    );
    await expect(resolveApiTarget({ api: 'ftp://x', key: 'k', env: {}, cwd: scratch }, { extraRoots: [] })).rejects.toThrow(
      /must start with http/,
    );
    await expect(resolveApiTarget({ api: 'not a url', key: 'k', env: {}, cwd: scratch }, { extraRoots: [] })).rejects.toThrow(
      /is not a URL/,
    );
  });
});

describe('processIsAlive', () => {
  it('sees this process alive and an exited one gone', () => {
    expect(processIsAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(processIsAlive(child.pid!)).toBe(false);
    expect(processIsAlive(-1)).toBe(false);
  });
});

describe('maskKey', () => {
  it('shows enough to tell keys apart, never the key', () => {
    expect(maskKey('abcdefghijklmnopqrstuvwxyz')).toBe('abcd…yz');
    expect(maskKey('short')).toBe('****');
  });
});

describe('k2p-web jobs with the running local stack’s defaults', () => {
  let api: JobsApiDouble;
  beforeAll(async () => {
    api = await startJobsApiDouble();
    return () => api.close();
  });

  it('talks to the API and key of .k2p-local/stack.json, with a live pid', async () => {
    const { below } = stackAt({ apiUrl: api.url, webUrl: 'http://127.0.0.1:1', cliApiKey: DOUBLE_KEY, webApiKey: 'web', pid: process.pid });
    let stdout = '';
    const io = {
      stdout: new Writable({
        write(chunk, _e, done) {
          stdout += String(chunk);
          done();
        },
      }),
      stderr: new Writable({ write: (_c, _e, done) => done() }),
      env: {},
      cwd: below,
    };
    const code = await createJobsCommand({ extraRoots: [] }).run([], io);
    expect(code).toBe(0);
    expect(stdout).toBe('No jobs yet for this API key.\n');
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/jobs', apiKey: DOUBLE_KEY });
  });
});
