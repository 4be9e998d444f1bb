/**
 * Builds the site into web/dist: index.html with app-<hash>.js (TypeScript
 * bundled and minified with esbuild), admin.html with admin-<hash>.js (the
 * operators' page), the shared styles-<hash>.css, favicon.svg.
 * config.json is not built: the deployment writes it (lib/website.ts) and
 * local mode serves it.
 *
 *   npm run build:web            build (skipped when nothing changed)
 *   npx tsx web/build.ts --force
 *
 * `buildWeb()` is fast and idempotent: it compares the inputs of the last
 * build (every file esbuild read, plus the HTML pages and the favicon) with a
 * stamp in .tmp/ and returns at once when none changed. Hashed names let
 * browsers and CloudFront cache the assets for good; a new build writes the
 * new assets before the HTML pages and removes the old ones last, so a page being
 * served meanwhile never points at a missing file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, version as esbuildVersion } from 'esbuild';

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(WEB, '..');
export const WEB_DIST = join(WEB, 'dist');
const STATIC_FILES = ['favicon.svg'];
/** Each HTML page and its script bundle: the page references `./<bundle>.js` and `./styles.css`. */
const PAGES = [
  { html: 'index.html', bundle: 'app', entry: join(WEB, 'src', 'main.ts') },
  { html: 'admin.html', bundle: 'admin', entry: join(WEB, 'src', 'admin', 'main.ts') },
] as const;

export interface WebBuildOptions {
  /** @default web/dist */
  outDir?: string;
  /** Build even when the stamp says nothing changed. */
  force?: boolean;
}

export interface WebBuild {
  outDir: string;
  /** false when the previous build was still current. */
  built: boolean;
  /** Asset names (relative to outDir) → bytes and gzip bytes. */
  assets: Record<string, { bytes: number; gzipBytes: number }>;
  /** JS + CSS after gzip: the page weight a visitor downloads. */
  gzipBytes: number;
  ms: number;
}

interface Stamp {
  key: string;
  inputs: Record<string, string>;
  assets: WebBuild['assets'];
}

/** A cheap fingerprint of a file: size and mtime (a rebuild with equal content is harmless). */
function fingerprint(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Kept outside dist: everything in dist is deployed to the public site. */
export function stampPath(outDir: string): string {
  return join(ROOT, '.tmp', `web-build-${createHash('sha256').update(outDir).digest('hex').slice(0, 12)}.json`);
}

function readStamp(outDir: string): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(stampPath(outDir), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

function current(stamp: Stamp | undefined, key: string, outDir: string): stamp is Stamp {
  if (!stamp || stamp.key !== key) return false;
  for (const page of PAGES) if (!existsSync(join(outDir, page.html))) return false;
  for (const name of Object.keys(stamp.assets)) if (!existsSync(join(outDir, name))) return false;
  return Object.entries(stamp.inputs).every(([path, print]) => fingerprint(resolve(ROOT, path)) === print);
}

function gzipSize(data: Uint8Array): number {
  return gzipSync(data, { level: 9 }).length;
}

/** Writes through a temporary name so a reader never sees half a file. */
function writeAtomic(path: string, data: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

export async function buildWeb(options: WebBuildOptions = {}): Promise<WebBuild> {
  const started = performance.now();
  const outDir = resolve(options.outDir ?? WEB_DIST);
  const key = JSON.stringify({ esbuild: esbuildVersion, outDir: relative(WEB, outDir), format: 3 });
  const previous = readStamp(outDir);
  if (!options.force && current(previous, key, outDir)) {
    return { outDir, built: false, assets: previous.assets, gzipBytes: totalGzip(previous.assets), ms: performance.now() - started };
  }
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { ...Object.fromEntries(PAGES.map((page) => [page.bundle, page.entry])), styles: join(WEB, 'styles.css') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last ~3 years: native ES2022, no polyfills shipped.
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
    // Metafile input paths are then relative to the repository root.
    absWorkingDir: ROOT,
  });
  const assets: WebBuild['assets'] = {};
  const hashed = new Map<string, string>();
  for (const file of result.outputFiles) {
    const name = relative(outDir, file.path);
    writeAtomic(file.path, file.contents);
    assets[name] = { bytes: file.contents.length, gzipBytes: gzipSize(file.contents) };
    const match = /^([a-z]+)-[A-Z0-9]+\.(js|css)$/i.exec(name);
    if (match) hashed.set(`${match[1]}.${match[2]}`, name);
  }
  const stylesName = hashed.get('styles.css');
  if (!stylesName) throw new Error('web build: esbuild produced no styles bundle');
  for (const name of STATIC_FILES) writeAtomic(join(outDir, name), readFileSync(join(WEB, name)));
  for (const { html: htmlName, bundle } of PAGES) {
    const scriptName = hashed.get(`${bundle}.js`);
    if (!scriptName) throw new Error(`web build: esbuild produced no ${bundle} bundle`);
    const html = readFileSync(join(WEB, htmlName), 'utf8');
    const page: string = html
      .replace('href="./styles.css"', `href="./${stylesName}"`)
      .replace(`src="./${bundle}.js"`, `src="./${scriptName}"`);
    if (page === html || !page.includes(scriptName) || !page.includes(stylesName))
      throw new Error(`web build: ${htmlName} must reference ./${bundle}.js and ./styles.css`);
    writeAtomic(join(outDir, htmlName), page);
  }

  // Old hashed assets go last: the pages already point at the new ones.
  const keep = new Set([...Object.keys(assets), ...STATIC_FILES, ...PAGES.map((page) => page.html)]);
  const bundles = [...PAGES.map((page) => page.bundle), 'styles'].join('|');
  for (const name of readdirSync(outDir)) {
    if (!keep.has(name) && new RegExp(`^(${bundles})-[A-Z0-9]+\\.(js|css)$`, 'i').test(name)) rmSync(join(outDir, name), { force: true });
  }

  const inputs: Record<string, string> = {};
  for (const path of [
    ...Object.keys(result.metafile.inputs),
    ...PAGES.map((page) => relative(ROOT, join(WEB, page.html))),
    ...STATIC_FILES.map((n) => relative(ROOT, join(WEB, n))),
  ]) {
    inputs[path] = fingerprint(resolve(ROOT, path));
  }
  mkdirSync(dirname(stampPath(outDir)), { recursive: true });
  writeAtomic(stampPath(outDir), JSON.stringify({ key, inputs, assets } satisfies Stamp, null, 2));
  return { outDir, built: true, assets, gzipBytes: totalGzip(assets), ms: performance.now() - started };
}

function totalGzip(assets: WebBuild['assets']): number {
  return Object.entries(assets)
    .filter(([name]) => /\.(js|css)$/.test(name))
    .reduce((sum, [, a]) => sum + a.gzipBytes, 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const web = await buildWeb({ force: process.argv.includes('--force') });
  const sizes = Object.entries(web.assets)
    .map(([name, a]) => `${name} ${(a.bytes / 1024).toFixed(1)} KiB (gzip ${(a.gzipBytes / 1024).toFixed(1)} KiB)`)
    .join(', ');
  console.log(
    `${web.built ? 'web page built' : 'web page up to date'} in ${Math.round(web.ms)} ms: ${relative(process.cwd(), web.outDir) || '.'} — ${sizes}; JS+CSS gzip ${(web.gzipBytes / 1024).toFixed(1)} KiB`,
  );
}
