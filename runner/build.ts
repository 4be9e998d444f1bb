/**
 * Bundles the runner into one ESM file, runner/dist/runner.mjs, the only
 * program file the container image copies (the Docker build context is runner/
 * and stays tiny). Run it before `docker build` / `cdk synth`:
 *
 *   npx tsx runner/build.ts
 *
 * The CDK app can import `buildRunner()` and call it before
 * `ContainerImage.fromAsset('runner')`.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { SERVICE_ESBUILD_TARGET } from '../core/runtime-contract';

const here = dirname(fileURLToPath(import.meta.url));
export const RUNNER_ENTRY = join(here, 'runner.ts');
export const RUNNER_BUNDLE = join(here, 'dist', 'runner.mjs');

export async function buildRunner(outfile: string = RUNNER_BUNDLE): Promise<string> {
  await build({
    entryPoints: [RUNNER_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // The image's Node major; CI runs the bundle under it and under the development floor (Node 20).
    target: SERVICE_ESBUILD_TARGET,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies call require() for Node built-ins; ESM has no require of its own.
    banner: {
      js: "import { createRequire as __k2pCreateRequire } from 'node:module'; const require = __k2pCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildRunner().then((file) => console.log(`runner bundled: ${file}`));
}
