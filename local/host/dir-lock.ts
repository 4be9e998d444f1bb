/**
 * A lock between processes that share a folder (parallel test files, two
 * starts on one data dir): mkdir is atomic, so one process works while the
 * others wait; a lock older than `staleMs` is left over from a killed process.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export async function withDirectoryLock<T>(
  lock: string,
  work: () => Promise<T>,
  { staleMs = 15 * 60_000, maxWaitMs = 15 * 60_000 }: { staleMs?: number; maxWaitMs?: number } = {},
): Promise<T> {
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > staleMs) rmSync(lock, { recursive: true, force: true });
      } catch {
        // Released between the mkdir and the stat: try again.
      }
      if (waited > maxWaitMs) throw new Error(`waited ${Math.round(maxWaitMs / 60_000)} minutes for ${lock}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
