/**
 * Checks entries on worker threads when a bundle is large enough for it to
 * pay off (inflating and scanning 100 MiB of XML is ~1 s of CPU; a 2-core
 * machine halves it). Small bundles — nearly all real ones — run inline.
 * The verdict is identical either way: the failure with the lowest
 * central-directory index wins.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EntryOutcome, EntryTask } from './entry-check';

/** Below this many unpacked bytes, starting workers costs more than it saves. */
export const PARALLEL_THRESHOLD_BYTES = 16 * 1024 * 1024;
const BATCH_BYTES = 2 * 1024 * 1024;

/**
 * The worker script next to this module: entry-worker.ts when running from
 * source (started through tsx), entry-worker.mjs next to a bundle that ships
 * it (the CLI build). Bundles without it (the Lambdas) run inline.
 */
function workerScript(): { source: URL | string; eval: boolean } | undefined {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './entry-worker.ts' : './entry-worker.mjs', import.meta.url);
  if (url.protocol !== 'file:' || !existsSync(fileURLToPath(url))) return undefined;
  if (!fromSource) return { source: url, eval: false };
  // Workers do not inherit tsx's loader: register it before importing the TypeScript worker.
  // The ESM build of tsx's API (its `import` export); resolving through require would pick the CommonJS one.
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return { source: bootstrap, eval: true };
}

export function parallelWorkers(unpackedBytes: number): number {
  if (unpackedBytes < PARALLEL_THRESHOLD_BYTES) return 0;
  const threads = Math.min(availableParallelism(), 4);
  if (threads < 2 || !workerScript()) return 0;
  return threads;
}

/** Runs the tasks on `threads` workers; resolves with the outcomes up to the first failure (by index). */
export async function checkEntriesInWorkers(
  zip: Uint8Array,
  tasks: EntryTask[],
  threads: number,
  maxXmlDepth: number,
): Promise<EntryOutcome[]> {
  const script = workerScript();
  if (!script) throw new Error('entry worker script not found');
  const shared = new SharedArrayBuffer(zip.byteLength);
  new Uint8Array(shared).set(zip);
  const batches: EntryTask[][] = [];
  let batch: EntryTask[] = [];
  let bytes = 0;
  for (const task of tasks) {
    batch.push(task);
    bytes += task.uncompressedSize;
    if (bytes >= BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);

  const outcomes: EntryOutcome[] = [];
  let firstFailure = Number.POSITIVE_INFINITY;
  let nextBatch = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: Math.min(threads, batches.length) }, () => {
        const worker = new Worker(script.source, { workerData: { zip: shared, maxXmlDepth }, eval: script.eval });
        workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          const feed = () => {
            // Batches after a known failure cannot change the verdict.
            const next = batches[nextBatch];
            if (!next || next[0]!.index > firstFailure) return resolve();
            nextBatch++;
            worker.postMessage(next);
          };
          worker.on('message', (results: EntryOutcome[]) => {
            for (const outcome of results) {
              outcomes.push(outcome);
              if (!outcome.ok) firstFailure = Math.min(firstFailure, outcome.index);
            }
            feed();
          });
          worker.on('error', reject);
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  outcomes.sort((a, b) => a.index - b.index);
  return outcomes;
}
