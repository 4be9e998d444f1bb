import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertNotInUse,
  loadApiKeys,
  prepareDataDir,
  readStackState,
  removeStackState,
  writeStackState,
} from '../../../local/host/data-dir';
import { startLocalStack } from '../../../local/host/local-stack';
import { listen, PortInUseError } from '../../../local/host/ports';
import { tempDir } from '../helpers';

const keys = [
  { logicalId: 'WebKey', enabled: true, outputName: 'WebApiKeyId' },
  { logicalId: 'CliKey', enabled: true, outputName: 'ClientApiKeyId' },
];

describe('the data directory', () => {
  it('keeps the API keys across restarts and makes new ones after --fresh', () => {
    const dir = join(tempDir('k2p-data-'), '.k2p-local');
    prepareDataDir(dir);
    const first = loadApiKeys(dir, keys);
    expect(first.map((k) => k.id)).toEqual([expect.stringMatching(/^[a-z0-9]{10}$/), expect.stringMatching(/^[a-z0-9]{10}$/)]);
    expect(first[0]!.value).toMatch(/^[A-Za-z0-9]{40}$/);
    prepareDataDir(dir);
    expect(loadApiKeys(dir, keys)).toEqual(first);
    writeFileSync(join(dir, 's3', 'object'), 'x');
    prepareDataDir(dir, { fresh: true });
    expect(existsSync(join(dir, 's3', 'object'))).toBe(false);
    expect(loadApiKeys(dir, keys)[0]!.value).not.toBe(first[0]!.value);
  });

  it('never cleans or writes into a folder that is not a k2p-web data directory', () => {
    const dir = tempDir('k2p-not-ours-');
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    expect(() => prepareDataDir(dir, { fresh: true })).toThrow(/is not a k2p-web local data directory/);
    expect(existsSync(join(dir, 'precious.txt'))).toBe(true);
  });

  it('refuses a second stack on a data directory whose stack is running, and ignores a stale state file', () => {
    const dir = join(tempDir('k2p-data-'), 'd');
    mkdirSync(dir);
    prepareDataDir(dir);
    const state = { apiUrl: 'http://127.0.0.1:1/v1/', webUrl: 'http://127.0.0.1:2/', cliApiKey: 'c', webApiKey: 'w' };
    // pid 1 is always alive: another stack.
    writeStackState(dir, { ...state, pid: 1 });
    expect(() => assertNotInUse(dir)).toThrow(/already running on/);
    writeStackState(dir, { ...state, pid: 2 ** 22 + 12345 });
    expect(() => assertNotInUse(dir)).not.toThrow();
    writeStackState(dir, { ...state, pid: process.pid });
    expect(readStackState(dir)?.apiUrl).toBe(state.apiUrl);
    removeStackState(dir);
    expect(readStackState(dir)).toBeUndefined();
  });
});

describe('port clashes', () => {
  it('names the port, the service and how to choose others', async () => {
    const blocker = createServer();
    const port = await listen(blocker, 0, 'test');
    try {
      const error = (await listen(createServer(), port, 'local API Gateway').catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(PortInUseError);
      expect(error.message).toContain(`Port ${port} on 127.0.0.1 (local API Gateway) is already in use`);
      expect(error.message).toContain('--port-base');
      expect(error.message).toContain('--api-port');
    } finally {
      blocker.close();
    }
  });

  it('stops the local stack at start-up, before anything else runs, and leaves no state file', async () => {
    const blocker = createServer();
    const port = await listen(blocker, 0, 'test');
    const dataDir = join(tempDir('k2p-clash-'), 'data');
    try {
      const error = await startLocalStack({ dataDir, portBase: 0, ports: { web: port }, synth: 'never' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toContain(`Port ${port}`);
      expect(readStackState(dataDir)).toBeUndefined();
    } finally {
      blocker.close();
    }
  });
});
