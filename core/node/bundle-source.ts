/**
 * Node adapters that turn what a user names on the command line (a workflow
 * folder, a parent folder, a workflow.knime, or a `.knwf`/`.zip` export) into
 * the bundler's lazy sources. Nothing is read until the bundler asks for it,
 * and it asks only for the allowlisted files the workflow needs.
 */
import { lstat, open, readdir, readFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SourceFile } from '../bundler';
import type { BundleLimits } from '../limits';
import { DEFAULT_MAX_SOURCE_FILES, ZipReadError, zipSourceFiles, type RandomAccessSource } from '../zip-read';

export interface OpenedSource {
  kind: 'folder' | 'archive';
  /** The folder's or file's name: the workflow's name when workflow.knime sits at the top. */
  name: string;
  files: SourceFile[];
  /** Releases the archive's file handle (no-op for folders). */
  close(): Promise<void>;
}

export interface SourceOptions {
  limits?: BundleLimits;
  /** Most files a folder walk or an archive may list. @default DEFAULT_MAX_SOURCE_FILES */
  maxFiles?: number;
}

/** Files stat'ed at once during a walk: enough to hide latency, few enough to stay polite to a shared disk. */
const STAT_CONCURRENCY = 32;

/** Opens a folder, a workflow.knime (its folder) or an archive, deciding by what is on disk. */
export async function openBundleSource(path: string, options: SourceOptions = {}): Promise<OpenedSource> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  if (info.isDirectory()) return folderSource(absolute, options);
  if (info.isFile() && basename(absolute) === 'workflow.knime') return folderSource(dirname(absolute), options);
  if (info.isFile()) return archiveSource(absolute, options);
  throw new Error(`${path} is neither a folder nor a file`);
}

export async function folderSource(folder: string, options: SourceOptions = {}): Promise<OpenedSource> {
  const files = await walkFolder(folder, options.maxFiles ?? DEFAULT_MAX_SOURCE_FILES);
  return { kind: 'folder', name: basename(resolve(folder)), files, close: async () => {} };
}

/**
 * Lists the regular files below `folder` with POSIX paths. Symbolic links are
 * skipped, never followed: a link could point anywhere on the machine.
 */
export async function walkFolder(folder: string, maxFiles: number): Promise<SourceFile[]> {
  const found: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    const entries = await readdir(join(folder, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) found.push(path);
      if (found.length > maxFiles) {
        throw new ZipReadError('ZIP_TOO_MANY_ENTRIES', `The folder holds more than ${maxFiles} files; pick the workflow folder itself.`);
      }
    }
  }
  found.sort();
  return statAll(folder, found);
}

async function statAll(folder: string, paths: string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (let at = 0; at < paths.length; at += STAT_CONCURRENCY) {
    const batch = paths.slice(at, at + STAT_CONCURRENCY);
    const sizes = await Promise.all(batch.map(async (path) => (await lstat(join(folder, ...path.split('/')))).size));
    batch.forEach((path, i) => files.push(fileSource(folder, path, sizes[i]!)));
  }
  return files;
}

function fileSource(folder: string, path: string, size: number): SourceFile {
  const absolute = join(folder, ...path.split('/'));
  return {
    path,
    size,
    read: async () => {
      // Re-checked at read time: the file may have been swapped for a link since the walk.
      if (!(await lstat(absolute)).isFile()) throw new Error('it is no longer a regular file');
      return new Uint8Array(await readFile(absolute));
    },
  };
}

/** A `.knwf`/`.zip`: the central directory is read now, needed entries on demand, nothing else ever. */
export async function archiveSource(file: string, options: SourceOptions = {}): Promise<OpenedSource> {
  const handle = await open(file, 'r');
  try {
    const source = await fileHandleSource(handle);
    const files = await zipSourceFiles(source, { limits: options.limits, maxEntries: options.maxFiles });
    return { kind: 'archive', name: basename(file), files, close: () => handle.close() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export async function fileHandleSource(handle: FileHandle): Promise<RandomAccessSource> {
  const { size } = await handle.stat();
  return {
    size,
    read: async (offset, length) => {
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new ZipReadError('ZIP_CORRUPT', 'The archive ended early (was it changed while being read?).');
        filled += bytesRead;
      }
      return buffer;
    },
  };
}
