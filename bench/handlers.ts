/**
 * Bundles every Lambda handler the way the deployment does (esbuild, ESM,
 * platform node, the service's Node target from core/runtime-contract.ts,
 * minified, AWS SDK bundled) and prints, per handler: the bundle size and the
 * cold module-import time over a bare `node` start. Acceptance: ≤ 1 MB each,
 * import ≤ 150 ms over bare node.
 *
 *   npx tsx bench/handlers.ts [--runs 7]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVICE_ESBUILD_TARGET } from '../core/runtime-contract';
import { HANDLERS, LAMBDA_ENV } from '../core/service-env';
import { median } from './report';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, '.tmp', 'bench-handlers');
const SIZE_BUDGET = 1_000_000;
const IMPORT_BUDGET_MS = 150;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

// ESM bundles of CommonJS dependencies need `require` (same banner the deployment uses).
const BANNER = "import { createRequire as __k2pCreateRequire } from 'node:module'; const require = __k2pCreateRequire(import.meta.url);";

/** Env a handler reads at module scope (values only need to be well-formed: nothing is called). */
const HANDLER_ENV: Record<string, string> = {
  [LAMBDA_ENV.JOBS_TABLE_NAME]: 'bench-jobs',
  [LAMBDA_ENV.DATA_BUCKET_NAME]: 'bench-data',
  [LAMBDA_ENV.STATE_MACHINE_ARN]: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { env: { ...process.env, ...HANDLER_ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${run.stderr.toString()}`);
  return ms;
}

/**
 * Import cost over a bare start, measured in interleaved pairs (bare, import)
 * so both see the same machine load. Noise only ever adds time, so the
 * minimum is the best estimate of the cost itself; the median shows the spread.
 */
function importOverBare(url: string): { min: number; median: number; cold: number } {
  const bare: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(wallMs(['-e', '']));
    cold.push(wallMs(['--input-type=module', '-e', `await import(${JSON.stringify(url)});`]));
  }
  const over = cold.map((ms, i) => ms - bare[i]!);
  return { min: Math.min(...over), median: median(over), cold: median(cold) };
}

export async function runHandlersBench(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const bare = median(Array.from({ length: RUNS }, () => wallMs(['-e', ''])));
  console.log(`bare node start: ${bare.toFixed(0)} ms (median of ${RUNS}); import cost measured in ${RUNS} interleaved pairs\n`);
  console.log(
    [
      'handler'.padEnd(16),
      'bytes'.padStart(9),
      'import ms'.padStart(10),
      'over bare min'.padStart(14),
      'median'.padStart(7),
      '  verdict',
    ].join(' '),
  );
  let failures = 0;
  for (const [name, entry] of Object.entries(HANDLERS)) {
    const outfile = join(OUT, `${name}.mjs`);
    await build({
      entryPoints: [join(ROOT, entry)],
      outfile,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      target: SERVICE_ESBUILD_TARGET,
      // As the deployment bundles (lib/service-function.ts): ESM builds first, they tree-shake better.
      mainFields: ['module', 'main'],
      banner: { js: BANNER },
      legalComments: 'none',
      logLevel: 'warning',
    });
    const bytes = statSync(outfile).size;
    const timing = importOverBare(pathToFileURL(outfile).href);
    const ok = bytes <= SIZE_BUDGET && timing.min <= IMPORT_BUDGET_MS;
    if (!ok) failures++;
    console.log(
      [
        name.padEnd(16),
        String(bytes).padStart(9),
        timing.cold.toFixed(0).padStart(10),
        timing.min.toFixed(0).padStart(14),
        timing.median.toFixed(0).padStart(7),
        ok ? '  ok' : '  OVER BUDGET',
      ].join(' '),
    );
  }
  console.log(`\nbudgets: ≤ ${SIZE_BUDGET} bytes, ≤ ${IMPORT_BUDGET_MS} ms import over bare node (minimum of the pairs)`);
  if (failures) process.exitCode = 1;
}

// Run directly: `npx tsx bench/handlers.ts`; `npm run bench` calls runHandlersBench().
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await runHandlersBench();
