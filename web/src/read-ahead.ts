/**
 * Reading ahead for picked folders. The bundler reads the files it needs one
 * after another; in a browser each File read is a round trip to the browser
 * process, so a 1000-node workflow spent most of its time waiting. Here the
 * selection's workflow files (workflow.knime and settings.xml only: never
 * data) are read several at a time as soon as the bundler asks for the first
 * one, and a file the bundler asks for jumps the queue. What is read stays in
 * this tab; only what the bundler puts into the bundle is ever uploaded.
 */
import { isAllowlistedFile } from '../../core/bundle-policy';
import type { SourceFile } from '../../core/bundler';
import type { BundleLimits } from '../../core/limits';

/** Reads in flight at once: enough to hide the round trips, few enough not to flood the disk. */
export const READ_AHEAD_CONCURRENCY = 16;

interface Pending {
  source: SourceFile;
  promise: Promise<Uint8Array>;
  start: () => void;
  started: boolean;
}

export function withReadAhead(sources: readonly SourceFile[], limits: BundleLimits, concurrency = READ_AHEAD_CONCURRENCY): SourceFile[] {
  // Only what could go into a bundle, within the bundle's own limits.
  const queue: Pending[] = [];
  const pending = new Map<SourceFile, Pending>();
  let budget = limits.maxTotalUnpackedBytes;
  for (const source of sources) {
    if (!isAllowlistedFile(source.path) || source.size > limits.maxEntryBytes || source.size > budget || queue.length >= limits.maxEntries)
      continue;
    budget -= source.size;
    let start!: () => void;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      start = () => source.read().then(resolve, reject);
    });
    // A file read ahead but never asked for must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    const item: Pending = { source, promise, start, started: false };
    queue.push(item);
    pending.set(source, item);
  }
  let running = 0;
  let begun = false;
  const launch = (item: Pending) => {
    if (item.started) return;
    item.started = true;
    running++;
    item.start();
    void item.promise
      .catch(() => undefined)
      .finally(() => {
        running--;
        pump();
      });
  };
  const pump = () => {
    while (running < concurrency && queue.length > 0) launch(queue.shift()!);
  };
  return sources.map((source) => ({
    path: source.path,
    size: source.size,
    read: () => {
      const item = pending.get(source);
      if (!item) return source.read();
      // Handed over once: a second read (there is none today) reads the file again.
      pending.delete(source);
      if (!item.started) {
        const at = queue.indexOf(item);
        if (at >= 0) queue.splice(at, 1);
        launch(item);
      }
      if (!begun) {
        begun = true;
        pump();
      }
      return item.promise;
    },
  }));
}
