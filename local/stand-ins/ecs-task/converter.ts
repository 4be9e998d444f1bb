/**
 * Finds the real knime2py converter for local mode and decides how to isolate
 * it: K2P_COMMAND, else `k2p` on PATH, else the pinned release provisioned
 * into the data dir (local/host/provision-converter.ts), else the pinned
 * Docker image when a Docker engine answers. Without one, local mode stops with install guidance;
 * it never falls back to a fake converter. Where the task sandbox (sandbox.ts)
 * is not available, the converter still runs without network when the machine
 * allows it (a user+network namespace with `unshare -rn`, else bubblewrap, or
 * `docker run --network none`); the runner itself keeps its network to reach
 * local S3.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, openSync, readSync, closeSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_VERSION_COMMAND, plausibleVersion, splitCommand } from '../../../core/runner-contract';

export type IsolationKind = 'unshare' | 'bwrap' | 'docker' | 'none';

export interface Isolation {
  kind: IsolationKind;
  /** One line for the banner. */
  description: string;
  /** Put in front of the converter command. */
  prefix: string[];
}

export interface ConverterSetup {
  /** How it was found: 'K2P_COMMAND', 'PATH', 'provisioned' (into the data dir) or 'docker'. */
  source: 'K2P_COMMAND' | 'PATH' | 'provisioned' | 'docker';
  /** The converter as the user named it, without isolation (for the banner). */
  display: string;
  /** K2P_COMMAND for the runner: isolation prefix + converter argv, quoted for splitCommand (core/runner-contract.ts). */
  command: string;
  /** The converter's own argv, without isolation (absent for the Docker image); the task sandbox wraps it itself. */
  argv?: string[];
  /** K2P_VERSION_COMMAND for the runner. */
  versionCommand: string;
  /** The version found at start-up; null when it cannot be told. */
  version: string | null;
  isolation: Isolation;
  /** The Docker image, when the converter runs in one. */
  image?: string;
  /** Where a provisioned copy lives and what it came from. */
  provisioned?: { dir: string; from: string; reused: boolean };
}

/** A pinned knime2py that local mode installed for itself (local/host/provision-converter.ts). */
export interface ProvisionedK2p {
  k2p: string;
  dir: string;
  from: string;
  reused: boolean;
}

/** How local mode looks at the machine; replaceable in tests. */
export interface Probe {
  env: Record<string, string | undefined>;
  /** Runs a command briefly: exit code (null when it could not start or timed out) and stdout. */
  run(argv: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string }>;
}

/** Runs a command without a shell: exit code (null when it could not start or timed out), stdout and stderr. */
export function runCommand(
  argv: string[],
  timeoutMs: number,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const [file, ...args] = argv as [string, ...string[]];
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20, env: env as NodeJS.ProcessEnv },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null) : 0;
        done({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') || (error && code === null ? error.message : '') });
      },
    );
  });
}

export const systemProbe = (env: Record<string, string | undefined> = process.env): Probe => ({
  env,
  run: (argv, timeoutMs) => runCommand(argv, timeoutMs, env),
});

export const INSTALL_GUIDANCE =
  'k2p-web local mode needs the real knime2py converter, and none was found: K2P_COMMAND is not set, there is no `k2p` on your PATH, ' +
  'and no Docker engine answers for the pinned image. Install knime2py with `pipx install git+https://github.com/vitalii-kaplan/knime2py` ' +
  '(or `pip install git+https://github.com/vitalii-kaplan/knime2py` in a virtual environment) so that `k2p` is on your PATH, ' +
  'or set K2P_COMMAND to the command that runs it (for example `K2P_COMMAND="/path/to/venv/bin/k2p" npm start`), ' +
  'or start Docker so that the image can be used; then run `npm start` again.';

export class ConverterNotFoundError extends Error {
  constructor(message: string = INSTALL_GUIDANCE) {
    super(message);
    this.name = 'ConverterNotFoundError';
  }
}

/** No Python ≥ 3.10 to provision knime2py into: the Docker image may still serve. */
export class NoPythonError extends ConverterNotFoundError {
  constructor(message: string) {
    super(message);
    this.name = 'NoPythonError';
  }
}

/** Quotes argv so splitCommand (core/runner-contract.ts) gives it back unchanged. */
export function joinCommand(argv: string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`)).join(' ');
}

/** `name` resolved like execvp: a path is taken as is, a bare name is looked up in PATH. */
export function which(name: string, env: Record<string, string | undefined>): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) {
    const file = isAbsolute(name) ? name : resolve(name);
    return executable(file) ? file : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** The Python interpreter behind a command (a python binary, or a script with a python shebang), if any. */
export function pythonOf(file: string, env: Record<string, string | undefined>): string | undefined {
  if (/^python[0-9.]*$/.test(basename(file))) return file;
  let head: string;
  try {
    const fd = openSync(file, 'r');
    const buffer = Buffer.alloc(256);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    closeSync(fd);
    head = buffer.subarray(0, read).toString('utf8');
  } catch {
    return undefined;
  }
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head.split('\n')[0] ?? '');
  if (!shebang) return undefined;
  const [, interpreter, argument] = shebang as unknown as [string, string, string | undefined];
  if (basename(interpreter) === 'env' && argument && /^python[0-9.]*$/.test(argument)) return which(argument, env);
  return /python[0-9.]*$/.test(basename(interpreter)) ? interpreter : undefined;
}

function pythonVersionCommand(python: string): string {
  // The runner's default asks `python3`; ask the converter's own interpreter (a pipx venv, say).
  return DEFAULT_VERSION_COMMAND.replace(/^python3\b/, joinCommand([python]));
}

/** No Python package to ask: the runner records the version as unknown (null). */
const UNKNOWN_VERSION_COMMAND = joinCommand([process.execPath, '-e', 'process.exitCode = 1']);

async function readVersion(probe: Probe, versionCommand: string): Promise<string | null> {
  const { code, stdout } = await probe.run(splitCommand(versionCommand), 30_000);
  return code === 0 ? plausibleVersion(stdout) : null;
}

async function detectIsolation(probe: Probe, wanted: 'auto' | 'none'): Promise<Isolation> {
  const none: Isolation = {
    kind: 'none',
    description: 'none — the converter runs with your network access (no unshare or bwrap available)',
    prefix: [],
  };
  if (wanted === 'none') return { ...none, description: 'none — disabled with --sandbox none' };
  if ((await probe.run(['unshare', '-rn', 'true'], 5000)).code === 0) {
    return {
      kind: 'unshare',
      description: 'no network for the converter (unshare -rn: own user and network namespace)',
      prefix: ['unshare', '-rn'],
    };
  }
  const bwrap = ['bwrap', '--dev-bind', '/', '/', '--unshare-net', '--die-with-parent', '--'];
  if ((await probe.run([...bwrap, 'true'], 5000)).code === 0) {
    return { kind: 'bwrap', description: 'no network for the converter (bubblewrap --unshare-net)', prefix: bwrap };
  }
  return none;
}

export interface DiscoverOptions {
  /** The pinned image (the task definition's CONVERTER_IMAGE); a function is asked only when a Docker engine answers. */
  image?: string | (() => Promise<string | undefined>);
  /** Host directory holding every task's scratch (mounted into the Docker converter at the same path). */
  scratchRoot: string;
  /** 'none' turns the network isolation off. @default 'auto' */
  sandbox?: 'auto' | 'none';
  probe?: Probe;
  /** Installs the pinned knime2py when none is found (throws NoPythonError when it cannot). */
  provision?: () => Promise<ProvisionedK2p>;
}

export async function discoverConverter(options: DiscoverOptions): Promise<ConverterSetup> {
  const probe = options.probe ?? systemProbe();
  const { env } = probe;
  const userVersionCommand = env.K2P_VERSION_COMMAND?.trim() || undefined;

  const configured = env.K2P_COMMAND?.trim();
  let argv: string[] | undefined;
  let source: ConverterSetup['source'] | undefined;
  if (configured) {
    argv = splitCommand(configured);
    const file = argv[0] ? which(argv[0], env) : undefined;
    if (!file) {
      throw new ConverterNotFoundError(
        `K2P_COMMAND is set to \`${configured}\`, but \`${argv[0] ?? ''}\` is not an executable file or a command on your PATH. ` +
          'Point K2P_COMMAND at the knime2py `k2p` command (for example the one in its virtual environment), or unset it to use `k2p` from your PATH; ' +
          'install knime2py with `pipx install git+https://github.com/vitalii-kaplan/knime2py`.',
      );
    }
    source = 'K2P_COMMAND';
  } else if (which('k2p', env)) {
    argv = ['k2p'];
    source = 'PATH';
  }
  let provisioned: ProvisionedK2p | undefined;
  let noPython: NoPythonError | undefined;
  if (!argv && options.provision) {
    try {
      provisioned = await options.provision();
      argv = [provisioned.k2p];
      source = 'provisioned';
    } catch (error) {
      if (!(error instanceof NoPythonError)) throw error;
      noPython = error;
    }
  }

  if (argv && source) {
    const isolation = await detectIsolation(probe, options.sandbox ?? 'auto');
    const python = pythonOf(which(argv[0]!, env)!, env);
    const versionCommand = userVersionCommand ?? (python ? pythonVersionCommand(python) : UNKNOWN_VERSION_COMMAND);
    return {
      source,
      display: joinCommand(argv),
      argv,
      command: joinCommand([...isolation.prefix, ...argv]),
      versionCommand,
      version: await readVersion(probe, versionCommand),
      isolation,
      ...(provisioned ? { provisioned: { dir: provisioned.dir, from: provisioned.from, reused: provisioned.reused } } : {}),
    };
  }

  const dockerAnswers = async () =>
    Boolean(which('docker', env)) && (await probe.run(['docker', 'info', '--format', '{{.ServerVersion}}'], 10_000)).code === 0;
  const image =
    options.image && (await dockerAnswers()) ? (typeof options.image === 'string' ? options.image : await options.image()) : undefined;
  if (image) {
    const run = [
      'docker',
      'run',
      '--rm',
      '-i',
      '--network',
      'none',
      '--read-only',
      '--tmpfs',
      '/tmp',
      '-e',
      'HOME=/tmp',
      '-e',
      'TMPDIR=/tmp',
    ];
    const uid = process.getuid?.();
    const gid = process.getgid?.();
    if (uid !== undefined && gid !== undefined) run.push('--user', `${uid}:${gid}`);
    // Same path inside and out: the runner passes host paths of the run folder as arguments.
    run.push('-v', `${options.scratchRoot}:${options.scratchRoot}`);
    const command = [...run, '--entrypoint', 'k2p', image];
    const versionCommand =
      userVersionCommand ??
      joinCommand([
        'docker',
        'run',
        '--rm',
        '--network',
        'none',
        '--entrypoint',
        'python3',
        image,
        ...splitCommand(DEFAULT_VERSION_COMMAND).slice(1),
      ]);
    return {
      source: 'docker',
      display: `docker image ${image}`,
      command: joinCommand(command),
      versionCommand,
      version: await readVersion(probe, versionCommand),
      isolation: { kind: 'docker', description: 'no network for the converter (docker run --network none, read-only root)', prefix: [] },
      image: image,
    };
  }

  throw noPython ?? new ConverterNotFoundError();
}
