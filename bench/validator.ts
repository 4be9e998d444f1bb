/**
 * Validator benchmarks, on the inputs the validator really gets.
 * 1. What each piece of the fast path (core/node/fast-path/) buys over the
 *    plain path: the 7 sample workflows, each bundled, validated in memory in
 *    this process (warm, as in a Lambda that has validated before), and the
 *    generated 5000-entry bundle, in this process and as a `k2p-web validate`
 *    process next to `unzip -t` (the acceptance: ≤ 1.25× unzip -t).
 *    Configurations alternate within each round; medians are reported.
 * 2. Time and peak RSS of rejecting ZIP bombs, each in a fresh process.
 * 3. What the one reading of the archive's structure (core/zip-structure.ts:
 *    end records and central directory, then every local header, data
 *    descriptor and the layout) costs, in the validator and in the page's and
 *    CLI's archive reader, on the samples and the 5000-entry bundle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { DEFAULT_BUNDLE_LIMITS } from '../core/limits';
import { FAST_PATH_ENV, FAST_PIECES, type FastPathSetting } from '../core/node/fast-path';
import { validateBundle } from '../core/node/validate-bundle';
import { bytesSource, readCentralDirectory } from '../core/zip-read';
import { readDirectory, readLocalRecords, readSync } from '../core/zip-structure';
import { sampleBundle } from '../test/support/samples';
import { buildZip, minimalBundle, sampleNames } from '../test/support/zip-builder';
import { generateBundle } from './generate-bundle';
import { median, printTable } from './report';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'cli', 'k2p-web.mjs');
const MiB = 1024 * 1024;
const GOAL_RATIO = 1.25;
/** Passes over the 7 samples per timing (one pass takes a few ms), and timings per round: short ones, so a pause rarely spoils the median. */
const SAMPLE_PASSES = 4;
const SAMPLE_TIMINGS_PER_ROUND = 5;

interface Configuration {
  label: string;
  setting: FastPathSetting;
}

/** Plain, plain + each piece (with two pieces, that is also "all but the other"), and all. */
const PLAIN: Configuration = { label: 'plain (fast path off)', setting: 'off' };
const ALL: Configuration = { label: 'all (fast path on, the default)', setting: 'on' };
const CONFIGURATIONS: Configuration[] = [PLAIN, ...FAST_PIECES.map((piece) => ({ label: `plain + ${piece}`, setting: [piece] })), ALL];

function envValue(setting: FastPathSetting): string {
  return typeof setting === 'string' ? setting : setting.join(',');
}

interface Timing {
  /** Wall-clock milliseconds. */
  wall: number;
  /** User + system CPU milliseconds of the process and its threads (Linux only; 10 ms resolution). */
  cpu?: number;
}

/**
 * CPU time used so far by this process's waited-for children, from
 * /proc/self/stat (cutime + cstime, in clock ticks of 10 ms): spawnSync
 * reports no resource usage. Undefined off Linux.
 */
function childrenCpuMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timing {
  const cpuBefore = childrenCpuMs();
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  const cpuAfter = childrenCpuMs();
  return { wall, ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpu: cpuAfter - cpuBefore } : {}) };
}

/** `rounds` rotations of `items`, each round starting one further, so no item always runs first or after the same one. */
function* alternating<T>(items: readonly T[], rounds: number): Generator<T> {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < items.length; i++) yield items[(round + i) % items.length]!;
  }
}

async function timeInProcess(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** Per configuration label. */
interface PieceResults {
  /** ms per pass over the 7 samples. */
  samples: Map<string, number[]>;
  /** ms per validation of the 5000-entry bundle in this process. */
  large: Map<string, number[]>;
  /** `k2p-web validate` processes on the 5000-entry bundle. */
  cli: Map<string, Timing[]>;
  unzip: Timing[];
  entries: number;
  unpacked: number;
  zipBytes: number;
}

async function measurePieces(dir: string, rounds: number): Promise<PieceResults> {
  const samples = sampleNames().map((name) => sampleBundle(name));
  const largeZip = generateBundle(4999, 20_000);
  const file = join(dir, 'large.zip');
  writeFileSync(file, largeZip);
  const results: PieceResults = {
    samples: new Map(),
    large: new Map(),
    cli: new Map(),
    unzip: [],
    entries: 0,
    unpacked: 0,
    zipBytes: largeZip.length,
  };

  // Every configuration must give the plain path's verdict (and warms up: WebAssembly, zlib handle, page cache, dist/).
  const reference = JSON.stringify(await validateBundle(largeZip, DEFAULT_BUNDLE_LIMITS, { fastPath: 'off' }));
  for (const { label, setting } of CONFIGURATIONS) {
    for (const zip of samples) await validateBundle(zip, DEFAULT_BUNDLE_LIMITS, { fastPath: setting });
    const verdict = JSON.stringify(await validateBundle(largeZip, DEFAULT_BUNDLE_LIMITS, { fastPath: setting }));
    if (verdict !== reference) throw new Error(`${label} disagrees with the plain path: ${verdict}`);
  }
  timeProcess('unzip', ['-tq', file]);
  const cliReference = execFileSync(process.execPath, [CLI, 'validate', '--json', file], { encoding: 'utf8', env: envOf('off') });
  for (const { label, setting } of CONFIGURATIONS) {
    const out = execFileSync(process.execPath, [CLI, 'validate', '--json', file], { encoding: 'utf8', env: envOf(setting) });
    if (out !== cliReference) throw new Error(`k2p-web validate with ${label} disagrees with the plain path: ${out}`);
  }
  const stats = (JSON.parse(cliReference) as { stats: { entries: number; unpackedBytes: number } }).stats;
  results.entries = stats.entries;
  results.unpacked = stats.unpackedBytes;

  for (const { label, setting } of alternating(CONFIGURATIONS, rounds * SAMPLE_TIMINGS_PER_ROUND)) {
    const pass = await timeInProcess(async () => {
      for (let i = 0; i < SAMPLE_PASSES; i++) {
        for (const zip of samples) await validateBundle(zip, DEFAULT_BUNDLE_LIMITS, { fastPath: setting });
      }
    });
    push(results.samples, label, pass / SAMPLE_PASSES);
  }
  for (const { label, setting } of alternating(CONFIGURATIONS, rounds)) {
    push(results.large, label, await timeInProcess(() => validateBundle(largeZip, DEFAULT_BUNDLE_LIMITS, { fastPath: setting })));
  }
  const processes = [undefined, ...CONFIGURATIONS];
  for (const configuration of alternating(processes, rounds)) {
    if (!configuration) results.unzip.push(timeProcess('unzip', ['-tq', file]));
    else push(results.cli, configuration.label, timeProcess(process.execPath, [CLI, 'validate', file], envOf(configuration.setting)));
  }
  return results;
}

function envOf(setting: FastPathSetting): NodeJS.ProcessEnv {
  return { ...process.env, [FAST_PATH_ENV]: envValue(setting) };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function reportPieces(results: PieceResults, rounds: number): void {
  const ms = (series: Map<string, number[]>, { label }: Configuration) => median(series.get(label)!);
  const cliMs = ({ label }: Configuration) => median(results.cli.get(label)!.map((t) => t.wall));
  const unzipMs = median(results.unzip.map((t) => t.wall));
  const cpu = (timings: Timing[]) => (timings.every((t) => t.cpu !== undefined) ? median(timings.map((t) => t.cpu!)).toFixed(0) : 'n/a');
  console.log(
    `\n## Fast-path pieces (${rounds} alternating rounds; 5000-entry bundle: ${results.entries} entries, ${(results.unpacked / MiB).toFixed(1)} MiB unpacked, ${(results.zipBytes / MiB).toFixed(1)} MiB ZIP)`,
  );
  printTable(
    ['configuration', '7 samples in-process ms', '5000-entry in-process ms', '5000-entry k2p-web validate ms', 'CPU ms', 'vs unzip -t'],
    [
      ['unzip -tq (baseline)', '', '', unzipMs.toFixed(0), cpu(results.unzip), '1.00x'],
      ...CONFIGURATIONS.map((configuration) => [
        configuration.label,
        ms(results.samples, configuration).toFixed(2),
        ms(results.large, configuration).toFixed(0),
        cliMs(configuration).toFixed(0),
        cpu(results.cli.get(configuration.label)!),
        `${(cliMs(configuration) / unzipMs).toFixed(2)}x`,
      ]),
    ],
  );
  console.log(`ratio k2p-web/unzip (fast path on): ${(cliMs(ALL) / unzipMs).toFixed(2)}x (goal ≤ ${GOAL_RATIO}x)`);
  // What each piece buys: alone over the plain path, and in the full fast path over the rest of it.
  const times = (slow: number, fast: number) => `${(slow / fast).toFixed(2)}x`;
  for (const piece of FAST_PIECES) {
    const alone = CONFIGURATIONS.find(({ label }) => label === `plain + ${piece}`)!;
    const rest = CONFIGURATIONS.find(({ label }) => label.startsWith('plain + ') && label !== alone.label)!;
    const gain = (measure: (configuration: Configuration) => number) =>
      `${times(measure(PLAIN), measure(alone))} alone, ${times(measure(rest), measure(ALL))} with the rest`;
    console.log(
      `${piece} buys: samples in-process ${gain((c) => ms(results.samples, c))}; 5000-entry in-process ${gain((c) => ms(results.large, c))}; ` +
        `5000-entry k2p-web validate ${gain(cliMs)} (without it: ${(cliMs(rest) / unzipMs).toFixed(2)}x unzip -t)`,
    );
  }
}

/** Bomb ZIPs: each must be rejected fast and with little memory. */
function bombs(): { name: string; zip: Buffer }[] {
  const zeros = Buffer.alloc(100 * MiB);
  const deflated = zlib.deflateRawSync(zeros, { level: 9 });
  const base = minimalBundle();
  const entry = { name: 'Bomb (#2)/settings.xml', data: zeros, rawPayload: deflated };
  // Overlap: entry A (stored) physically contains entry B's header and data; the central directory lists both.
  const inner = buildZip({ entries: [{ name: 'B (#3)/settings.xml', data: zeros.subarray(0, 900 * 1024), method: 8 }] });
  const innerLocal = inner.subarray(0, inner.readUInt32LE(inner.length - 22 + 16));
  const overlap = buildZip({
    entries: [...base, { name: 'A (#2)/settings.xml', data: innerLocal, method: 0 }],
  });
  // Append a central entry for B pointing inside A's data.
  const aOffset = overlap.indexOf(Buffer.from('A (#2)/settings.xml')) - 30;
  const bOffset = aOffset + 30 + 'A (#2)/settings.xml'.length;
  const overlapBomb = buildZip({
    entries: [
      ...base,
      { name: 'A (#2)/settings.xml', data: innerLocal, method: 0 },
      { name: 'B (#3)/settings.xml', data: zeros.subarray(0, 900 * 1024), method: 8, central: { localHeaderOffset: bOffset } },
    ],
  });
  return [
    { name: '100 MiB of zeros (honest headers)', zip: buildZip({ entries: [...base, entry] }) },
    {
      name: '100 MiB of zeros (headers claim 1 KiB)',
      zip: buildZip({ entries: [...base, { ...entry, central: { uncompressedSize: 1024 }, local: { uncompressedSize: 1024 } }] }),
    },
    { name: 'overlapping entries', zip: overlapBomb },
  ];
}

/**
 * Runs in a fresh process: warms up on a small valid bundle, then validates the
 * target once. Peak RSS is compared with the same run on the small bundle, so
 * "extra RSS" is what the target itself costs.
 */
const PROBE = `
import { validateBundleFile } from ${JSON.stringify(join(ROOT, 'core', 'node', 'validate-bundle.ts'))};
const [warmup, target] = process.argv.slice(-2);
await validateBundleFile(warmup);
const started = performance.now();
const verdict = await validateBundleFile(target);
const ms = performance.now() - started;
console.log(JSON.stringify({ ms, peakRss: process.resourceUsage().maxRSS * 1024, code: verdict.ok ? 'ACCEPTED' : verdict.code }));
`;

function reportBombs(dir: string): void {
  const probe = join(ROOT, 'bench', '.probe.ts');
  writeFileSync(probe, PROBE);
  try {
    const small = join(dir, 'small.zip');
    writeFileSync(small, buildZip({ entries: minimalBundle() }));
    const measure = (file: string) => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', probe, small, file], { cwd: ROOT, encoding: 'utf8' });
      return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; peakRss: number; code: string };
    };
    const baseline = median([1, 2, 3].map(() => measure(small).peakRss));
    const rows = bombs().map(({ name, zip }) => {
      const file = join(dir, 'bomb.zip');
      writeFileSync(file, zip);
      const result = measure(file);
      const extra = Math.max(0, result.peakRss - baseline);
      return [name, `${(zip.length / 1024).toFixed(0)} KiB`, result.code, result.ms.toFixed(1), (extra / MiB).toFixed(1)];
    });
    console.log('\n## ZIP bombs (goal: each rejected in < 50 ms with < 32 MiB extra RSS)');
    printTable(['bomb', 'ZIP size', 'verdict', 'ms', 'extra RSS MiB'], rows);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Medians over `rounds` × 20 timings of one input: the structure alone (its two halves) and what it is part of. */
async function reportStructure(rounds: number): Promise<void> {
  const limits = { maxEntries: DEFAULT_BUNDLE_LIMITS.maxEntries, maxDirectoryBytes: Number.MAX_SAFE_INTEGER };
  const inputs = [
    { name: '7 samples (one pass)', zips: sampleNames().map((name) => sampleBundle(name)) },
    { name: '5000-entry bundle', zips: [generateBundle(4999, 20_000)] },
  ];
  const rows: string[][] = [];
  for (const { name, zips } of inputs) {
    const series = { directory: [] as number[], local: [] as number[], validate: [] as number[], reader: [] as number[] };
    for (let i = 0; i < rounds * 20; i++) {
      let directoryMs = 0;
      let localMs = 0;
      for (const zip of zips) {
        const started = performance.now();
        const directory = readSync(readDirectory(zip.length, limits), zip);
        const between = performance.now();
        readSync(readLocalRecords(directory), zip);
        directoryMs += between - started;
        localMs += performance.now() - between;
      }
      series.directory.push(directoryMs);
      series.local.push(localMs);
      series.validate.push(
        await timeInProcess(async () => {
          for (const zip of zips) await validateBundle(zip);
        }),
      );
      series.reader.push(
        await timeInProcess(async () => {
          for (const zip of zips) await readCentralDirectory(bytesSource(zip));
        }),
      );
    }
    const structure = median(series.directory) + median(series.local);
    rows.push([
      name,
      median(series.directory).toFixed(2),
      median(series.local).toFixed(2),
      `${median(series.validate).toFixed(2)} (${((100 * structure) / median(series.validate)).toFixed(0)}%)`,
      median(series.reader).toFixed(2),
    ]);
  }
  console.log(`\n## One reading of the archive (core/zip-structure.ts; medians of ${rounds * 20}, in-process)`);
  printTable(
    [
      'input',
      'end records + central directory ms',
      'local headers + descriptors + layout ms',
      'whole validation ms (structure share)',
      'page/CLI archive listing ms (async)',
    ],
    rows,
  );
  console.log(
    'The local headers, data descriptors and layout are what the page and the CLI newly read for every entry (before, they read only the end and the central directory).',
  );
}

export async function runValidatorBench(rounds = 5): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'k2p-bench-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, stdio: 'inherit' });
    const loadBefore = loadavg()[0]!;
    const results = await measurePieces(dir, rounds);
    const loadAfter = loadavg()[0]!;
    reportPieces(results, rounds);
    // On a busy machine every process gets less of a core, so say how busy it was.
    console.log(`load average (1 min) before/after: ${loadBefore.toFixed(2)}/${loadAfter.toFixed(2)} on ${availableParallelism()} cores`);
    reportBombs(dir);
    await reportStructure(rounds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
