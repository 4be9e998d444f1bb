/**
 * Validator benchmarks (issue: foundation).
 * 1. `k2p-web validate` process vs `unzip -t` process on a generated legal
 *    bundle of 5000 entries / ~100 MiB unpacked, alternating, same run.
 * 2. Time and peak RSS of rejecting ZIP bombs, each in a fresh process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { buildZip, minimalBundle } from '../test/support/zip-builder';
import { generateBundle } from './generate-bundle';
import { median, printTable } from './report';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'cli', 'k2p-web.mjs');
const MiB = 1024 * 1024;

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

function timeProcess(command: string, args: string[]): Timing {
  const cpuBefore = childrenCpuMs();
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  const cpuAfter = childrenCpuMs();
  return { wall, ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpu: cpuAfter - cpuBefore } : {}) };
}

function largeBundleComparison(dir: string, rounds: number) {
  const zip = generateBundle(4999, 20_000);
  const file = join(dir, 'large.zip');
  writeFileSync(file, zip);
  // Warm the page cache and make sure dist/ is current, so neither side pays a first-run cost.
  timeProcess('unzip', ['-tq', file]);
  timeProcess(process.execPath, [CLI, 'validate', file]);
  const ours: Timing[] = [];
  const unzip: Timing[] = [];
  for (let i = 0; i < rounds; i++) {
    unzip.push(timeProcess('unzip', ['-tq', file]));
    ours.push(timeProcess(process.execPath, [CLI, 'validate', file]));
  }
  const verdict = JSON.parse(execFileSync(process.execPath, [CLI, 'validate', '--json', file], { encoding: 'utf8' })) as {
    stats: { entries: number; unpackedBytes: number };
  };
  return { zipBytes: zip.length, entries: verdict.stats.entries, unpacked: verdict.stats.unpackedBytes, ours, unzip };
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

export function runValidatorBench(rounds = 5): void {
  const dir = mkdtempSync(join(tmpdir(), 'k2p-bench-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, stdio: 'inherit' });
    const loadBefore = loadavg()[0]!;
    const large = largeBundleComparison(dir, rounds);
    const loadAfter = loadavg()[0]!;
    const oursMs = median(large.ours.map((t) => t.wall));
    const unzipMs = median(large.unzip.map((t) => t.wall));
    console.log(
      `\n## k2p-web validate vs unzip -t (${large.entries} entries, ${(large.unpacked / MiB).toFixed(1)} MiB unpacked, ${(large.zipBytes / MiB).toFixed(1)} MiB ZIP, ${rounds} alternating rounds)`,
    );
    const cpu = (timings: Timing[]) => (timings.every((t) => t.cpu !== undefined) ? median(timings.map((t) => t.cpu!)).toFixed(0) : 'n/a');
    printTable(
      ['process', 'median wall ms', 'median CPU ms', 'runs (wall ms)'],
      [
        ['unzip -tq (baseline)', unzipMs.toFixed(0), cpu(large.unzip), large.unzip.map((t) => t.wall.toFixed(0)).join(' ')],
        ['k2p-web validate', oursMs.toFixed(0), cpu(large.ours), large.ours.map((t) => t.wall.toFixed(0)).join(' ')],
      ],
    );
    console.log(`ratio k2p-web/unzip: ${(oursMs / unzipMs).toFixed(2)}x (goal ≤ 1.25x)`);
    // k2p-web uses a second core when there is one; on a busy machine it gets less of it, so say how busy it was.
    console.log(`load average (1 min) before/after: ${loadBefore.toFixed(2)}/${loadAfter.toFixed(2)} on ${availableParallelism()} cores`);

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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
