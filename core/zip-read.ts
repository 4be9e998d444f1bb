/**
 * Reads the workflow files out of a user's `.knwf` export or `.zip`, in a
 * browser or in Node, without trusting the archive.
 *
 * Why not fflate's `unzip`/`Unzip`: `unzip` needs the whole archive in memory
 * (a `.knwf` with data can be gigabytes), merges duplicate names silently and
 * hides the encryption flag; `Unzip` streams every byte and finds the end of
 * data-descriptor entries (which KNIME's Java exporter writes) by scanning for
 * a signature. Here the archive's structure is read through random access
 * (core/zip-structure.ts, the validator's own reading: end records, central
 * directory, every local header and data descriptor, never entry data), only
 * the entries that are really needed are read, and fflate's streaming
 * `Inflate` inflates them with a hard output cap.
 */
import { Inflate } from 'fflate';
import { checkEntryName, isAllowlistedFile } from './bundle-policy';
import type { SourceFile } from './bundler';
import type { BundleErrorCode } from './errors';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './limits';
import { FILE_TYPE, METHOD, unixFileType } from './zip-format';
import {
  corrupt,
  readAsync,
  readDirectory,
  readLocalRecords,
  unsupportedFeature,
  ZipReadError,
  type RandomAccessSource,
  type ZipRecord,
} from './zip-structure';

export { ZipReadError, type RandomAccessSource } from './zip-structure';

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  isDirectory: boolean;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** Where its data starts, after the local header. */
  dataStart: number;
  /** Set when the entry can never be read (encrypted, unsupported compression or flags, symlink). */
  unreadable?: { code: BundleErrorCode; reason: string };
}

export interface ZipReadOptions {
  /** Bundle limits: `maxEntryBytes` caps each inflated file. */
  limits?: BundleLimits;
  /** Most entries the archive may list (data files included). @default DEFAULT_MAX_SOURCE_FILES */
  maxEntries?: number;
}

/** A `.knwf` holds data files besides the bundle's: allow far more entries than a bundle, but not unbounded. */
export const DEFAULT_MAX_SOURCE_FILES = 100_000;
/** The central directory is read into memory at once; 100 000 ordinary entries take ~15 MiB. */
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

/** Compressed data is fed to the inflater in slices this big, so one step can overshoot the cap by ~1032x of it at most. */
const INFLATE_SLICE = 16 * 1024;

export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

/** A browser File (or any Blob): `slice` reads only the requested range from disk. */
export function blobSource(blob: Blob): RandomAccessSource {
  return { size: blob.size, read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) };
}

/**
 * Lists the archive's entries after checking its whole structure (end
 * records, central directory, every local header and data descriptor, and
 * that the entries fill the file); no entry data is read.
 */
export async function readCentralDirectory(source: RandomAccessSource, options: ZipReadOptions = {}): Promise<ZipEntry[]> {
  const directory = await readAsync(
    readDirectory(source.size, {
      maxEntries: options.maxEntries ?? DEFAULT_MAX_SOURCE_FILES,
      maxDirectoryBytes: MAX_CENTRAL_DIRECTORY_BYTES,
      tooMany: (count, max) => `The archive has ${count} entries; k2p-web reads archives of at most ${max}.`,
    }),
    source,
  );
  await readAsync(readLocalRecords(directory), source);
  return directory.records.map(entryOf);
}

function entryOf(record: ZipRecord): ZipEntry {
  const entry: ZipEntry = {
    name: record.name,
    isDirectory: record.name.endsWith('/'),
    method: record.method,
    flags: record.flags,
    crc32: record.crc32,
    compressedSize: record.compressedSize,
    uncompressedSize: record.uncompressedSize,
    localHeaderOffset: record.localHeaderOffset,
    dataStart: record.dataStart,
  };
  const unreadable = whyUnreadable(record);
  if (unreadable) entry.unreadable = unreadable;
  return entry;
}

function whyUnreadable(record: ZipRecord): ZipEntry['unreadable'] {
  const unsupported = unsupportedFeature(record);
  if (unsupported) return unsupported;
  const type = unixFileType(record.versionMadeBy, record.externalAttributes);
  if (type === FILE_TYPE.SYMLINK) return { code: 'ZIP_SYMLINK', reason: `\`${record.name}\` is a symbolic link, not a file.` };
  if (type !== 0 && type !== FILE_TYPE.REGULAR && type !== FILE_TYPE.DIRECTORY) {
    return { code: 'ZIP_SYMLINK', reason: `\`${record.name}\` is a special file, not a regular file.` };
  }
  return undefined;
}

/**
 * Reads and inflates one entry: refuses it before reading anything when its
 * declared size exceeds `maxBytes`, stops inflating one slice past the declared
 * size (headers can lie), and checks the CRC.
 */
export async function readZipEntry(source: RandomAccessSource, entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
  if (entry.unreadable) throw new ZipReadError(entry.unreadable.code, entry.unreadable.reason, entry.name);
  if (entry.isDirectory) throw new ZipReadError('ZIP_CORRUPT', `\`${entry.name}\` is a folder, not a file.`, entry.name);
  if (entry.uncompressedSize > maxBytes) {
    throw new ZipReadError(
      'ZIP_ENTRY_TOO_LARGE',
      `\`${entry.name}\` unpacks to ${entry.uncompressedSize} bytes; the limit per file is ${maxBytes}.`,
      entry.name,
    );
  }
  // Deflate never grows data by more than ~0.1 % plus a few bytes: a bigger payload is not what the header says.
  const maxCompressed =
    entry.method === METHOD.STORED ? entry.uncompressedSize : entry.uncompressedSize + Math.ceil(entry.uncompressedSize / 1000) + 1024;
  if (entry.compressedSize > maxCompressed) throw corrupt(`\`${entry.name}\` has more compressed data than its size allows`, entry.name);
  if (entry.dataStart + entry.compressedSize > source.size) throw corrupt(`\`${entry.name}\` runs past the end of the file`, entry.name);
  const payload = await source.read(entry.dataStart, entry.compressedSize);
  const data = entry.method === METHOD.STORED ? payload : inflateCapped(payload, entry);
  if (data.length !== entry.uncompressedSize) {
    throw corrupt(`\`${entry.name}\` unpacks to ${data.length} bytes but its header declares ${entry.uncompressedSize}`, entry.name);
  }
  if (crc32(data) !== entry.crc32) throw corrupt(`\`${entry.name}\` fails its CRC-32 check`, entry.name);
  return data;
}

function inflateCapped(payload: Uint8Array, entry: ZipEntry): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > entry.uncompressedSize) {
      throw corrupt(`\`${entry.name}\` inflates to more than the ${entry.uncompressedSize} bytes its header declares`, entry.name);
    }
    chunks.push(chunk);
  });
  try {
    for (let at = 0; at < payload.length; at += INFLATE_SLICE) {
      inflater.push(payload.subarray(at, at + INFLATE_SLICE), at + INFLATE_SLICE >= payload.length);
    }
    if (payload.length === 0) inflater.push(payload, true);
  } catch (error) {
    if (error instanceof ZipReadError) throw error;
    throw corrupt(`\`${entry.name}\` has damaged compressed data (${(error as Error).message})`, entry.name);
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  crcTable ??= makeCrcTable();
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** Whether a name can be used as a relative path at all (depth and length are judged later, relative to the root). */
function isSafeName(name: string): boolean {
  return checkEntryName(name, { maxPathBytes: Number.MAX_SAFE_INTEGER, maxPathDepth: Number.MAX_SAFE_INTEGER }).ok;
}

/**
 * The archive's files as bundler sources. Only allowlisted names
 * (workflow.knime, settings.xml) can be read, so data, tables and anything
 * else in a `.knwf` is never even read from disk, let alone inflated.
 * Unsafe names are listed as they are; the bundler treats them as absent.
 */
export async function zipSourceFiles(source: RandomAccessSource, options: ZipReadOptions = {}): Promise<SourceFile[]> {
  const maxBytes = (options.limits ?? DEFAULT_BUNDLE_LIMITS).maxEntryBytes;
  const entries = await readCentralDirectory(source, options);
  const files: SourceFile[] = [];
  for (const entry of entries) {
    if (entry.isDirectory) continue;
    files.push({
      path: entry.name,
      size: entry.uncompressedSize,
      read: async () => {
        if (!isAllowlistedFile(entry.name) || !isSafeName(entry.name)) {
          throw new ZipReadError('ZIP_DISALLOWED_FILE', `\`${entry.name}\` is not a workflow file and is never read.`, entry.name);
        }
        return readZipEntry(source, entry, maxBytes);
      },
    });
  }
  return files;
}
