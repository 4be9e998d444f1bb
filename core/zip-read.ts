/**
 * Reads the workflow files out of a user's `.knwf` export or `.zip`, in a
 * browser or in Node, without trusting the archive.
 *
 * Why not fflate's `unzip`/`Unzip`: `unzip` needs the whole archive in memory
 * (a `.knwf` with data can be gigabytes), merges duplicate names silently and
 * hides the encryption flag; `Unzip` streams every byte and finds the end of
 * data-descriptor entries (which KNIME's Java exporter writes) by scanning for
 * a signature. Here the central directory is read through random access, so
 * only the end of the archive and the entries that are really needed are ever
 * read, and fflate's streaming `Inflate` inflates them with a hard output cap.
 */
import { Inflate } from 'fflate';
import { checkEntryName, isAllowlistedFile } from './bundle-policy';
import type { SourceFile } from './bundler';
import type { BundleErrorCode } from './errors';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './limits';
import { EXTRA, FILE_TYPE, FLAG, isEncrypted, METHOD, RECORD_BYTES, SIGNATURE, U16_MAX, U32_MAX, unixFileType } from './zip-format';

/** Random access to an archive's bytes: a browser File/Blob, a Node file handle or memory. */
export interface RandomAccessSource {
  readonly size: number;
  /** Exactly `length` bytes from `offset` (the caller stays within `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A problem with the archive, carrying the bundle error code a user would get for it. */
export class ZipReadError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'ZipReadError';
  }
}

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
  /** Set when the entry can never be read (encrypted, unsupported compression, symlink). */
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

/** Little-endian field reader over one buffer, with bounds that fail as ZIP_CORRUPT instead of RangeError. */
class Fields {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number {
    this.need(at, 2);
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    this.need(at, 4);
    return this.view.getUint32(at, true);
  }
  /** 64-bit sizes beyond 2^53 cannot be real on any disk: refuse them rather than lose precision. */
  u64(at: number): number {
    const value = this.u32(at) + this.u32(at + 4) * 2 ** 32;
    if (!Number.isSafeInteger(value)) throw corrupt('a ZIP64 field is out of range');
    return value;
  }
  slice(at: number, length: number): Uint8Array {
    this.need(at, length);
    return this.bytes.subarray(at, at + length);
  }
  private need(at: number, length: number): void {
    if (at < 0 || at + length > this.bytes.length) throw corrupt('a record is cut short');
  }
}

function corrupt(what: string, entry?: string): ZipReadError {
  return new ZipReadError('ZIP_CORRUPT', `The archive is damaged: ${what}.`, entry);
}

interface DirectoryLocation {
  count: number;
  offset: number;
  size: number;
}

/**
 * Finds the end record (and its ZIP64 twin). Archives without a comment end
 * with it, so the last 42 bytes usually suffice; only otherwise is the
 * longest possible comment (64 KiB) searched.
 */
async function locateCentralDirectory(source: RandomAccessSource): Promise<DirectoryLocation> {
  if (source.size < RECORD_BYTES.EOCD) throw new ZipReadError('ZIP_CORRUPT', 'The file is too small to be a ZIP archive or .knwf export.');
  let found = await findEndRecord(source, RECORD_BYTES.EOCD + RECORD_BYTES.ZIP64_LOCATOR, true);
  found ??= await findEndRecord(source, RECORD_BYTES.EOCD + U16_MAX + RECORD_BYTES.ZIP64_LOCATOR, false);
  if (!found) throw new ZipReadError('ZIP_CORRUPT', 'The file is not a ZIP archive or .knwf export (no end-of-central-directory record).');
  const { tail, tailStart, eocd } = found;
  if (tail.u16(eocd + 4) !== 0 || tail.u16(eocd + 6) !== 0) {
    throw new ZipReadError('ZIP_UNSUPPORTED', 'The archive is split over several files (multi-disk); export it again as one file.');
  }
  let location: DirectoryLocation = { count: tail.u16(eocd + 10), size: tail.u32(eocd + 12), offset: tail.u32(eocd + 16) };
  if (eocd >= RECORD_BYTES.ZIP64_LOCATOR && tail.u32(eocd - RECORD_BYTES.ZIP64_LOCATOR) === SIGNATURE.ZIP64_LOCATOR) {
    location = await readZip64End(source, tail.u64(eocd - RECORD_BYTES.ZIP64_LOCATOR + 8));
  }
  if (location.offset + location.size > tailStart + eocd) throw corrupt('the central directory lies outside the file');
  return location;
}

/** With `atEndOnly`, accepts only a record without comment that ends the file (the 20 bytes before it can then hold a ZIP64 locator). */
async function findEndRecord(
  source: RandomAccessSource,
  span: number,
  atEndOnly: boolean,
): Promise<{ tail: Fields; tailStart: number; eocd: number } | undefined> {
  const tailStart = Math.max(0, source.size - span);
  const tail = new Fields(await source.read(tailStart, source.size - tailStart));
  const lowest = atEndOnly ? tail.bytes.length - RECORD_BYTES.EOCD : 0;
  for (let eocd = tail.bytes.length - RECORD_BYTES.EOCD; eocd >= lowest; eocd--) {
    if (tail.u32(eocd) === SIGNATURE.EOCD && eocd + RECORD_BYTES.EOCD + tail.u16(eocd + 20) <= tail.bytes.length)
      return { tail, tailStart, eocd };
  }
  return undefined;
}

async function readZip64End(source: RandomAccessSource, at: number): Promise<DirectoryLocation> {
  if (at + RECORD_BYTES.ZIP64_EOCD > source.size) throw corrupt('the ZIP64 end record lies outside the file');
  const record = new Fields(await source.read(at, RECORD_BYTES.ZIP64_EOCD));
  if (record.u32(0) !== SIGNATURE.ZIP64_EOCD) throw corrupt('the ZIP64 end record is missing');
  return { count: record.u64(32), size: record.u64(40), offset: record.u64(48) };
}

/** Lists the archive's entries from its central directory (nothing else is read). */
export async function readCentralDirectory(source: RandomAccessSource, options: ZipReadOptions = {}): Promise<ZipEntry[]> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_SOURCE_FILES;
  const location = await locateCentralDirectory(source);
  if (location.count > maxEntries) {
    throw new ZipReadError(
      'ZIP_TOO_MANY_ENTRIES',
      `The archive has ${location.count} entries; k2p-web reads archives of at most ${maxEntries}.`,
    );
  }
  if (location.size > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new ZipReadError('ZIP_TOO_MANY_ENTRIES', "The archive's table of contents is larger than k2p-web reads (64 MiB).");
  }
  const directory = new Fields(await source.read(location.offset, location.size));
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < location.count; i++) {
    if (directory.u32(at) !== SIGNATURE.CENTRAL_HEADER) throw corrupt('the central directory is damaged');
    const { entry, next } = parseCentralRecord(directory, at);
    if (entry.localHeaderOffset >= source.size) throw corrupt('an entry points outside the file', entry.name);
    entries.push(entry);
    at = next;
  }
  return entries;
}

function parseCentralRecord(directory: Fields, at: number): { entry: ZipEntry; next: number } {
  const nameLength = directory.u16(at + 28);
  const extraLength = directory.u16(at + 30);
  const commentLength = directory.u16(at + 32);
  const flags = directory.u16(at + 8);
  const entry: ZipEntry = {
    name: decodeName(directory.slice(at + RECORD_BYTES.CENTRAL_HEADER, nameLength), flags),
    isDirectory: false,
    method: directory.u16(at + 10),
    flags,
    crc32: directory.u32(at + 16),
    compressedSize: directory.u32(at + 20),
    uncompressedSize: directory.u32(at + 24),
    localHeaderOffset: directory.u32(at + 42),
  };
  applyZip64Extra(entry, new Fields(directory.slice(at + RECORD_BYTES.CENTRAL_HEADER + nameLength, extraLength)));
  entry.isDirectory = entry.name.endsWith('/');
  const unreadable = whyUnreadable(entry, directory.u16(at + 4), directory.u32(at + 38));
  if (unreadable) entry.unreadable = unreadable;
  return { entry, next: at + RECORD_BYTES.CENTRAL_HEADER + nameLength + extraLength + commentLength };
}

let fatalUtf8: TextDecoder | undefined;

/** UTF-8 when flagged or when the bytes happen to be valid UTF-8 (macOS tools omit the flag); else Latin-1, so any name decodes. */
function decodeName(bytes: Uint8Array, flags: number): string {
  if (flags & FLAG.UTF8) return new TextDecoder('utf-8').decode(bytes);
  fatalUtf8 ??= new TextDecoder('utf-8', { fatal: true });
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** ZIP64 extra field: the 64-bit values of the fields whose 32-bit slot is saturated, in a fixed order. */
function applyZip64Extra(entry: ZipEntry, extra: Fields): void {
  for (let at = 0; at + 4 <= extra.bytes.length;) {
    const id = extra.u16(at);
    const size = extra.u16(at + 2);
    if (id === EXTRA.ZIP64) {
      let field = at + 4;
      const take = () => {
        const value = extra.u64(field);
        field += 8;
        return value;
      };
      if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = take();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = take();
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = take();
      return;
    }
    at += 4 + size;
  }
}

function whyUnreadable(entry: ZipEntry, versionMadeBy: number, externalAttributes: number): ZipEntry['unreadable'] {
  if (isEncrypted(entry.flags, entry.method)) {
    return { code: 'ZIP_ENCRYPTED', reason: `\`${entry.name}\` is encrypted; export the workflow without a password.` };
  }
  const type = unixFileType(versionMadeBy, externalAttributes);
  if (type === FILE_TYPE.SYMLINK) return { code: 'ZIP_SYMLINK', reason: `\`${entry.name}\` is a symbolic link, not a file.` };
  if (type !== 0 && type !== FILE_TYPE.REGULAR && type !== FILE_TYPE.DIRECTORY) {
    return { code: 'ZIP_SYMLINK', reason: `\`${entry.name}\` is a special file, not a regular file.` };
  }
  if (!entry.isDirectory && entry.method !== METHOD.STORED && entry.method !== METHOD.DEFLATE) {
    return {
      code: 'ZIP_UNSUPPORTED',
      reason: `\`${entry.name}\` uses compression method ${entry.method}; only stored and deflate are supported. Export it again from KNIME or zip it with a standard tool.`,
    };
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
  const dataStart = await localDataStart(source, entry);
  if (dataStart + entry.compressedSize > source.size) throw corrupt(`\`${entry.name}\` runs past the end of the file`, entry.name);
  const payload = await source.read(dataStart, entry.compressedSize);
  const data = entry.method === METHOD.STORED ? payload : inflateCapped(payload, entry);
  if (data.length !== entry.uncompressedSize) {
    throw corrupt(`\`${entry.name}\` unpacks to ${data.length} bytes but its header declares ${entry.uncompressedSize}`, entry.name);
  }
  if (crc32(data) !== entry.crc32) throw corrupt(`\`${entry.name}\` fails its CRC-32 check`, entry.name);
  return data;
}

/** The local header repeats name and flags; its own name/extra lengths decide where the data starts. */
async function localDataStart(source: RandomAccessSource, entry: ZipEntry): Promise<number> {
  if (entry.localHeaderOffset + RECORD_BYTES.LOCAL_HEADER > source.size)
    throw corrupt(`the header of \`${entry.name}\` lies outside the file`, entry.name);
  const local = new Fields(await source.read(entry.localHeaderOffset, RECORD_BYTES.LOCAL_HEADER));
  if (local.u32(0) !== SIGNATURE.LOCAL_HEADER) throw corrupt(`the header of \`${entry.name}\` is missing`, entry.name);
  if (local.u16(6) & (FLAG.ENCRYPTED | FLAG.STRONG_ENCRYPTION))
    throw new ZipReadError('ZIP_ENCRYPTED', `\`${entry.name}\` is encrypted; export the workflow without a password.`, entry.name);
  if (local.u16(8) !== entry.method) throw corrupt(`the two headers of \`${entry.name}\` disagree on its compression`, entry.name);
  return entry.localHeaderOffset + RECORD_BYTES.LOCAL_HEADER + local.u16(26) + local.u16(28);
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
