// Bundles the CLI (and the validator's worker) into dist/ so `k2p-web` starts
// fast. Runs on `npm ci` (prepare); cli/k2p-web.mjs falls back to the sources
// through tsx when dist/ is missing or older than them.
import { build } from 'esbuild';

const banner = { js: "import { createRequire as __k2pCreateRequire } from 'node:module'; const require = __k2pCreateRequire(import.meta.url);" };
await build({
  entryPoints: { 'k2p-web': 'cli/main.ts', 'entry-worker': 'core/node/entry-worker.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: false,
  sourcemap: false,
  banner,
  logLevel: 'warning',
});
