// Bundles the CLI into dist/ so `k2p-web` starts fast. Runs on `npm ci`
// (prepare); cli/k2p-web.mjs falls back to the sources through tsx when dist/
// is missing or older than them.
//
// Code splitting keeps each subcommand in its own chunk, loaded on use
// (cli/main.ts imports them dynamically): `k2p-web validate` loads the
// validator, not the bundler.
//
// core/xml.ts is not bundled but copied as its own module, dist/xml.mjs.
// Bundling turns its top-level `const` byte tables into `var`s (esbuild does
// that on purpose, with no option to keep them), and V8 can then no longer
// treat them as constants in the scanner's loops: ~15% more instructions per
// byte of XML, which is most of the validator's work.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { build } from 'esbuild';

const OUT = 'dist';
const XML_SOURCE = resolve('core/xml.ts');
const banner = {
  js: "import { createRequire as __k2pCreateRequire } from 'node:module'; const require = __k2pCreateRequire(import.meta.url);",
};

/** Resolves imports of core/xml.ts to the separate dist/xml.mjs. */
const xmlAsOwnModule = {
  name: 'xml-as-own-module',
  setup(plugin) {
    plugin.onResolve({ filter: /(^|\/)xml$/ }, (args) => {
      if (resolve(args.resolveDir, `${args.path}.ts`) !== XML_SOURCE) return undefined;
      return { path: './xml.mjs', external: true };
    });
  },
};

/** The CLI runs on users' machines: its target is the floor package.json's engines declare (`>=20.19` → node20.19). */
function cliTarget(engines = JSON.parse(readFileSync('package.json', 'utf8')).engines?.node ?? '') {
  const floor = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(engines.trim());
  if (!floor) throw new Error(`package.json engines.node must read ">=<version>", got "${engines}"`);
  return `node${floor[1]}`;
}

const common = { platform: 'node', format: 'esm', target: cliTarget(), minify: false, sourcemap: false, logLevel: 'warning' };

const result = await build({
  ...common,
  entryPoints: { 'k2p-web': 'cli/main.ts' },
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  banner,
  plugins: [xmlAsOwnModule],
  metafile: true,
});
await build({ ...common, entryPoints: [XML_SOURCE], outfile: `${OUT}/xml.mjs`, bundle: false });

// Chunk names change with their content: remove the previous build's chunks
// (after writing the new ones, so a k2p-web starting meanwhile still finds a
// complete build) rather than let them pile up.
const written = new Set(Object.keys(result.metafile.outputs).map((path) => basename(path)));
for (const name of readdirSync(OUT)) {
  if (name.startsWith('chunk-') && name.endsWith('.mjs') && !written.has(name)) rmSync(`${OUT}/${name}`, { force: true });
}
