/**
 * The real knime2py for the test suites, found like local mode finds it:
 * K2P_COMMAND, else `k2p` on PATH, else a knime2py release folder (K2P_SOURCE,
 * else the vendor copy next to the repository, which tests may use and the
 * product never does) provisioned by local mode's own code into
 * .tmp/knime2py-real, shared by the test files. Without one a suite FAILS
 * when CI is set and is skipped with a loud notice otherwise.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';
import { KNIME2PY_VERSION } from '../../core/runner-contract';
import { provisionConverter } from '../../local/host/provision-converter';
import { discoverConverter, systemProbe } from '../../local/stand-ins/ecs-task/converter';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** Where the test suites provision knime2py from a release folder (reused between files and runs). */
export const REAL_CONVERTER_CACHE = join(REPO_ROOT, '.tmp', 'knime2py-real');
/** Where a checkout's shared vendor copy of the knime2py release may be. */
const VENDOR_COPIES = [join(REPO_ROOT, '..', 'shared', 'vendor', 'knime2py'), join(REPO_ROOT, '..', '..', 'shared', 'vendor', 'knime2py')];

export interface RealConverter {
  /** K2P_COMMAND for the runner (no isolation: the suites run the runner directly). */
  command: string;
  /** K2P_VERSION_COMMAND for the runner. */
  versionCommand: string;
  version: string | null;
  /** How it was found, for the log. */
  origin: string;
  /** The environment in which local mode finds this converter (or, from a release folder, provisions it into its data dir). */
  localModeEnv: Record<string, string | undefined>;
}

export type RealConverterLookup = { converter: RealConverter; missing?: undefined } | { converter?: undefined; missing: string };

let lookup: Promise<RealConverterLookup> | undefined;

/** A knime2py release folder to provision from: K2P_SOURCE, else the vendor copy. */
export function knime2pyRelease(): string | undefined {
  return process.env.K2P_SOURCE?.trim() || VENDOR_COPIES.find((dir) => existsSync(join(dir, 'pyproject.toml')));
}

async function find(): Promise<RealConverterLookup> {
  const env = { ...process.env };
  const source = knime2pyRelease();
  try {
    const setup = await discoverConverter({
      scratchRoot: join(REPO_ROOT, '.tmp'),
      sandbox: 'none',
      probe: systemProbe(env),
      ...(source ? { provision: () => provisionConverter({ dir: REAL_CONVERTER_CACHE, env: { ...env, K2P_SOURCE: source } }) } : {}),
    });
    const origin =
      setup.source === 'provisioned'
        ? `provisioned into ${setup.provisioned?.dir} from ${setup.provisioned?.from}`
        : `${setup.display} (${setup.source})`;
    return {
      converter: {
        command: setup.command,
        versionCommand: setup.versionCommand,
        version: setup.version,
        origin,
        localModeEnv: setup.source === 'provisioned' ? { ...env, K2P_SOURCE: source } : env,
      },
    };
  } catch (error) {
    return {
      missing:
        `no real knime2py: K2P_COMMAND is not set, there is no \`k2p\` on PATH, and no knime2py ${KNIME2PY_VERSION} release folder to provision ` +
        `(K2P_SOURCE, or ${VENDOR_COPIES[0]}) could be used: ${(error as Error).message}`,
    };
  }
}

/** The real converter (looked up once per test process). */
export function findRealConverter(): Promise<RealConverterLookup> {
  return (lookup ??= find());
}

/**
 * A describe block that needs something real (`missing` says what is not
 * there): under CI one test fails with the reason, never a skip; locally the
 * block is skipped with a loud notice.
 */
export function describeIfPresent(name: string, missing: string | undefined, body: () => void): void {
  if (!missing) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('has the real knime2py to run on', () => {
        throw new Error(missing);
      });
    });
    return;
  }
  console.warn(
    `\n!!!!! SKIPPED "${name}": ${missing}\n!!!!! Set K2P_SOURCE to a knime2py ${KNIME2PY_VERSION} release folder, or K2P_COMMAND.\n`,
  );
  describe.skip(name, () => {
    it(`needs the real knime2py (${missing})`, () => undefined);
  });
}

/** A describe block run with the real knime2py (see describeIfPresent when there is none). */
export function describeWithRealConverter(name: string, found: RealConverterLookup, body: (converter: RealConverter) => void): void {
  describeIfPresent(name, found.missing, () => body(found.converter!));
}
