/**
 * result.zip, built so the same inputs give the same bytes: entries in the order
 * given (README.md, report.json, then the outputs sorted by name), one fixed
 * timestamp, fixed permissions and one fixed deflate level.
 */
import { zipSync, type ZipOptions } from 'fflate';

/** 1980-01-01 00:00:00, the DOS epoch. fflate reads local-time fields, so build it in local time. */
export const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
export const DEFLATE_LEVEL = 6;
/** Unix host, regular file rw-r--r-- (external attributes carry the mode in the high 16 bits). */
const UNIX_OS = 3;
const FILE_ATTRS = (0o100644 << 16) >>> 0;

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

export function buildZip(entries: ZipEntry[]): Uint8Array {
  const names = new Set<string>();
  const options: ZipOptions = { level: DEFLATE_LEVEL, mtime: FIXED_MTIME, os: UNIX_OS, attrs: FILE_ATTRS };
  const files: Record<string, [Uint8Array, ZipOptions]> = {};
  for (const entry of entries) {
    if (names.has(entry.name)) throw new Error(`Duplicate result entry: ${entry.name}`);
    names.add(entry.name);
    files[entry.name] = [entry.data, options];
  }
  // Object keys keep insertion order except integer-like names, which no output has (names end in .py/.json/...).
  return zipSync(files);
}
