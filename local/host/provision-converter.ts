/**
 * Provisions the pinned knime2py release for local mode when no converter is
 * installed: a virtual environment in the data dir (`<dataDir>/knime2py/venv`,
 * made with `--system-site-packages` so the distribution's lxml, jinja2,
 * networkx and packaging count) holding knime2py either copied from a local
 * release folder (K2P_SOURCE, offline: its `src/knime2py` plus the package
 * metadata and a `k2p` launcher, since building a wheel needs hatchling) or
 * installed by pip from the release tag on GitHub. A provisioned copy whose
 * version checks out is reused on the next start.
 */
import { accessSync, chmodSync, constants, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { KNIME2PY_REPOSITORY, KNIME2PY_VERSION } from '../../core/runner-contract';
import { ConverterNotFoundError, NoPythonError, runCommand, which } from '../stand-ins/ecs-task/converter';
import { withDirectoryLock } from './dir-lock';

/** The Python modules knime2py imports at run time (its pyproject's dependencies), with their Debian packages. */
const PYTHON_DEPENDENCIES = ['lxml', 'jinja2', 'networkx', 'packaging'] as const;
const APT_DEPENDENCIES = `apt-get install -y ${PYTHON_DEPENDENCIES.map((d) => `python3-${d}`).join(' ')}`;
/** knime2py needs Python ≥ 3.10. */
const MIN_PYTHON: [number, number] = [3, 10];
const PYTHON_NAMES = ['python3', 'python3.13', 'python3.12', 'python3.11', 'python3.10'];

export const GIT_REQUIREMENT = `git+${KNIME2PY_REPOSITORY}@v${KNIME2PY_VERSION}`;

export interface ProvisionOptions {
  /** Where the copy lives, e.g. `<dataDir>/knime2py`. */
  dir: string;
  /** PATH (to find Python) and K2P_SOURCE. */
  env: Record<string, string | undefined>;
  /** Interpreters tried in order. @default python3, python3.13 … python3.10 on PATH, then /usr/bin/python3 */
  pythons?: string[];
  log?: (line: string) => void;
}

export interface ProvisionedConverter {
  /** The `k2p` command in the venv. */
  k2p: string;
  /** The venv's interpreter (reads the version the runner records). */
  python: string;
  version: string;
  dir: string;
  /** `K2P_SOURCE=<dir>` or the pip requirement it was installed from. */
  from: string;
  reused: boolean;
}

interface Stamp {
  version: string;
  from: string;
  python: string;
}

const run = runCommand;

const lastLines = (text: string, n = 3) => text.trim().split('\n').slice(-n).join(' | ');

/** The line of pip's output that says what went wrong (git's `fatal:`, pip's `ERROR:`), else its last lines. */
export function pipFailure(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const telling = lines.find((l) => /^(fatal:|ERROR:)|Could not (resolve|find|fetch|install)|No matching distribution/.test(l));
  return telling ?? lastLines(stderr);
}

/** A Python's version and which of knime2py's dependencies it cannot import. */
const PYTHON_CHECK = [
  'import importlib.util, json, sys',
  `mods = ${JSON.stringify(PYTHON_DEPENDENCIES)}`,
  'print(json.dumps({"version": list(sys.version_info[:2]), "missing": [m for m in mods if importlib.util.find_spec(m) is None]}))',
].join('\n');

/** What a provisioned venv holds: knime2py's version by its metadata, once knime2py and every dependency import. */
const VENV_CHECK = [
  'import importlib.metadata as m, json',
  'out = {"version": None, "error": None}',
  'try:',
  `    import knime2py.cli, ${PYTHON_DEPENDENCIES.join(', ')}`,
  '    out["version"] = m.version("knime2py")',
  'except Exception as e:',
  '    out["error"] = f"{type(e).__name__}: {e}"',
  'print(json.dumps(out))',
].join('\n');

interface PythonFound {
  python: string;
  version: [number, number];
  missing: string[];
}

/** A Python's version and which of knime2py's dependencies it cannot import; undefined when it does not answer like one. */
export async function pythonInfo(python: string, env: Record<string, string | undefined>): Promise<PythonFound | undefined> {
  const { code, stdout } = await run([python, '-c', PYTHON_CHECK], 20_000, env);
  if (code !== 0) return undefined;
  try {
    const found = JSON.parse(stdout.trim()) as { version: [number, number]; missing: string[] };
    return { python, version: found.version, missing: found.missing };
  } catch {
    return undefined; // Not a Python that answers like one.
  }
}

async function findPython(
  candidates: string[],
  env: Record<string, string | undefined>,
): Promise<{ usable?: PythonFound; seen: string[] }> {
  const seen: string[] = [];
  const usable: PythonFound[] = [];
  for (const candidate of candidates) {
    const file = which(candidate, env);
    if (!file || seen.includes(file)) continue;
    seen.push(file);
    const found = await pythonInfo(file, env);
    const [major, minor] = found?.version ?? [0, 0];
    if (found && (major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]))) usable.push(found);
  }
  // One with every dependency beats the first one found.
  return { usable: usable.find((p) => p.missing.length === 0) ?? usable[0], seen };
}

function installPythonCommand(env: Record<string, string | undefined>): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  if (process.platform === 'darwin') return 'brew install python@3.12';
  if (which('apt-get', env))
    return `${sudo}apt-get install -y python3 python3-venv ${PYTHON_DEPENDENCIES.map((d) => `python3-${d}`).join(' ')}`;
  if (which('dnf', env)) return `${sudo}dnf install -y python3 python3-lxml python3-jinja2 python3-networkx python3-packaging`;
  return 'install Python 3.10 or newer from https://www.python.org/downloads/';
}

async function checkVenv(
  python: string,
  env: Record<string, string | undefined>,
): Promise<{ version: string | null; error: string | null }> {
  const { code, stdout, stderr } = await run([python, '-c', VENV_CHECK], 30_000, env);
  if (code !== 0) return { version: null, error: lastLines(stderr) || `exit ${code}` };
  try {
    return JSON.parse(stdout.trim()) as { version: string | null; error: string | null };
  } catch {
    return { version: null, error: `unexpected output: ${stdout.trim().slice(0, 200)}` };
  }
}

/** `version = "…"` of pyproject.toml's [project] table. */
export function pyprojectVersion(pyproject: string): string | undefined {
  const project = /^\[project\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(pyproject)?.[1] ?? '';
  return /^version\s*=\s*"([^"]+)"/m.exec(project)?.[1];
}

/** pyproject.toml's run-time requirements (`dependencies = [...]` of [project]). */
export function pyprojectDependencies(pyproject: string): string[] {
  const project = /^\[project\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(pyproject)?.[1] ?? '';
  const list = /^dependencies\s*=\s*\[([\s\S]*?)\]/m.exec(project)?.[1] ?? '';
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

/** The k2p console script pip would write for knime2py's `k2p = "knime2py.cli:main"`. */
function launcher(python: string): string {
  return `#!${python}\n# knime2py's k2p entry point (knime2py.cli:main), written by k2p-web local mode.\nimport sys\nfrom knime2py.cli import main\n\nif __name__ == "__main__":\n    sys.exit(main())\n`;
}

function readStamp(dir: string): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'provisioned.json'), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

async function reuse(dir: string, env: Record<string, string | undefined>): Promise<ProvisionedConverter | undefined> {
  const stamp = readStamp(dir);
  const python = join(dir, 'venv', 'bin', 'python');
  const k2p = join(dir, 'venv', 'bin', 'k2p');
  if (!stamp || !existsSync(k2p) || !existsSync(python)) return undefined;
  const { version } = await checkVenv(python, env);
  return version === KNIME2PY_VERSION ? { k2p, python, version, dir, from: stamp.from, reused: true } : undefined;
}

/** The release folder's pyproject.toml, once it is the pinned knime2py release. */
function checkSource(source: string): string {
  const pyprojectFile = join(source, 'pyproject.toml');
  const packageDir = join(source, 'src', 'knime2py');
  if (!existsSync(pyprojectFile) || !existsSync(join(packageDir, 'cli.py'))) {
    throw new ConverterNotFoundError(
      `K2P_SOURCE=${source} is not a knime2py release folder: it needs pyproject.toml and src/knime2py/cli.py ` +
        `(a checkout or download of ${KNIME2PY_REPOSITORY} at tag v${KNIME2PY_VERSION}).`,
    );
  }
  const pyproject = readFileSync(pyprojectFile, 'utf8');
  const version = pyprojectVersion(pyproject);
  if (version !== KNIME2PY_VERSION) {
    throw new ConverterNotFoundError(
      `K2P_SOURCE=${source} holds knime2py ${version ?? '(no version in pyproject.toml)'}, but k2p-web is pinned to ${KNIME2PY_VERSION}: ` +
        `point K2P_SOURCE at the v${KNIME2PY_VERSION} release (${KNIME2PY_REPOSITORY}/releases/tag/v${KNIME2PY_VERSION}).`,
    );
  }
  return pyproject;
}

/** Copies a knime2py release folder into the venv: package, metadata, launcher; pip only for missing dependencies. */
async function installFromSource(
  source: string,
  venv: string,
  dir: string,
  python: string,
  pyproject: string,
  env: Record<string, string | undefined>,
): Promise<void> {
  const pyprojectFile = join(source, 'pyproject.toml');
  const packageDir = join(source, 'src', 'knime2py');
  const sitePackages = (await run([python, '-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"], 20_000, env)).stdout.trim();
  if (!isAbsolute(sitePackages)) throw new ConverterNotFoundError(`could not find the site-packages folder of ${python}`);
  // A copy, never a link to K2P_SOURCE: the provisioned converter must not change when that folder does.
  cpSync(packageDir, join(sitePackages, 'knime2py'), { recursive: true, filter: (f) => !f.includes('__pycache__') });
  cpSync(pyprojectFile, join(dir, 'pyproject.toml'));
  const distInfo = join(sitePackages, `knime2py-${KNIME2PY_VERSION}.dist-info`);
  mkdirSync(distInfo, { recursive: true });
  const requires = pyprojectDependencies(pyproject);
  writeFileSync(
    join(distInfo, 'METADATA'),
    ['Metadata-Version: 2.1', 'Name: knime2py', `Version: ${KNIME2PY_VERSION}`, ...requires.map((r) => `Requires-Dist: ${r}`), ''].join(
      '\n',
    ),
  );
  writeFileSync(join(distInfo, 'INSTALLER'), 'k2p-web\n');
  writeFileSync(join(distInfo, 'entry_points.txt'), '[console_scripts]\nk2p = knime2py.cli:main\nknime2py = knime2py.cli:main\n');
  writeFileSync(join(distInfo, 'RECORD'), '');
  const k2p = join(venv, 'bin', 'k2p');
  writeFileSync(k2p, launcher(python));
  chmodSync(k2p, 0o755);

  const missing = (await pythonInfo(python, env))?.missing ?? [...PYTHON_DEPENDENCIES];
  if (missing.length === 0) return;
  const wanted = requires.filter((r) => missing.some((m) => r.toLowerCase().startsWith(m)));
  // Few retries: offline, pip would otherwise wait through its backoff before saying so.
  const pip = [python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--retries', '1', ...wanted];
  const installed = await run(pip, 10 * 60_000, env);
  const after =
    installed.code === 0 ? await checkVenv(python, env) : { error: pipFailure(installed.stderr) || `pip exited ${installed.code}` };
  if (after.error) {
    throw new ConverterNotFoundError(
      `knime2py ${KNIME2PY_VERSION} was copied from K2P_SOURCE=${source}, but the Python it runs on (${python}) cannot import ${missing.join(', ')} ` +
        `and pip could not install them (${after.error}). Install them with \`${process.getuid?.() === 0 ? '' : 'sudo '}${APT_DEPENDENCIES}\` ` +
        `(Debian/Ubuntu; local mode then prefers /usr/bin/python3) or \`pip install ${wanted.map((r) => `"${r}"`).join(' ')}\`, then run \`npm start\` again.`,
    );
  }
}

async function installFromGit(venv: string, python: string, env: Record<string, string | undefined>): Promise<void> {
  const installed = await run(
    [python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', GIT_REQUIREMENT],
    15 * 60_000,
    env,
  );
  if (installed.code === 0 && existsSync(join(venv, 'bin', 'k2p'))) return;
  throw new ConverterNotFoundError(
    `local mode could not install the converter: \`pip install "${GIT_REQUIREMENT}"\` into ${venv} failed ` +
      `(${pipFailure(installed.stderr) || `exit ${installed.code}`}). That install needs the internet and git. ` +
      `Offline, download the knime2py v${KNIME2PY_VERSION} release (${KNIME2PY_REPOSITORY}/archive/refs/tags/v${KNIME2PY_VERSION}.tar.gz) ` +
      `on a machine that has it, unpack it here and start with \`K2P_SOURCE=/path/to/knime2py-${KNIME2PY_VERSION} npm start\`; ` +
      'or install knime2py yourself and set K2P_COMMAND to its `k2p`.',
  );
}

/**
 * Makes the pinned knime2py available in `options.dir` (reusing a good copy)
 * and returns its `k2p`. Throws NoPythonError when no Python ≥ 3.10 is found,
 * ConverterNotFoundError with what to do when the install fails.
 */
export async function provisionConverter(options: ProvisionOptions): Promise<ProvisionedConverter> {
  const dir = resolve(options.dir);
  const { env } = options;
  const log = options.log ?? (() => undefined);
  // Test files provision one shared cache in parallel.
  return withDirectoryLock(`${dir}.lock`, async () => {
    const existing = await reuse(dir, env);
    if (existing) return existing;

    const candidates = options.pythons ?? [...PYTHON_NAMES, '/usr/bin/python3'];
    const { usable, seen } = await findPython(candidates, env);
    if (!usable) {
      throw new NoPythonError(
        `k2p-web local mode needs the knime2py converter and found none (no K2P_COMMAND, no \`k2p\` on your PATH), and it cannot install one: ` +
          `there is no Python ${MIN_PYTHON.join('.')} or newer (${seen.length ? `tried ${seen.join(', ')}` : 'no python3 on your PATH'}). ` +
          `Install Python with \`${installPythonCommand(env)}\` and run \`npm start\` again; or install knime2py yourself and set K2P_COMMAND to its \`k2p\`.`,
      );
    }
    const sourceSetting = env.K2P_SOURCE?.trim();
    const source = sourceSetting ? resolve(sourceSetting) : undefined;
    const from = source ? `K2P_SOURCE=${source}` : GIT_REQUIREMENT;
    const pyproject = source ? checkSource(source) : undefined;
    log(`Provisioning knime2py ${KNIME2PY_VERSION} into ${dir} (Python ${usable.version.join('.')} at ${usable.python}, from ${from})…`);

    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const venv = join(dir, 'venv');
    // pip is needed only to fetch something: not for a release folder whose dependencies the system already has.
    const needsPip = !pyproject || usable.missing.length > 0;
    let made = await run(
      [usable.python, '-m', 'venv', '--system-site-packages', ...(needsPip ? [] : ['--without-pip']), venv],
      5 * 60_000,
      env,
    );
    // Debian's Python without python3-venv has no ensurepip: the system's pip (seen through the system site) may still serve.
    if (made.code !== 0 && needsPip)
      made = await run([usable.python, '-m', 'venv', '--system-site-packages', '--without-pip', venv], 60_000, env);
    const python = join(venv, 'bin', 'python');
    if (made.code !== 0 || !existsSync(python)) {
      throw new ConverterNotFoundError(
        `could not create a virtual environment with ${usable.python} (${lastLines(made.stderr) || `exit ${made.code}`}). ` +
          `Install the venv module (\`${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y python3-venv\` on Debian/Ubuntu) and run \`npm start\` again.`,
      );
    }

    if (source && pyproject) await installFromSource(source, venv, dir, python, pyproject, env);
    else await installFromGit(venv, python, env);

    const { version, error } = await checkVenv(python, env);
    if (version !== KNIME2PY_VERSION) {
      throw new ConverterNotFoundError(
        `the converter provisioned into ${dir} from ${from} is knime2py ${version ?? `that does not run (${error})`}, not the pinned ${KNIME2PY_VERSION}.`,
      );
    }
    const stamp: Stamp = { version, from, python: usable.python };
    writeFileSync(join(dir, 'provisioned.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    const k2p = join(venv, 'bin', 'k2p');
    accessSync(k2p, constants.X_OK);
    return { k2p, python, version, dir, from, reused: false };
  });
}
