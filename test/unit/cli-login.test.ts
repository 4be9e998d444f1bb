/**
 * `k2p-web login|logout|profiles` and profile selection in every command
 * that talks to the service (cli/profiles.ts, cli/local-stack.ts): the
 * config file is 0600 in a 0700 folder and replaced atomically, the key is
 * read without echo and checked against the jobs-API double (a refused or
 * unreachable check stores nothing), and no command ever prints the key.
 */
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  chmodSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, type CliIO } from '../../cli/command';
import { createJobsCommand } from '../../cli/commands/jobs';
import { createStatusCommand } from '../../cli/commands/status';
import { createWhoamiCommand } from '../../cli/commands/whoami';
import { createLoginCommand, createLogoutCommand, createProfilesCommand } from '../../cli/commands/login';
import { resolveApiTarget } from '../../cli/local-stack';
import { findConfigPath, saveConfig } from '../../cli/profiles';
import { readSecret } from '../../cli/secret-input';
import { printVersion } from '../../cli/version';
import { DOUBLE_KEY, OTHER_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';

const scratch = mkdtempSync(join(tmpdir(), 'k2p-cli-login-'));
let counter = 0;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let api: JobsApiDouble;
beforeAll(async () => {
  api = await startJobsApiDouble();
  return () => api.close();
});

/** A config file path in a folder that does not exist yet. */
function freshConfig(): string {
  return join(scratch, `home-${++counter}`, 'nested', 'k2p-web', 'config.json');
}

interface Captured {
  io: CliIO;
  out: () => string;
  err: () => string;
}

function capture(env: Record<string, string | undefined>, cwd = scratch): Captured {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _e, done) {
        append(String(chunk));
        done();
      },
    });
  return {
    io: { stdout: sink((t) => (out += t)), stderr: sink((t) => (err += t)), env, cwd },
    out: () => out,
    err: () => err,
  };
}

const piped = (text: string) => Readable.from([text]);

/** A terminal stand-in: records raw-mode switches; the test types into it. */
function fakeTerminal(): PassThrough & { isTTY: boolean; rawModes: boolean[]; setRawMode(mode: boolean): void } {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; rawModes: boolean[]; setRawMode(mode: boolean): void };
  stream.isTTY = true;
  stream.rawModes = [];
  stream.setRawMode = (mode: boolean) => void stream.rawModes.push(mode);
  return stream;
}

async function login(args: string[], env: Record<string, string | undefined>, stdin: NodeJS.ReadableStream) {
  const c = capture(env);
  const code = await createLoginCommand({ stdin, verifyTimeoutMs: 2000 }).run(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

function readConfig(path: string): { version: number; profiles: Record<string, { api: string; key: string }> } {
  return JSON.parse(readFileSync(path, 'utf8')) as never;
}

describe('k2p-web login', () => {
  it('checks a piped key with the service, then stores it 0600 in a new 0700 folder, printing only its fingerprint', async () => {
    const config = freshConfig();
    const result = await login(['--api', api.url, '--profile', 'ci'], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`));
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/me', apiKey: DOUBLE_KEY });
    expect(readConfig(config)).toEqual({ version: 1, profiles: { ci: { api: api.url, key: DOUBLE_KEY } } });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(config)).mode & 0o777).toBe(0o700);
    expect(statSync(dirname(dirname(config))).mode & 0o777).toBe(0o700);
    expect(result.out).toContain(`Saved profile "ci": ${api.url}, key k2p-…ef`);
    // Whose key it is, from GET /me.
    expect(result.out).toContain('the key belongs to double-user (program, role user), id principal-0');
    expect(result.out + result.err).not.toContain(DOUBLE_KEY);
  });

  it('stores nothing when the service refuses the key (401), and says so without the key', async () => {
    const config = freshConfig();
    const wrong = 'k2p-wrong-key-000000000000';
    const result = await login(['--api', api.url], { K2P_WEB_CONFIG: config }, piped(`${wrong}\n`));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/refused the key k2p-…00 \(UNAUTHORIZED, HTTP 401\): nothing was stored/);
    expect(existsSync(config)).toBe(false);
    expect(result.out + result.err).not.toContain(wrong);
  });

  it('stores nothing when the service refuses with 401 either', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'An API key is required.', requestId: 'r1' } }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = freshConfig();
    try {
      const result = await login(['--api', url], { K2P_WEB_CONFIG: config }, piped('some-key-0123456789\n'));
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/\(UNAUTHORIZED, HTTP 401\): nothing was stored/);
      expect(existsSync(config)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('checks the key with GET /jobs when the service predates GET /me (404), and stores it without naming the owner', async () => {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      const known = req.url?.startsWith('/jobs');
      res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          known
            ? { jobs: [] }
            : { error: { code: 'NOT_FOUND', message: 'No such route: check the method and the path.', requestId: 'r2' } },
        ),
      );
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = freshConfig();
    try {
      const result = await login(['--api', url], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`));
      expect(result.code).toBe(0);
      expect(paths).toEqual(['/me', '/jobs?limit=1']);
      expect(result.out).not.toContain('belongs to');
      expect(readConfig(config).profiles.default!.key).toBe(DOUBLE_KEY);
    } finally {
      server.close();
    }
  });

  it('says an unreachable service is unreachable; stores only with --no-verify', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((done) => server.close(done));
    const config = freshConfig();
    const refused = await login(['--api', url], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ to check the key .*nothing was stored[\s\S]*--no-verify/);
    expect(existsSync(config)).toBe(false);
    const stored = await login(['--api', url, '--no-verify'], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`));
    expect(stored.code).toBe(0);
    expect(stored.out).toContain('(not checked: --no-verify)');
    expect(readConfig(config).profiles.default).toEqual({ api: url, key: DOUBLE_KEY });
  });

  it('reads a typed key in raw mode without echoing anything, and leaves raw mode', async () => {
    const config = freshConfig();
    const terminal = fakeTerminal();
    const running = login(['--api', api.url], { K2P_WEB_CONFIG: config }, terminal);
    // Typed one character at a time with a slip corrected by Backspace, then a paste of the rest and Enter.
    await new Promise((done) => setImmediate(done));
    for (const char of [...DOUBLE_KEY.slice(0, 5), 'x', '\u007f']) terminal.write(char);
    terminal.write(`${DOUBLE_KEY.slice(5)}\r`);
    const result = await running;
    expect(result.code).toBe(0);
    expect(terminal.rawModes).toEqual([true, false]);
    expect(result.err).toBe(`API key for ${api.url} (typing is not shown): \n`);
    expect(readConfig(config).profiles.default?.key).toBe(DOUBLE_KEY);
  });

  it('ignores arrow keys and other escape sequences typed at the prompt', async () => {
    const config = freshConfig();
    const terminal = fakeTerminal();
    const running = login(['--api', api.url], { K2P_WEB_CONFIG: config }, terminal);
    await new Promise((done) => setImmediate(done));
    terminal.write(`\u001b[D${DOUBLE_KEY.slice(0, 3)}\u001b[1;5C${DOUBLE_KEY.slice(3)}\u001bb\n`);
    expect((await running).code).toBe(0);
    expect(readConfig(config).profiles.default?.key).toBe(DOUBLE_KEY);
  });

  it('makes an existing k2p-web folder under XDG_CONFIG_HOME private, but never a K2P_WEB_CONFIG folder', async () => {
    const xdg = join(scratch, `xdg-${++counter}`);
    mkdirSync(join(xdg, 'k2p-web'), { recursive: true, mode: 0o755 });
    chmodSync(join(xdg, 'k2p-web'), 0o755);
    expect((await login(['--api', api.url], { XDG_CONFIG_HOME: xdg, HOME: '/nonexistent' }, piped(`${DOUBLE_KEY}\n`))).code).toBe(0);
    expect(statSync(join(xdg, 'k2p-web')).mode & 0o777).toBe(0o700);
    expect(statSync(join(xdg, 'k2p-web', 'config.json')).mode & 0o777).toBe(0o600);
    const shared = join(scratch, `shared-${++counter}`);
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    expect((await login(['--api', api.url], { K2P_WEB_CONFIG: join(shared, 'k.json') }, piped(`${DOUBLE_KEY}\n`))).code).toBe(0);
    expect(statSync(shared).mode & 0o777).toBe(0o755);
    expect(statSync(join(shared, 'k.json')).mode & 0o777).toBe(0o600);
  });

  it('Ctrl-C at the prompt stores nothing, restores the terminal and exits 130', async () => {
    const config = freshConfig();
    const terminal = fakeTerminal();
    const running = login(['--api', api.url], { K2P_WEB_CONFIG: config }, terminal);
    await new Promise((done) => setImmediate(done));
    terminal.write('abc\u0003');
    expect((await running).code).toBe(130);
    expect(terminal.rawModes).toEqual([true, false]);
    expect(existsSync(config)).toBe(false);
  });

  it('refuses an empty key and a key given as an argument', async () => {
    const config = freshConfig();
    await expect(login(['--api', api.url], { K2P_WEB_CONFIG: config }, piped('\n'))).rejects.toThrow(/no key given/);
    await expect(login(['--api', api.url, DOUBLE_KEY], { K2P_WEB_CONFIG: config }, piped(''))).rejects.toThrow(/takes no arguments/);
    await expect(login([], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`))).rejects.toThrow(/give the API URL/);
    expect(existsSync(config)).toBe(false);
  });

  it('replaces the file by rename (a reader holding the old file sees it whole), leaving no temporary file', async () => {
    const config = freshConfig();
    expect((await login(['--api', api.url], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`))).code).toBe(0);
    const before = readFileSync(config, 'utf8');
    const oldInode = join(dirname(config), 'old-link');
    linkSync(config, oldInode);
    expect((await login(['--api', api.url, '--profile', 'other'], { K2P_WEB_CONFIG: config }, piped(`${OTHER_KEY}\n`))).code).toBe(0);
    // Written in place, the hard link would show the new content; replaced by rename, it keeps the old.
    expect(readFileSync(oldInode, 'utf8')).toBe(before);
    expect(statSync(config).ino).not.toBe(statSync(oldInode).ino);
    expect(Object.keys(readConfig(config).profiles).sort()).toEqual(['default', 'other']);
    expect(readdirSync(dirname(config)).sort()).toEqual(['config.json', 'old-link']);
  });

  it('logging in again reuses the profile’s API URL; a loose file is rewritten 0600 with a warning', async () => {
    const config = freshConfig();
    expect((await login(['--api', api.url], { K2P_WEB_CONFIG: config }, piped(`${DOUBLE_KEY}\n`))).code).toBe(0);
    chmodSync(config, 0o644);
    const again = await login([], { K2P_WEB_CONFIG: config }, piped(`${OTHER_KEY}\n`));
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/could be read by other users \(mode 644\); it is rewritten readable by you only/);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(readConfig(config).profiles.default).toEqual({ api: api.url, key: OTHER_KEY });
  });
});

describe('k2p-web logout and profiles', () => {
  it('lists profiles with fingerprints and the one in use, removes one, and names the known ones for an unknown one', async () => {
    const config = freshConfig();
    await saveConfig(config, {
      version: 1,
      profiles: { default: { api: 'https://a.example/prod', key: DOUBLE_KEY }, ci: { api: 'https://b.example/prod', key: OTHER_KEY } },
    });
    const env = { K2P_WEB_CONFIG: config };
    const list = capture(env);
    expect(await createProfilesCommand().run([], list.io)).toBe(0);
    expect(list.out()).toMatch(
      /^\s+PROFILE\s+API\s+KEY\n\s+ci\s+https:\/\/b\.example\/prod\s+k2p-…10\n\*\s+default\s+https:\/\/a\.example\/prod\s+k2p-…ef\s+← default\n/,
    );
    const listed = capture({ ...env, K2P_WEB_PROFILE: 'ci' });
    expect(await createProfilesCommand().run(['--json'], listed.io)).toBe(0);
    expect(JSON.parse(listed.out())).toEqual({
      ok: true,
      file: config,
      profiles: [
        { name: 'ci', api: 'https://b.example/prod', key: 'k2p-…10', default: false, selected: true },
        { name: 'default', api: 'https://a.example/prod', key: 'k2p-…ef', default: true, selected: false },
      ],
    });
    const viaLogin = capture(env);
    expect(await createLoginCommand({ stdin: piped('') }).run(['--list'], viaLogin.io)).toBe(0);
    expect(viaLogin.out()).toBe(list.out());

    const out = capture(env);
    expect(await createLogoutCommand().run(['--profile', 'ci'], out.io)).toBe(0);
    expect(out.out()).toContain('Removed profile "ci" (https://b.example/prod, key k2p-…10)');
    expect(Object.keys(readConfig(config).profiles)).toEqual(['default']);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    await expect(createLogoutCommand().run(['--profile', 'ci'], capture(env).io)).rejects.toThrow(
      'no profile "ci": known profiles: default. Create it with `k2p-web login --api <url> --profile ci`.',
    );
    for (const c of [list, listed, viaLogin, out]) expect(c.out() + c.err()).not.toMatch(/k2p-(test|other)-key/);
  });

  it('says there are none yet', async () => {
    const c = capture({ K2P_WEB_CONFIG: freshConfig() });
    expect(await createProfilesCommand().run([], c.io)).toBe(0);
    expect(c.out()).toMatch(/^No profiles yet in .*config\.json: add one with `k2p-web login --api <url> \[--profile <name>\]`\.\n$/);
  });
});

describe('which API and key a command uses', () => {
  const stackRoot = join(scratch, 'checkout');
  const STACK = {
    apiUrl: 'http://127.0.0.1:3999',
    webUrl: 'http://127.0.0.1:8080',
    cliApiKey: 'stack-key-0123456789',
    webApiKey: 'w',
    pid: 1,
  };
  const deps = { isAlive: () => true, extraRoots: [] };
  let config: string;
  beforeAll(async () => {
    mkdirSync(join(stackRoot, '.k2p-local'), { recursive: true });
    writeFileSync(join(stackRoot, '.k2p-local', 'stack.json'), JSON.stringify(STACK));
    config = freshConfig();
    await saveConfig(config, {
      version: 1,
      profiles: {
        default: { api: 'https://default.example/prod', key: 'default-key-0123456789' },
        ci: { api: 'https://ci.example/prod', key: 'ci-key-0123456789' },
        nightly: { api: 'https://nightly.example/prod', key: 'nightly-key-0123456789' },
      },
    });
  });
  const resolve = (input: { api?: string; key?: string; profile?: string }, env: Record<string, string> = {}) =>
    resolveApiTarget({ ...input, env: { K2P_WEB_CONFIG: config, ...env }, cwd: stackRoot }, deps);

  it('flags > environment > profile (--profile > K2P_WEB_PROFILE > "default") > local stack', async () => {
    const ENV = { K2P_API_URL: 'https://env.example/prod', K2P_API_KEY: 'env-key-0123456789' };
    expect(await resolve({ api: 'https://flag.example', key: 'flag-key', profile: 'ci' }, { ...ENV, K2P_WEB_PROFILE: 'nightly' })).toEqual({
      apiUrl: 'https://flag.example',
      apiKey: 'flag-key',
      source: 'flag',
    });
    expect(await resolve({ profile: 'ci' }, { ...ENV, K2P_WEB_PROFILE: 'nightly' })).toMatchObject({
      apiKey: ENV.K2P_API_KEY,
      source: 'env',
    });
    expect(await resolve({ profile: 'ci' }, { K2P_WEB_PROFILE: 'nightly' })).toEqual({
      apiUrl: 'https://ci.example/prod',
      apiKey: 'ci-key-0123456789',
      source: 'profile',
      profile: 'ci',
    });
    expect(await resolve({}, { K2P_WEB_PROFILE: 'nightly' })).toMatchObject({ apiKey: 'nightly-key-0123456789', profile: 'nightly' });
    expect(await resolve({})).toMatchObject({
      apiUrl: 'https://default.example/prod',
      apiKey: 'default-key-0123456789',
      profile: 'default',
    });
    // Without a "default" profile and no choice, the local stack as before.
    const noDefault = freshConfig();
    await saveConfig(noDefault, { version: 1, profiles: { ci: { api: 'https://ci.example/prod', key: 'ci-key-0123456789' } } });
    expect(await resolve({}, { K2P_WEB_CONFIG: noDefault })).toMatchObject({ apiKey: STACK.cliApiKey, source: 'local stack' });
    expect(await resolveApiTarget({ env: {}, cwd: stackRoot }, deps)).toMatchObject({ source: 'local stack' });
  });

  it('mixes field by field: a flag key with the profile’s URL, the profile’s key only for the profile’s URL', async () => {
    expect(await resolve({ key: 'flag-key', profile: 'ci' })).toMatchObject({ apiUrl: 'https://ci.example/prod', apiKey: 'flag-key' });
    expect(await resolve({ api: 'https://ci.example/prod/', profile: 'ci' })).toMatchObject({
      apiKey: 'ci-key-0123456789',
      source: 'flag',
    });
    await expect(resolve({ api: 'https://elsewhere.example', profile: 'ci' })).rejects.toThrow(
      /profile "ci" is for https:\/\/ci\.example\/prod, not https:\/\/elsewhere\.example/,
    );
  });

  it('an unknown profile is a usage error naming the known ones, from the flag or the environment', async () => {
    const error = await resolve({ profile: 'prod' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      'no profile "prod": known profiles: ci, default, nightly. Create it with `k2p-web login --api <url> --profile prod`.',
    );
    await expect(resolve({}, { K2P_WEB_PROFILE: 'prod' })).rejects.toThrow('no profile "prod" (named by K2P_WEB_PROFILE): known profiles');
    await expect(resolve({ api: 'https://x.example', key: 'k', profile: 'prod' })).rejects.toThrow(UsageError);
    // K2P_WEB_PROFILE (set for a whole shell or CI job) is looked at only when flags and environment leave a gap.
    expect(await resolve({ api: 'https://x.example', key: 'k' }, { K2P_WEB_PROFILE: 'prod' })).toMatchObject({ source: 'flag' });
    await expect(resolve({ profile: '../etc' })).rejects.toThrow(/is not a profile name/);
  });

  it('refuses a config file other users can read', async () => {
    const loose = freshConfig();
    await saveConfig(loose, { version: 1, profiles: { default: { api: 'https://a.example', key: 'default-key-0123456789' } } });
    chmodSync(loose, 0o640);
    await expect(resolve({}, { K2P_WEB_CONFIG: loose })).rejects.toThrow(
      /can be read or changed by other users \(mode 640\); run `chmod 600/,
    );
  });

  it('finds the file through K2P_WEB_CONFIG, XDG_CONFIG_HOME or HOME', () => {
    expect(findConfigPath({ K2P_WEB_CONFIG: 'my.json', HOME: '/h' }, '/w')).toBe('/w/my.json');
    expect(findConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' }, '/w')).toBe('/x/k2p-web/config.json');
    expect(findConfigPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }, '/w')).toBe('/h/.config/k2p-web/config.json');
    expect(findConfigPath({}, '/w')).toBeUndefined();
  });
});

describe('commands with a profile, end to end against the jobs-API double', () => {
  it('jobs --profile sends the profile’s key; no command prints a key, even when the key is refused', async () => {
    const config = freshConfig();
    const env = { K2P_WEB_CONFIG: config };
    expect((await login(['--api', api.url, '--profile', 'ci'], env, piped(`${DOUBLE_KEY}\n`))).code).toBe(0);
    const jobs = capture(env);
    expect(await createJobsCommand({ extraRoots: [] }).run(['--profile', 'ci'], jobs.io)).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/jobs', apiKey: DOUBLE_KEY });
    // A key the service no longer accepts (revoked since login): the refusal names the profile and the fingerprint only.
    const revoked = 'k2p-revoked-key-0123456789';
    await saveConfig(config, { version: 1, profiles: { ci: { api: api.url, key: revoked } } });
    const status = capture({ ...env, K2P_WEB_PROFILE: 'ci' });
    expect(await createStatusCommand({ extraRoots: [] }).run(['job-0000000001'], status.io)).toBe(1);
    expect(status.err()).toContain(`✖ UNAUTHORIZED (HTTP 401)`);
    expect(status.err()).toContain('(using k2p-…89 from profile "ci")');
    for (const c of [jobs, status]) expect(c.out() + c.err()).not.toMatch(/k2p-(test|revoked)-key/);
  });

  it('whoami names the principal of the profile’s key (GET /me), as text or JSON, and explains a refused key', async () => {
    const config = freshConfig();
    const env = { K2P_WEB_CONFIG: config };
    expect((await login(['--api', api.url, '--profile', 'ci'], env, piped(`${OTHER_KEY}\n`))).code).toBe(0);
    const text = capture(env);
    expect(await createWhoamiCommand().run(['--profile', 'ci'], text.io)).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/me', apiKey: OTHER_KEY });
    expect(text.out()).toMatch(
      /^double-user \(program, role user\)\n {2}id principal-1\n {2}API http:\/\/127\.0\.0\.1:\d+ \(profile "ci"\), key /,
    );
    const json = capture(env);
    expect(await createWhoamiCommand().run(['--profile', 'ci', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({
      ok: true,
      principal: { id: 'principal-1', name: 'double-user', kind: 'program', role: 'user' },
      api: api.url,
    });
    await saveConfig(config, { version: 1, profiles: { ci: { api: api.url, key: 'k2p-revoked-key-0123456789' } } });
    const refused = capture(env);
    expect(await createWhoamiCommand().run(['--profile', 'ci'], refused.io)).toBe(1);
    expect(refused.err()).toContain('✖ UNAUTHORIZED (HTTP 401)');
    for (const c of [text, json, refused]) expect(c.out() + c.err()).not.toMatch(new RegExp(`${OTHER_KEY}|k2p-revoked-key`));
  });
});

describe('k2p-web --version with a profile', () => {
  it('asks the profile’s service for its version, naming the profile', async () => {
    const config = freshConfig();
    await saveConfig(config, { version: 1, profiles: { ci: { api: api.url, key: DOUBLE_KEY } } });
    const c = capture({ K2P_WEB_CONFIG: config });
    expect(await printVersion(['--profile', 'ci'], c.io, { extraRoots: [] })).toBe(0);
    expect(c.out()).toContain(`service: k2p-web 0.1.0 at ${api.url} (profile "ci")`);
    const unknown = capture({ K2P_WEB_CONFIG: config });
    expect(await printVersion(['--profile', 'nope'], unknown.io, { extraRoots: [] })).toBe(0);
    expect(unknown.out()).toContain('service: not reachable (no profile "nope": known profiles: ci.');
  });
});

describe('readSecret', () => {
  it('takes the first line of piped input, trimmed, and never touches raw mode', async () => {
    expect(await readSecret(piped('  abc-def \nsecond line\n'), new PassThrough(), 'prompt: ')).toBe('abc-def');
    expect(await readSecret(piped('no newline'), new PassThrough(), 'prompt: ')).toBe('no newline');
  });
});
