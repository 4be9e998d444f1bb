/**
 * The fast path's `workers` piece: checks entries on worker threads when a
 * bundle is large enough for it to pay off (inflating and scanning 100 MiB of XML is ~1 s of CPU; a 2-core
 * machine halves it). Small bundles — nearly all real ones — run inline, and
so does the Lambda, whose bundle does not ship the worker script.
 *
 * The validator may start the pool before it has read the central directory
 * and submit entries as it reads them, so the workers inflate and scan while
 * the main thread is still parsing headers; once it has finished those, the
 * main thread checks batches too (one worker per other core: the main thread
 * is the last one). The pool only collects outcomes: the caller decides the
 * verdict, in central-directory order, after every structural check has
 * passed (and ignores the outcomes if one has not).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkBatch, type EntryEngine, type EntryOutcome, type EntryTask } from '../entry-check';
import { entryEngine, type FastPiece } from './engine';

/** Below this many unpacked bytes, starting workers costs more than it saves. */
export const PARALLEL_THRESHOLD_BYTES = 16 * 1024 * 1024;
/**
 * ZIPs at least this large start their workers before the central directory is
 * read: worker start-up (~40 ms) then overlaps header parsing instead of
 * following it. Deflated XML is 5-10x smaller than its text, so such a ZIP is
 * nearly always over the unpacked threshold too.
 */
export const EARLY_POOL_ZIP_BYTES = 2 * 1024 * 1024;
/** Unpacked bytes per batch: large enough to amortise messaging, small enough to balance the load (~5 ms of work). */
const BATCH_BYTES = 256 * 1024;
/** Batches a worker holds at once, so it never waits for the main thread to hand out the next one. */
const WORKER_QUEUE = 4;

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

let cachedScript: ReturnType<typeof workerScript> | null = null;
function cachedWorkerScript(): ReturnType<typeof workerScript> {
  if (cachedScript === null) cachedScript = workerScript();
  return cachedScript;
}

/** How many workers to start (0: check inline): one per core besides the main thread's, at most 3. */
export function workerThreads(): number {
  const threads = Math.min(availableParallelism() - 1, 3);
  if (threads < 1 || !cachedWorkerScript()) return 0;
  return threads;
}

/** Worker count for a bundle of `unpackedBytes` (0 below the threshold). */
export function parallelWorkers(unpackedBytes: number): number {
  return unpackedBytes < PARALLEL_THRESHOLD_BYTES ? 0 : workerThreads();
}

/** What entry-worker.ts is started with. */
export interface EntryWorkerData {
  /** The ZIP, read-only. */
  zip: SharedArrayBuffer;
  maxXmlDepth: number;
  pieces: readonly FastPiece[];
}

/**
 * The ZIP's bytes in a SharedArrayBuffer, which workers read without a copy.
 * Reuses the ZIP's own memory when it already is shared (validateBundleFile
 * reads large files straight into one).
 */
function sharedCopy(zip: Uint8Array): SharedArrayBuffer {
  if (zip.buffer instanceof SharedArrayBuffer && zip.byteOffset === 0 && zip.byteLength === zip.buffer.byteLength) return zip.buffer;
  const shared = new SharedArrayBuffer(zip.byteLength);
  new Uint8Array(shared).set(zip);
  return shared;
}

/**
 * Workers (plus the main thread, once it waits in drain) checking entries of
 * one ZIP. Tasks are grouped into batches; each batch holds tasks in
 * ascending index order, so a batch may stop at its first failure (later
 * tasks cannot win).
 */
export class EntryPool {
  private readonly workers: Worker[] = [];
  /** Batches handed to each ready worker and not answered yet (a worker is fed once it has said it is ready). */
  private readonly inFlight = new Map<Worker, number>();
  private readonly queue: EntryTask[][] = [];
  private readonly outcomes: EntryOutcome[] = [];
  private readonly zip: Uint8Array;
  private readonly engine: EntryEngine;
  private batch: EntryTask[] = [];
  private batchBytes = 0;
  private busy = 0;
  private firstFailure = Number.POSITIVE_INFINITY;
  private crash: Error | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  /**
   * @param pieces the fast-path pieces every thread checks entries with
   * @param mainThreadHelps whether drain() also checks batches on the main
   * thread (off only in tests, to make the workers do everything)
   */
  constructor(
    zip: Uint8Array,
    threads: number,
    private readonly maxXmlDepth: number,
    pieces: readonly FastPiece[],
    private readonly mainThreadHelps = true,
  ) {
    const script = cachedWorkerScript();
    if (!script || threads < 1) throw new Error('entry worker script not found');
    const shared = sharedCopy(zip);
    this.zip = new Uint8Array(shared);
    this.engine = entryEngine(pieces);
    const workerData: EntryWorkerData = { zip: shared, maxXmlDepth, pieces };
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(script.source, { workerData, eval: script.eval });
      worker.on('message', (message: EntryOutcome[] | 'ready') => {
        if (message === 'ready') this.ready(worker);
        else this.received(worker, message);
      });
      worker.on('error', (error) => this.crashed(error));
      worker.on('exit', (code) => {
        if (!this.closed) this.crashed(new Error(`an entry worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  /**
   * Queues a task. `urgent` ones (workflow files: large, and parsed with
   * events, so slow) go in a batch of their own straight to a ready worker,
   * past its usual limit: taken by the main thread, they would keep it from
   * feeding the workers for their whole duration.
   */
  submit(task: EntryTask, urgent = false): void {
    if (urgent) {
      const worker = this.inFlight.keys().next().value as Worker | undefined;
      if (worker) this.post(worker, [task]);
      else this.queue.unshift([task]);
      return;
    }
    const last = this.batch[this.batch.length - 1];
    if (last && task.index < last.index) this.flush();
    this.batch.push(task);
    this.batchBytes += task.uncompressedSize;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
  }

  /** Sends the partly filled batch, if any. */
  flush(): void {
    if (this.batch.length === 0) return;
    this.queue.push(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    this.feed();
  }

  /**
   * Checks queued batches on the main thread too, and waits for the workers'
   * ones; returns the outcomes by index. Tasks after a known failure may be
   * missing: they cannot change the verdict. `whenIdle` runs (once) when
   * the main thread would otherwise only wait for the workers.
   */
  async drain(whenIdle?: () => void): Promise<EntryOutcome[]> {
    this.flush();
    for (;;) {
      if (this.crash) throw this.crash;
      const next = this.mainThreadHelps ? this.nextBatch() : undefined;
      if (next) {
        this.record(checkBatch(this.zip, next, this.maxXmlDepth, this.engine));
        // Let the workers' answers in (and hand them their next batches) between two batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (this.busy > 0 || this.queue.length > 0) {
        if (whenIdle) {
          whenIdle();
          whenIdle = undefined;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      } else {
        break;
      }
    }
    whenIdle?.();
    return [...this.outcomes].sort((a, b) => a.index - b.index);
  }

  /**
   * Stops the workers, also mid-task or still starting: called as soon as the
   * verdict is known. Does not wait for them to exit (a worker still booting
   * takes a while to), so a rejection is reported at once.
   */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const worker of this.workers) {
      worker.unref();
      void worker.terminate();
    }
  }

  /** The next batch that can still change the verdict, if any. */
  private nextBatch(): EntryTask[] | undefined {
    for (;;) {
      const next = this.queue.shift();
      // A batch that starts after a known failure cannot change the verdict.
      if (!next || next[0]!.index < this.firstFailure) return next;
    }
  }

  /** A worker has loaded its code: batches sent before would only wait in its queue while the main thread could take them. */
  private ready(worker: Worker): void {
    this.inFlight.set(worker, 0);
    this.feed();
  }

  private feed(): void {
    for (const [worker, inFlight] of this.inFlight) {
      for (let held = inFlight; held < WORKER_QUEUE; held++) {
        const next = this.nextBatch();
        if (!next) return;
        this.post(worker, next);
      }
    }
  }

  private post(worker: Worker, batch: EntryTask[]): void {
    this.inFlight.set(worker, this.inFlight.get(worker)! + 1);
    this.busy++;
    worker.postMessage(batch);
  }

  private received(worker: Worker, results: EntryOutcome[]): void {
    this.record(results);
    this.inFlight.set(worker, this.inFlight.get(worker)! - 1);
    this.busy--;
    this.feed();
    this.notify();
  }

  private record(results: EntryOutcome[]): void {
    for (const outcome of results) {
      this.outcomes.push(outcome);
      if (!outcome.ok) this.firstFailure = Math.min(this.firstFailure, outcome.index);
    }
  }

  private crashed(error: Error): void {
    this.crash ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
