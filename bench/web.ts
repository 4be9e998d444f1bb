/**
 * Web page benchmark: manifest + bundle of a generated
 * 1000-node workflow folder in headless Chromium, through the page's real
 * code path (the folder picker's files → bundler → review rendered), and the
 * page weight (JS + CSS after gzip). Goal: ≤ 2 s and ≤ 150 KB.
 *
 * The page is served from web/dist by a plain static server with a
 * config.json pointing nowhere: picking and reviewing never call the API.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { unzipSync } from 'fflate';
import { buildWeb, WEB_DIST } from '../web/build';
import { CHROMIUM, HAS_CHROMIUM, launchChromium, SKIP_MESSAGE } from '../test/browser/support';
import { generateBundle } from './generate-bundle';
import { median, printTable } from './report';

const NODES = 1000;
const SETTINGS_BYTES = 4096;
const GOAL_MS = 2000;
const GOAL_GZIP_BYTES = 150 * 1024;

/** A workflow folder as KNIME leaves it: the bundle's files plus data the bundler must leave alone. */
function writeWorkflowFolder(parent: string, nodes: number): { folder: string; files: number; bytes: number } {
  const folder = join(parent, `Bench_${nodes}_nodes`);
  const entries = unzipSync(generateBundle(nodes, SETTINGS_BYTES));
  for (let n = 10; n <= nodes; n += 10) entries[`Node ${n} (#${n})/port_1/data.zip`] = new Uint8Array(8192).fill(n % 251);
  for (let i = 0; i < 20; i++) entries[`data/table_${i}.csv`] = new TextEncoder().encode(`id,value\n${'1,2\n'.repeat(2000)}`);
  let bytes = 0;
  for (const [path, data] of Object.entries(entries)) {
    const target = join(folder, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    bytes += data.length;
  }
  return { folder, files: Object.keys(entries).length, bytes };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

function serveDist(): Promise<{ server: Server; url: string }> {
  const config = JSON.stringify({ apiUrl: 'http://127.0.0.1:9/v1/', anonymousAccess: true, apiKey: 'bench-key-not-used' });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json']! }).end(config);
      return;
    }
    const file = join(WEB_DIST, normalize(path === '/' ? '/index.html' : path));
    try {
      if (!file.startsWith(WEB_DIST) || !statSync(file).isFile()) throw new Error('not found');
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })),
  );
}

export interface WebBenchResult {
  nodes: number;
  files: number;
  /** Median, ms: the page's own measure from the picker's change event to the review on screen. */
  manifestMs: number;
  /** Median, ms: of which reading the files, checking them and writing the bundle ZIP (before drawing). */
  bundleMs: number;
  /** Median, ms: setInputFiles until the review is on screen (adds Playwright handing over the files). */
  wallMs: number;
  gzipBytes: number;
  assets: Record<string, { bytes: number; gzipBytes: number }>;
}

export async function runWebBench(rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<WebBenchResult | undefined> {
  console.log('\n## Web page: manifest + bundle of a 1000-node workflow in headless Chromium, page weight\n');
  const web = await buildWeb();
  const weightRows = Object.entries(web.assets).map(([name, a]) => [
    name,
    `${(a.bytes / 1024).toFixed(1)} KiB`,
    `${(a.gzipBytes / 1024).toFixed(1)} KiB`,
  ]);
  weightRows.push(['JS + CSS total', '', `${(web.gzipBytes / 1024).toFixed(1)} KiB (goal ≤ ${GOAL_GZIP_BYTES / 1024} KiB)`]);
  printTable(['Asset', 'Size', 'gzip'], weightRows);
  if (!HAS_CHROMIUM) {
    console.log(`\n${SKIP_MESSAGE} (looked for ${CHROMIUM}); page weight only.`);
    return undefined;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'k2p-web-bench-'));
  const { server, url } = await serveDist();
  const browser = await launchChromium();
  try {
    const workflow = writeWorkflowFolder(scratch, NODES);
    const manifest: number[] = [];
    const wall: number[] = [];
    const bundle: number[] = [];
    let nodesSeen = 0;
    for (let round = 0; round < rounds; round++) {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('html[data-ready="true"]');
      const started = performance.now();
      await page.getByTestId('folder-input').setInputFiles(workflow.folder);
      await page.waitForSelector('#review[data-state="ready"]', { timeout: 120_000 });
      wall.push(performance.now() - started);
      manifest.push(await page.evaluate(() => performance.getEntriesByName('k2p:manifest', 'measure').at(-1)?.duration ?? Number.NaN));
      bundle.push(await page.evaluate(() => performance.getEntriesByName('k2p:bundle', 'measure').at(-1)?.duration ?? Number.NaN));
      nodesSeen = await page.locator('table.manifest tbody tr').count();
      await page.close();
    }
    const result: WebBenchResult = {
      nodes: NODES,
      files: workflow.files,
      manifestMs: median(manifest),
      bundleMs: median(bundle),
      wallMs: median(wall),
      gzipBytes: web.gzipBytes,
      assets: web.assets,
    };
    console.log('');
    printTable(
      ['Workflow', 'Files in folder', 'Manifest rows', 'Manifest + bundle (page)', 'of which bundler', 'Incl. file hand-over', 'Goal'],
      [
        [
          `${NODES} nodes`,
          String(workflow.files),
          String(nodesSeen),
          `${Math.round(result.manifestMs)} ms`,
          `${Math.round(result.bundleMs)} ms`,
          `${Math.round(result.wallMs)} ms`,
          `≤ ${GOAL_MS} ms ${result.manifestMs <= GOAL_MS ? '✓' : '✗'}`,
        ],
      ],
    );
    console.log(
      `\n(median of ${rounds}; settings.xml ≈ ${SETTINGS_BYTES / 1024} KiB each, ${(workflow.bytes / 1024 / 1024).toFixed(1)} MiB in the folder)`,
    );
    return result;
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) await runWebBench();
