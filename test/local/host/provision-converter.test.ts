/**
 * Local mode installing the pinned knime2py for itself: from a release folder
 * (K2P_SOURCE, offline), reused on the next start, replaced when it is not the
 * pinned version, and stopping with the exact command to run when it cannot.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { KNIME2PY_VERSION } from '../../../core/runner-contract';
import {
  GIT_REQUIREMENT,
  provisionConverter,
  pyprojectDependencies,
  pyprojectVersion,
  pythonInfo,
} from '../../../local/host/provision-converter';
import { ConverterNotFoundError, NoPythonError, which } from '../../../local/stand-ins/ecs-task/converter';
import { SAMPLES_DIR } from '../../support/samples';
import { describeIfPresent, knime2pyRelease } from '../../support/real-converter';
import { tempDir } from '../helpers';

const release = knime2pyRelease();

/** What `python -c` prints for the version knime2py's metadata declares. */
const metadataVersion = (python: string) =>
  spawnSync(python, ['-c', "import importlib.metadata as m; print(m.version('knime2py'))"], { encoding: 'utf8' }).stdout.trim();

describeIfPresent(
  'provisioning knime2py from a release folder',
  release ? undefined : `no knime2py ${KNIME2PY_VERSION} release folder to provision from (K2P_SOURCE, or the vendor copy)`,
  () => {
    const work = tempDir('k2p-provision-');
    const source = join(work, 'knime2py-release');
    const dir = join(work, 'data', 'knime2py');
    let first: Awaited<ReturnType<typeof provisionConverter>>;

    beforeAll(async () => {
      cpSync(release!, source, { recursive: true });
      first = await provisionConverter({ dir, env: { PATH: process.env.PATH, K2P_SOURCE: source } });
    }, 300_000);

    it('installs the pinned release into a venv whose k2p converts a sample, with the version in its metadata', () => {
      expect(first).toMatchObject({ version: KNIME2PY_VERSION, dir, from: `K2P_SOURCE=${source}`, reused: false });
      expect(metadataVersion(first.python)).toBe(KNIME2PY_VERSION);
      const out = join(work, 'out');
      const run = spawnSync(first.k2p, [join(SAMPLES_DIR, 'KNIME_io_csv'), '--out', out], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual([
        'KNIME_io_csv__g01.dot',
        'KNIME_io_csv__g01.json',
        'KNIME_io_csv__g01_workbook.ipynb',
        'KNIME_io_csv__g01_workbook.py',
      ]);
      expect(JSON.parse(readFileSync(join(dir, 'provisioned.json'), 'utf8'))).toMatchObject({ version: KNIME2PY_VERSION });
    });

    it('copies the package (never links K2P_SOURCE): it keeps working when the release folder is gone', () => {
      const sitePackages = spawnSync(
        first.python,
        ['-c', 'import knime2py, os; print(os.path.dirname(os.path.dirname(knime2py.__file__)))'],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
      expect(sitePackages.startsWith(dir)).toBe(true);
      expect(lstatSync(join(sitePackages, 'knime2py')).isDirectory()).toBe(true);
      for (const pth of readdirSync(sitePackages).filter((f) => f.endsWith('.pth')))
        expect(readFileSync(join(sitePackages, pth), 'utf8')).not.toContain(source);
      const moved = `${source}-moved`;
      cpSync(source, moved, { recursive: true });
      rmSync(source, { recursive: true, force: true });
      try {
        expect(spawnSync(first.k2p, ['--help'], { encoding: 'utf8' }).status).toBe(0);
      } finally {
        cpSync(moved, source, { recursive: true });
      }
    });

    it('reuses the provisioned copy on the next start, quickly', async () => {
      const started = Date.now();
      const again = await provisionConverter({ dir, env: { PATH: process.env.PATH, K2P_SOURCE: source } });
      expect(again).toMatchObject({ k2p: first.k2p, version: KNIME2PY_VERSION, reused: true });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('replaces a provisioned copy that is not the pinned version', async () => {
      const metadata = readdirSync(join(first.python, '..', '..'), { recursive: true, encoding: 'utf8' }).find((f) =>
        f.endsWith(`knime2py-${KNIME2PY_VERSION}.dist-info/METADATA`),
      );
      const file = join(first.python, '..', '..', metadata!);
      writeFileSync(file, readFileSync(file, 'utf8').replace(`Version: ${KNIME2PY_VERSION}`, 'Version: 0.0.1'));
      expect(metadataVersion(first.python)).toBe('0.0.1');
      const again = await provisionConverter({ dir, env: { PATH: process.env.PATH, K2P_SOURCE: source } });
      expect(again).toMatchObject({ version: KNIME2PY_VERSION, reused: false });
      expect(metadataVersion(again.python)).toBe(KNIME2PY_VERSION);
    }, 300_000);

    it('refuses a release folder of another version, or a folder that is no release', async () => {
      const other = join(work, 'other-release');
      cpSync(source, other, { recursive: true });
      const pyproject = join(other, 'pyproject.toml');
      writeFileSync(pyproject, readFileSync(pyproject, 'utf8').replace(`version = "${KNIME2PY_VERSION}"`, 'version = "0.2.0"'));
      const fresh = () => join(tempDir('k2p-provision-other-'), 'knime2py');
      await expect(provisionConverter({ dir: fresh(), env: { PATH: process.env.PATH, K2P_SOURCE: other } })).rejects.toThrow(
        `holds knime2py 0.2.0, but k2p-web is pinned to ${KNIME2PY_VERSION}`,
      );
      const empty = tempDir('k2p-not-a-release-');
      await expect(provisionConverter({ dir: fresh(), env: { PATH: process.env.PATH, K2P_SOURCE: empty } })).rejects.toThrow(
        `K2P_SOURCE=${empty} is not a knime2py release folder: it needs pyproject.toml and src/knime2py/cli.py`,
      );
    }, 120_000);

    it('installs missing dependencies with pip, or stops with the exact apt-get and pip commands', async (context) => {
      // A Python >= 3.10 without Debian's packages (pyenv's, say): the venv lacks what knime2py imports.
      let lacking: string | undefined;
      for (const name of ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3']) {
        const file = which(name, process.env);
        const info = file ? await pythonInfo(file, process.env) : undefined;
        if (info && info.version[1] >= 10 && info.missing.length > 0) lacking = file;
        if (lacking) break;
      }
      if (!lacking) {
        console.warn('SKIPPED: no Python >= 3.10 without lxml/jinja2/networkx/packaging on PATH to try the missing-dependency path with');
        context.skip();
        return;
      }
      const target = join(work, 'lacking', 'knime2py');
      const outcome = await provisionConverter({
        dir: target,
        env: { PATH: process.env.PATH, K2P_SOURCE: source },
        pythons: [lacking],
      }).catch((e: unknown) => e);
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(ConverterNotFoundError);
        expect(outcome.message).toContain('apt-get install -y python3-lxml python3-jinja2 python3-networkx python3-packaging');
        expect(outcome.message).toMatch(/`pip install "lxml[^`]*"`/);
        expect(outcome.message).toContain('could not install them');
        expect(existsSync(join(target, 'provisioned.json'))).toBe(false);
      } else {
        // pip reached an index: the dependencies are in the venv and the pinned release runs.
        expect(outcome).toMatchObject({ version: KNIME2PY_VERSION, reused: false });
        expect(metadataVersion((outcome as { python: string }).python)).toBe(KNIME2PY_VERSION);
      }
    }, 300_000);

    it('without K2P_SOURCE installs from the release tag with pip, and says exactly what to do when that fails', async () => {
      // A PATH with the same Python and no git: pip cannot fetch the tag, as on a machine without git or internet.
      const bin = join(work, 'bin-without-git');
      mkdirSync(bin);
      symlinkSync(JSON.parse(readFileSync(join(dir, 'provisioned.json'), 'utf8')).python, join(bin, 'python3'));
      const error = await provisionConverter({ dir: join(work, 'git', 'knime2py'), env: { PATH: bin }, pythons: ['python3'] }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConverterNotFoundError);
      const message = (error as Error).message;
      expect(message).toContain(`\`pip install "${GIT_REQUIREMENT}"\``);
      expect(message).toMatch(/git/);
      expect(message).toContain('needs the internet and git');
      expect(message).toContain(`K2P_SOURCE=/path/to/knime2py-${KNIME2PY_VERSION} npm start`);
      expect(existsSync(join(work, 'git', 'knime2py', 'provisioned.json'))).toBe(false);
    }, 300_000);
  },
);

it('stops with the command that installs Python when there is no Python 3.10 or newer', async () => {
  const error = await provisionConverter({
    dir: join(tempDir('k2p-nopython-'), 'knime2py'),
    env: { PATH: '' },
    pythons: ['/nonexistent/python3'],
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(NoPythonError);
  expect((error as Error).message).toMatch(/there is no Python 3\.10 or newer .*Install Python with `(brew|sudo |apt|dnf|install)/);
});

it('reads the version and the run-time requirements from pyproject.toml', () => {
  const pyproject =
    '[project]\nname = "knime2py"\nversion = "0.1.11"\ndependencies = [\n  "lxml>=4.9,<6",\n  "jinja2>=3.1,<4",\n]\n\n[tool.x]\nversion = "9"\n';
  expect(pyprojectVersion(pyproject)).toBe('0.1.11');
  expect(pyprojectDependencies(pyproject)).toEqual(['lxml>=4.9,<6', 'jinja2>=3.1,<4']);
});
