import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitCommand } from '../../../core/runner-contract';
import {
  ConverterNotFoundError,
  discoverConverter,
  joinCommand,
  NoPythonError,
  type Probe,
} from '../../../local/stand-ins/ecs-task/converter';
import { readStackState } from '../../../local/host/data-dir';
import { startLocalStack } from '../../../local/host/local-stack';
import { DOUBLE_COMMAND, tempDir } from '../helpers';

/** A machine as local mode sees it: an env and the commands that answer (argv joined by spaces → exit code, stdout). */
function machine(env: Record<string, string | undefined>, answers: Record<string, [number, string?]> = {}): Probe & { ran: string[] } {
  const ran: string[] = [];
  return {
    env,
    ran,
    run: async (argv) => {
      const line = argv.join(' ');
      ran.push(line);
      const found = Object.entries(answers).find(([prefix]) => line.startsWith(prefix));
      return found ? { code: found[1][0], stdout: found[1][1] ?? '' } : { code: null, stdout: '' };
    },
  };
}

function binDir(files: Record<string, string>): string {
  const dir = tempDir('k2p-bin-');
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const scratchRoot = '/tmp/k2p-scratch';
const image = 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11';

describe('converter discovery', () => {
  it('stops with one paragraph of install guidance when there is no K2P_COMMAND, no k2p on PATH and no Docker engine', async () => {
    const empty = tempDir('k2p-empty-path-');
    const error = await discoverConverter({ image, scratchRoot, probe: machine({ PATH: empty }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConverterNotFoundError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('pipx install git+https://github.com/vitalii-kaplan/knime2py');
    expect(message).toContain('pip install');
    expect(message).toContain('K2P_COMMAND');
  });

  it('stops `npm start` with the command that installs Python, when there is no Python to provision knime2py into, before synthesizing anything', async () => {
    const dataDir = join(tempDir('k2p-noconv-'), 'data');
    const started = Date.now();
    // synth: 'force' would take a minute: the converter check must come first.
    const error = await startLocalStack({
      dataDir,
      portBase: 0,
      synth: 'force',
      converterEnv: { PATH: tempDir('k2p-empty-path-') },
      pythons: ['/nonexistent/python3'],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPythonError);
    expect((error as Error).message).toMatch(/no Python 3\.10 or newer .*Install Python with `[^`]+`/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readStackState(dataDir)).toBeUndefined();
  });

  it('provisions knime2py when nothing is installed, and uses its venv Python for the version', async () => {
    const dir = tempDir('k2p-provisioned-');
    const python = join(dir, 'venv', 'bin', 'python');
    mkdirSync(join(dir, 'venv', 'bin'), { recursive: true });
    writeFileSync(python, '#!/bin/sh\n');
    writeFileSync(join(dir, 'venv', 'bin', 'k2p'), `#!${python}\nfrom knime2py.cli import main\n`);
    chmodSync(join(dir, 'venv', 'bin', 'k2p'), 0o755);
    const probe = machine({ PATH: tempDir('k2p-empty-path-') }, { 'unshare -rn true': [0], [python]: [0, '0.1.11\n'] });
    const provision = async () => ({ k2p: join(dir, 'venv', 'bin', 'k2p'), dir, from: 'K2P_SOURCE=/src/knime2py', reused: false });
    const setup = await discoverConverter({ image, scratchRoot, probe, provision });
    expect(setup).toMatchObject({ source: 'provisioned', version: '0.1.11', provisioned: { dir, from: 'K2P_SOURCE=/src/knime2py' } });
    expect(splitCommand(setup.command)).toEqual(['unshare', '-rn', join(dir, 'venv', 'bin', 'k2p')]);
    expect(splitCommand(setup.versionCommand)[0]).toBe(python);
  });

  it('tries the Docker image when there is no Python to provision into, and else says how to install Python', async () => {
    const noPython = async () => {
      throw new NoPythonError('no Python 3.10 or newer; Install Python with `apt-get install -y python3`');
    };
    const docker = machine({ PATH: binDir({ docker: '#!/bin/sh\n' }) }, { 'docker info': [0, '27'], 'docker run': [0, '0.1.11'] });
    expect(await discoverConverter({ image, scratchRoot, probe: docker, provision: noPython })).toMatchObject({ source: 'docker' });
    const bare = machine({ PATH: tempDir('k2p-empty-path-') });
    await expect(discoverConverter({ image, scratchRoot, probe: bare, provision: noPython })).rejects.toThrow(/Install Python with/);
  });

  it('also when docker is installed but no engine answers (never a fake converter)', async () => {
    const bin = binDir({ docker: '#!/bin/sh\nexit 1\n' });
    const probe = machine({ PATH: bin }, { 'docker info': [1] });
    await expect(discoverConverter({ image, scratchRoot, probe })).rejects.toBeInstanceOf(ConverterNotFoundError);
    expect(probe.ran.some((line) => line.startsWith('docker info'))).toBe(true);
  });

  it('names a K2P_COMMAND that does not exist', async () => {
    const probe = machine({ PATH: tempDir('k2p-empty-path-'), K2P_COMMAND: 'knime-nope --flag' });
    await expect(discoverConverter({ image, scratchRoot, probe })).rejects.toThrow(
      /K2P_COMMAND is set to `knime-nope --flag`, but `knime-nope` is not/,
    );
  });

  it('uses K2P_COMMAND first, in a network namespace when unshare works; a non-Python command has an unknown version', async () => {
    const probe = machine({ PATH: process.env.PATH, K2P_COMMAND: DOUBLE_COMMAND }, { 'unshare -rn true': [0] });
    const setup = await discoverConverter({ image, scratchRoot, probe });
    expect(setup.source).toBe('K2P_COMMAND');
    expect(setup.isolation.kind).toBe('unshare');
    expect(splitCommand(setup.command)).toEqual(['unshare', '-rn', ...splitCommand(DOUBLE_COMMAND)]);
    expect(setup.version).toBeNull();
    expect(setup.image).toBeUndefined();
  });

  it('falls back to bubblewrap, then to no isolation, and says so', async () => {
    const env = { PATH: process.env.PATH, K2P_COMMAND: DOUBLE_COMMAND };
    const bwrap = await discoverConverter({ image, scratchRoot, probe: machine(env, { 'unshare -rn true': [1], 'bwrap ': [0] }) });
    expect(bwrap.isolation.kind).toBe('bwrap');
    expect(splitCommand(bwrap.command).slice(0, 2)).toEqual(['bwrap', '--dev-bind']);
    const none = await discoverConverter({ image, scratchRoot, probe: machine(env, { 'unshare -rn true': [1], 'bwrap ': [1] }) });
    expect(none.isolation.kind).toBe('none');
    expect(none.isolation.description).toMatch(/network/);
    expect(splitCommand(none.command)).toEqual(splitCommand(DOUBLE_COMMAND));
    const off = await discoverConverter({ image, scratchRoot, sandbox: 'none', probe: machine(env, { 'unshare -rn true': [0] }) });
    expect(off.isolation.kind).toBe('none');
  });

  it("finds k2p on PATH and reads knime2py's version with the Python of its shebang (a pipx venv)", async () => {
    const venv = tempDir('k2p-venv-');
    mkdirSync(join(venv, 'bin'));
    const python = join(venv, 'bin', 'python3.11');
    writeFileSync(python, '#!/bin/sh\n');
    chmodSync(python, 0o755);
    const bin = binDir({ k2p: `#!${python}\nimport knime2py\n` });
    const probe = machine({ PATH: bin }, { 'unshare -rn true': [0], [python]: [0, '0.1.11\n'] });
    const setup = await discoverConverter({ image, scratchRoot, probe });
    expect(setup).toMatchObject({ source: 'PATH', display: 'k2p', version: '0.1.11' });
    expect(splitCommand(setup.versionCommand)[0]).toBe(python);
    expect(splitCommand(setup.versionCommand).join(' ')).toContain("m.version('knime2py')");
  });

  it('uses the pinned image with no network when only a Docker engine is there', async () => {
    const bin = binDir({ docker: '#!/bin/sh\n' });
    const probe = machine({ PATH: bin }, { 'docker info': [0, '27.0.1'], 'docker run': [0, '0.1.11'] });
    const setup = await discoverConverter({ image, scratchRoot, probe });
    expect(setup).toMatchObject({ source: 'docker', image, version: '0.1.11', isolation: { kind: 'docker' } });
    const argv = splitCommand(setup.command);
    expect(argv.slice(0, 3)).toEqual(['docker', 'run', '--rm']);
    expect(argv.join(' ')).toContain('--network none');
    expect(argv.join(' ')).toContain(`-v ${scratchRoot}:${scratchRoot}`);
    expect(argv.slice(-3)).toEqual(['--entrypoint', 'k2p', image]);
  });

  it("honours the user's K2P_VERSION_COMMAND", async () => {
    const probe = machine(
      { PATH: process.env.PATH, K2P_COMMAND: DOUBLE_COMMAND, K2P_VERSION_COMMAND: 'echo 9.9.9' },
      { 'echo 9.9.9': [0, '9.9.9'] },
    );
    const setup = await discoverConverter({ image, scratchRoot, sandbox: 'none', probe });
    expect(setup).toMatchObject({ versionCommand: 'echo 9.9.9', version: '9.9.9' });
  });

  it('quotes commands so the runner splits them back unchanged', () => {
    const argv = ['/path with space/k2p', "it's", 'plain', '-x=1', ''];
    expect(splitCommand(joinCommand(argv))).toEqual(argv);
  });
});
