/**
 * How the validator uses the worker pool (the `workers` piece) on one ZIP.
 * Invariant: the workers' outcomes are the ones checkEntryData gives inline,
 * and the validator counts them only once every structural check has passed,
 * in central-directory order; everything here only moves work earlier.
 *
 * Workers start as soon as the ZIP's size is known (before a large file is
 * even read: they boot while it is read into the memory they share), and get
 * each entry as soon as its local header has been read.
 */
import { open as openFile } from 'node:fs/promises';
import type { EntryOutcome, EntryTask } from '../entry-check';
import type { FastPiece } from './engine';
import { EARLY_POOL_ZIP_BYTES, EntryPool, parallelWorkers, workerThreads } from './entry-pool';

/**
 * Where entry data is checked. `auto`: on worker threads for large bundles
 * (started before the central directory is read when the ZIP itself is
 * large), with the main thread helping once it has read the headers.
 * `inline`: on the main thread only. `workers`: on workers only, always
 * started early, whatever the size (tests use the last two to hold both
 * paths to the same verdicts).
 */
export type Threads = 'auto' | 'inline' | 'workers';

/** Starts the workers of one validation, when they pay off. */
export class Workers {
  constructor(
    private readonly threads: Exclude<Threads, 'inline'>,
    private readonly maxXmlDepth: number,
    private readonly pieces: readonly FastPiece[],
  ) {}

  /**
   * Reads a large file into shared memory while its workers boot. Undefined
   * when the file is small (or there is no core to spare): read it plainly.
   */
  async readFile(path: string, size: number): Promise<{ zip: Buffer; parallel?: ParallelCheck } | undefined> {
    if (size < EARLY_POOL_ZIP_BYTES) return undefined;
    const count = workerThreads();
    if (count === 0) return undefined;
    const data = Buffer.from(new SharedArrayBuffer(size));
    const pool = this.pool(data, count);
    let filled: number;
    try {
      filled = await readInto(path, data);
    } catch (error) {
      pool.close();
      throw error;
    }
    if (filled === size) return { zip: data, parallel: new ParallelCheck(pool) };
    // A file that shrank while being read is judged as what was read.
    pool.close();
    return { zip: data.subarray(0, filled) };
  }

  /** Workers for a large ZIP start before its central directory is read, so they boot while the main thread parses it. */
  early(zip: Uint8Array): ParallelCheck | undefined {
    if (this.threads === 'auto' && zip.length < EARLY_POOL_ZIP_BYTES) return undefined;
    const count = workerThreads();
    return count > 0 ? new ParallelCheck(this.pool(zip, count)) : undefined;
  }

  /** Workers for a bundle that turned out large only once its central directory was read (a small, dense ZIP). */
  late(zip: Uint8Array, unpackedBytes: number): ParallelCheck | undefined {
    if (this.threads !== 'auto') return undefined;
    const count = parallelWorkers(unpackedBytes);
    return count > 0 ? new ParallelCheck(this.pool(zip, count)) : undefined;
  }

  private pool(zip: Uint8Array, count: number): EntryPool {
    return new EntryPool(zip, count, this.maxXmlDepth, this.pieces, this.threads === 'auto');
  }
}

/** One ZIP's entries on a pool: handed over while headers are read, collected at the end. */
export class ParallelCheck {
  /** End of the last entry handed over early; later ones must start after it (see headerRead). */
  private speculativeEnd = 0;
  private readonly submitted = new Set<number>();

  constructor(private readonly pool: EntryPool) {}

  /**
   * A file whose local header has been read: handed to the workers before
   * the layout is checked, if its data lies after everything handed over so
   * far. Entries of a well-formed ZIP are laid out in central-directory
   * order, so they all qualify; overlapping ones (the ZIP-bomb pattern) do
   * not, which bounds speculative work by the ZIP's size. The rest wait for
   * check().
   */
  headerRead(task: EntryTask, localHeaderOffset: number, end: number, centralDirectoryOffset: number): void {
    if (localHeaderOffset < this.speculativeEnd || end > centralDirectoryOffset) return;
    this.speculativeEnd = end;
    this.pool.submit(task, task.isWorkflow);
    this.submitted.add(task.index);
  }

  /**
   * Checks every file (handing over those not handed over yet) and returns
   * their outcomes in the files' order, up to the first failure. `whenIdle`
   * runs when the main thread would otherwise only wait for the workers.
   */
  async check(files: readonly EntryTask[], whenIdle: () => void): Promise<EntryOutcome[]> {
    for (const task of files) {
      if (!this.submitted.has(task.index)) this.pool.submit(task, task.isWorkflow);
    }
    const outcomes = await this.pool.drain(whenIdle);
    const inOrder: EntryOutcome[] = [];
    let next = 0;
    for (const task of files) {
      while (next < outcomes.length && outcomes[next]!.index < task.index) next++;
      const outcome = outcomes[next];
      // Only tasks after a failure go unchecked, and the loop stops at that failure.
      if (outcome?.index !== task.index) throw new Error(`no outcome for entry ${task.index}`);
      inOrder.push(outcome);
      if (!outcome.ok) break;
    }
    return inOrder;
  }

  /** Stops the workers, also mid-task: called as soon as the verdict is known. */
  close(): void {
    this.pool.close();
  }
}

/** Reads a file into `data` (as much as fits); returns how many bytes were read. */
async function readInto(path: string, data: Buffer): Promise<number> {
  const handle = await openFile(path, 'r');
  try {
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  } finally {
    await handle.close();
  }
}
