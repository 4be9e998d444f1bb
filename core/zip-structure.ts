/**
 * One reading of a ZIP archive (PKWARE's APPNOTE.TXT 6.3.x), shared by the
 * server's validator (core/node/validate-bundle.ts) and the page's and CLI's
 * archive reader (core/zip-read.ts). Browser-safe.
 *
 * Invariant: an accepted archive is exactly, byte for byte,
 *   (local header, data, data descriptor?)*  central directory
 *   (ZIP64 end record, ZIP64 locator)?  end record and its comment
 * on disk 0, every local header and data descriptor agreeing with its
 * central-directory entry, and the end records describing the directory
 * exactly. Readers that walk local headers (streaming extractors) and readers
 * that trust the central directory then see the same entries with the same
 * bytes; anything else is ZIP_CORRUPT (or ZIP_UNSUPPORTED for multi-disk
 * archives), naming the entry when there is one.
 *
 * The readers are generators that yield the byte ranges they need (always
 * within the file), so the validator runs them synchronously over memory
 * (readSync) and the page over a File, the CLI over a file handle (readAsync,
 * which reads the ranges of one step concurrently).
 */
import type { BundleErrorCode } from './errors';
import { EXTRA, FLAG, isEncrypted, METHOD, RECORD_BYTES, SIGNATURE, U16_MAX, U32_MAX } from './zip-format';

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

export function corrupt(what: string, entry?: string): ZipReadError {
  return new ZipReadError('ZIP_CORRUPT', `The archive is damaged: ${what}.`, entry);
}

function multiDisk(entry?: string): ZipReadError {
  return new ZipReadError('ZIP_UNSUPPORTED', 'The archive is split over several files (multi-disk); zip it again as one file.', entry);
}

/** A byte range a reader needs next. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * A reader of part of the archive: yields the ranges it needs next (several at
 * once when they do not depend on each other), receives their bytes in the
 * same order, and returns its result.
 */
export type Reading<T> = Generator<readonly ByteRange[], T, Uint8Array[]>;

/** One range's bytes. */
function* one(range: ByteRange): Reading<Uint8Array> {
  const [bytes] = yield [range];
  return bytes!;
}

/** Runs a reading over bytes in memory. */
export function readSync<T>(reading: Reading<T>, bytes: Uint8Array): T {
  let step = reading.next();
  while (!step.done) step = reading.next(step.value.map(({ offset, length }) => bytes.subarray(offset, offset + length)));
  return step.value;
}

/** Runs a reading over a random-access source; the ranges of one step are read concurrently. */
export async function readAsync<T>(reading: Reading<T>, source: RandomAccessSource): Promise<T> {
  let step = reading.next();
  while (!step.done) step = reading.next(await Promise.all(step.value.map(({ offset, length }) => source.read(offset, length))));
  return step.value;
}

/** Little-endian field reader over one buffer, with bounds that fail as ZIP_CORRUPT instead of RangeError. */
export class Fields {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what = 'a record is cut short',
  ) {
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
  /** 64-bit values beyond 2^53 cannot be real on any disk: refuse them rather than lose precision. */
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
    if (at < 0 || at + length > this.bytes.length) throw corrupt(this.what);
  }
}

/** One entry, as the central directory lists it (64-bit values resolved) and where its bytes lie. */
export interface ZipRecord {
  name: string;
  nameBytes: Uint8Array;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  externalAttributes: number;
  /** The name bytes of an Info-ZIP Unicode path extra field (a second name for the entry), when there is one. */
  unicodePath: Uint8Array | undefined;
  /** Whether the central directory needed ZIP64 values for the sizes (the data descriptor then has 64-bit sizes). */
  zip64Sizes: boolean;
  /** Where the data starts and where the entry (with its data descriptor) ends; set by readLocalRecords. */
  dataStart: number;
  end: number;
}

export interface ZipDirectory {
  records: ZipRecord[];
  /** Where the central directory starts: the entries fill the file up to here. */
  offset: number;
  size: number;
}

export interface DirectoryLimits {
  /** Most entries the end record may count (ZIP_TOO_MANY_ENTRIES, before the directory is read). */
  maxEntries: number;
  /** Largest central directory read into memory (ZIP_TOO_MANY_ENTRIES). */
  maxDirectoryBytes: number;
  /** The ZIP_TOO_MANY_ENTRIES message for a count over the limit. */
  tooMany?: (count: number, max: number) => string;
}

interface EndRecords {
  count: number;
  offset: number;
  size: number;
  /** Where the central directory must end: the ZIP64 end record or the end record. */
  directoryEnd: number;
}

/** The longest tail the end records can occupy: end record, longest comment, ZIP64 locator. */
const TAIL_BYTES = RECORD_BYTES.EOCD + U16_MAX + RECORD_BYTES.ZIP64_LOCATOR;
/** Entries whose local records are read at once (their reads go out together). */
const LOCAL_BATCH = 64;
/** The fixed part of the ZIP64 end record after its signature and size fields (APPNOTE 4.3.14: version 1 has no extensible data). */
const ZIP64_EOCD_BODY = RECORD_BYTES.ZIP64_EOCD - 12;

/**
 * End-record signatures in the last `span` bytes whose comment reaches exactly
 * the end of the file (at most two, nearest first). A shorter span than the
 * whole tail looks only for a comment-less record at the very end, so that
 * the 20 bytes before it (a ZIP64 locator's place) are in the span too.
 */
function* findEndRecord(
  size: number,
  span: number,
): Reading<{ tail: Fields; tailStart: number; candidates: number[]; trailing: number | undefined }> {
  const tailStart = Math.max(0, size - span);
  const tail = new Fields(yield* one({ offset: tailStart, length: size - tailStart }));
  const candidates: number[] = [];
  let trailing: number | undefined;
  const lowest = span === TAIL_BYTES ? 0 : tail.bytes.length - RECORD_BYTES.EOCD;
  for (let at = tail.bytes.length - RECORD_BYTES.EOCD; at >= lowest && candidates.length < 2; at--) {
    if (tail.u32(at) !== SIGNATURE.EOCD) continue;
    const after = tail.bytes.length - (at + RECORD_BYTES.EOCD + tail.u16(at + 20));
    if (after === 0) candidates.push(at);
    else if (after > 0) trailing ??= after;
  }
  return { tail, tailStart, candidates, trailing };
}

/**
 * Finds the end record (the only one whose comment reaches exactly the end of
 * the file) and its ZIP64 twin, and checks that they agree and describe one
 * disk.
 */
function* readEndRecords(size: number): Reading<EndRecords> {
  if (size < RECORD_BYTES.EOCD) throw new ZipReadError('ZIP_CORRUPT', 'The file is too small to be a ZIP archive.');
  // Most archives have no comment: their last 42 bytes hold both end records, and no entry data is read.
  let found = yield* findEndRecord(size, RECORD_BYTES.EOCD + RECORD_BYTES.ZIP64_LOCATOR);
  if (found.candidates.length === 0) found = yield* findEndRecord(size, TAIL_BYTES);
  const { tail, tailStart, candidates, trailing } = found;
  if (candidates.length === 0) {
    if (trailing !== undefined) throw corrupt(`${trailing} bytes follow the end-of-central-directory record`);
    throw new ZipReadError('ZIP_CORRUPT', 'The file is not a ZIP archive or .knwf export (no end-of-central-directory record).');
  }
  // Readers that search from a different side would pick the other one.
  if (candidates.length > 1) throw corrupt('it has two end-of-central-directory records');
  const eocd = candidates[0]!;
  const end = {
    disk: tail.u16(eocd + 4),
    directoryDisk: tail.u16(eocd + 6),
    countOnDisk: tail.u16(eocd + 8),
    count: tail.u16(eocd + 10),
    size: tail.u32(eocd + 12),
    offset: tail.u32(eocd + 16),
  };
  const eocdOffset = tailStart + eocd;
  const locator = eocd - RECORD_BYTES.ZIP64_LOCATOR;
  if (locator < 0 || tail.u32(locator) !== SIGNATURE.ZIP64_LOCATOR) {
    if (end.disk !== 0 || end.directoryDisk !== 0) throw multiDisk();
    if (end.countOnDisk !== end.count) throw corrupt('the end record counts the entries twice, differently');
    return { count: end.count, size: end.size, offset: end.offset, directoryEnd: eocdOffset };
  }
  if (tail.u32(locator + 4) !== 0 || tail.u32(locator + 16) > 1) throw multiDisk();
  const recordOffset = tail.u64(locator + 8);
  const locatorOffset = tailStart + locator;
  if (recordOffset + RECORD_BYTES.ZIP64_EOCD !== locatorOffset) {
    throw corrupt('the ZIP64 end record is not where its locator says (right before it)');
  }
  const record = new Fields(yield* one({ offset: recordOffset, length: RECORD_BYTES.ZIP64_EOCD }));
  if (record.u32(0) !== SIGNATURE.ZIP64_EOCD) throw corrupt('the ZIP64 end record is missing');
  if (record.u64(4) !== ZIP64_EOCD_BODY) {
    throw new ZipReadError('ZIP_UNSUPPORTED', 'The archive has a version 2 ZIP64 end record (central-directory encryption).');
  }
  if (record.u32(16) !== 0 || record.u32(20) !== 0) throw multiDisk();
  const zip64 = { countOnDisk: record.u64(24), count: record.u64(32), size: record.u64(40), offset: record.u64(48) };
  if (zip64.countOnDisk !== zip64.count) throw corrupt('the ZIP64 end record counts the entries twice, differently');
  // A 16/32-bit field is either the value itself or saturated to say "see the ZIP64 record" (APPNOTE 4.4.1.4).
  const agrees = (field: number, value: number, max: number) => field === max || field === value;
  if (!agrees(end.disk, 0, U16_MAX) || !agrees(end.directoryDisk, 0, U16_MAX)) throw multiDisk();
  if (
    !agrees(end.countOnDisk, zip64.count, U16_MAX) ||
    !agrees(end.count, zip64.count, U16_MAX) ||
    !agrees(end.size, zip64.size, U32_MAX) ||
    !agrees(end.offset, zip64.offset, U32_MAX)
  ) {
    throw corrupt('the end record and the ZIP64 end record disagree');
  }
  return { count: zip64.count, size: zip64.size, offset: zip64.offset, directoryEnd: recordOffset };
}

/**
 * Reads the end records and the whole central directory: exactly `count`
 * records filling exactly the declared size, ending where the end records
 * begin. Nothing else is read.
 */
export function* readDirectory(size: number, limits: DirectoryLimits): Reading<ZipDirectory> {
  const end = yield* readEndRecords(size);
  if (end.count > limits.maxEntries) {
    const message =
      limits.tooMany?.(end.count, limits.maxEntries) ?? `The archive has ${end.count} entries; the limit is ${limits.maxEntries}.`;
    throw new ZipReadError('ZIP_TOO_MANY_ENTRIES', message);
  }
  if (end.size > limits.maxDirectoryBytes) {
    throw new ZipReadError('ZIP_TOO_MANY_ENTRIES', "The archive's table of contents is larger than k2p-web reads.");
  }
  if (end.offset + end.size !== end.directoryEnd) {
    throw corrupt(
      `the end record places the central directory at bytes ${end.offset}–${end.offset + end.size}, but it must end at byte ${end.directoryEnd}`,
    );
  }
  const directory = new Fields(
    end.size === 0 ? new Uint8Array(0) : yield* one({ offset: end.offset, length: end.size }),
    'the central directory is cut short',
  );
  const records: ZipRecord[] = [];
  let at = 0;
  for (let i = 0; i < end.count; i++) {
    if (at + RECORD_BYTES.CENTRAL_HEADER > directory.bytes.length || directory.u32(at) !== SIGNATURE.CENTRAL_HEADER) {
      throw corrupt(`the central directory holds fewer than the ${end.count} entries its end record counts`);
    }
    const { record, next } = parseCentralRecord(directory, at);
    records.push(record);
    at = next;
  }
  if (at !== directory.bytes.length) throw corrupt(`the central directory holds more than the ${end.count} entries its end record counts`);
  if (hasSecondEndRecord(directory, end.offset, size)) throw corrupt('it has two end-of-central-directory records');
  return { records, offset: end.offset, size: end.size };
}

/**
 * Whether the directory's last 64 KiB hold another end record whose comment
 * reaches the end of the file (in an entry's comment, say): readers searching
 * from the other side would take it for the archive's.
 */
function hasSecondEndRecord(directory: Fields, offset: number, size: number): boolean {
  const bytes = directory.bytes;
  for (let at = Math.max(0, bytes.length - TAIL_BYTES); at + RECORD_BYTES.EOCD <= bytes.length; at++) {
    if (bytes[at] === 0x50 && directory.u32(at) === SIGNATURE.EOCD && offset + at + RECORD_BYTES.EOCD + directory.u16(at + 20) === size)
      return true;
  }
  return false;
}

function parseCentralRecord(directory: Fields, at: number): { record: ZipRecord; next: number } {
  const nameLength = directory.u16(at + 28);
  const extraLength = directory.u16(at + 30);
  const commentLength = directory.u16(at + 32);
  const flags = directory.u16(at + 8);
  const nameBytes = directory.slice(at + RECORD_BYTES.CENTRAL_HEADER, nameLength);
  const name = decodeName(nameBytes, flags);
  const extra = extraFields(directory.slice(at + RECORD_BYTES.CENTRAL_HEADER + nameLength, extraLength), name);
  directory.slice(at + RECORD_BYTES.CENTRAL_HEADER + nameLength + extraLength, commentLength);
  const uncompressed = directory.u32(at + 24);
  const compressed = directory.u32(at + 20);
  const offset = directory.u32(at + 42);
  const disk = directory.u16(at + 34);
  // APPNOTE 4.5.3: the ZIP64 field holds exactly the values whose header field is saturated, in this order.
  const zip64 = extra.zip64 ? new Fields(extra.zip64, `the ZIP64 field of \`${name}\` is cut short`) : undefined;
  let field = 0;
  const wide = (value: number, max: number, bytes: 4 | 8): number => {
    if (value !== max) return value;
    if (!zip64) throw corrupt(`\`${name}\` has a saturated size or offset but no ZIP64 field`, name);
    const wideValue = bytes === 8 ? zip64.u64(field) : zip64.u32(field);
    field += bytes;
    return wideValue;
  };
  const record: ZipRecord = {
    name,
    nameBytes,
    versionMadeBy: directory.u16(at + 4),
    flags,
    method: directory.u16(at + 10),
    crc32: directory.u32(at + 16),
    uncompressedSize: wide(uncompressed, U32_MAX, 8),
    compressedSize: wide(compressed, U32_MAX, 8),
    localHeaderOffset: wide(offset, U32_MAX, 8),
    externalAttributes: directory.u32(at + 38),
    unicodePath: extra.unicodePath,
    zip64Sizes: uncompressed === U32_MAX || compressed === U32_MAX,
    dataStart: 0,
    end: 0,
  };
  if (wide(disk, U16_MAX, 4) !== 0) throw multiDisk(name);
  if (zip64 && field !== zip64.bytes.length) {
    throw corrupt(`the ZIP64 field of \`${name}\` holds other values than its header's saturated fields`, name);
  }
  return { record, next: at + RECORD_BYTES.CENTRAL_HEADER + nameLength + extraLength + commentLength };
}

/** The extra fields that change how an entry is read; every field must fit, and these two appear at most once. */
function extraFields(extra: Uint8Array, name: string): { zip64?: Uint8Array; unicodePath?: Uint8Array } {
  const fields = new Fields(extra);
  const found: { zip64?: Uint8Array; unicodePath?: Uint8Array } = {};
  for (let at = 0; at < extra.length;) {
    if (at + 4 > extra.length) throw corrupt(`the extra field of \`${name}\` is malformed`, name);
    const id = fields.u16(at);
    const size = fields.u16(at + 2);
    if (at + 4 + size > extra.length) throw corrupt(`the extra field of \`${name}\` is malformed`, name);
    const data = extra.subarray(at + 4, at + 4 + size);
    const key = id === EXTRA.ZIP64 ? 'zip64' : id === EXTRA.UNICODE_PATH ? 'unicodePath' : undefined;
    if (key) {
      if (found[key]) throw corrupt(`\`${name}\` has two ${key === 'zip64' ? 'ZIP64' : 'Unicode path'} extra fields`, name);
      // The Unicode path field: version (1 byte), CRC-32 of the header name (4), then the name.
      found[key] = key === 'unicodePath' ? data.subarray(5) : data;
    }
    at += 4 + size;
  }
  return found;
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

/**
 * Reads every entry's local header and data descriptor (never its data) and
 * checks them against the central directory, in central-directory order, then
 * that the entries tile the file from its first byte to the central directory.
 * Sets each record's dataStart and end.
 */
export function* readLocalRecords(directory: ZipDirectory): Reading<void> {
  const records = directory.records;
  for (let from = 0; from < records.length; from += LOCAL_BATCH) {
    const readers = records.slice(from, from + LOCAL_BATCH).map((record) => readLocalRecord(record, directory.offset));
    // Each entry's reading runs on its own; the batch's reads go out together, and its first problem in central-directory order wins.
    const problems: unknown[] = [];
    const advance = (i: number, input?: Uint8Array[]) => {
      try {
        const step = readers[i]!.next(input!);
        return step.done ? undefined : step.value;
      } catch (error) {
        problems[i] = error;
        return undefined;
      }
    };
    let pending = readers.map((_, i) => advance(i));
    while (pending.some((ranges) => ranges !== undefined)) {
      const bytes = yield pending.flatMap((ranges) => ranges ?? []);
      let at = 0;
      pending = pending.map((ranges, i) => {
        if (!ranges) return undefined;
        at += ranges.length;
        return advance(i, bytes.slice(at - ranges.length, at));
      });
    }
    const first = problems.find((problem) => problem !== undefined);
    if (first !== undefined) throw first;
  }
  checkLayout(directory);
}

function* readLocalRecord(record: ZipRecord, limit: number): Reading<void> {
  const { name } = record;
  const offset = record.localHeaderOffset;
  if (offset + RECORD_BYTES.LOCAL_HEADER > limit) throw corrupt(`the local header of \`${name}\` lies outside the entries`, name);
  const local = new Fields(yield* one({ offset, length: RECORD_BYTES.LOCAL_HEADER }));
  if (local.u32(0) !== SIGNATURE.LOCAL_HEADER) throw corrupt(`the local header of \`${name}\` is missing`, name);
  const nameLength = local.u16(26);
  const extraLength = local.u16(28);
  const headerLength = RECORD_BYTES.LOCAL_HEADER + nameLength + extraLength;
  if (offset + headerLength > limit) throw corrupt(`the local header of \`${name}\` runs into the central directory`, name);
  const variable = new Fields(
    nameLength + extraLength === 0 ? EMPTY : yield* one({ offset: offset + RECORD_BYTES.LOCAL_HEADER, length: nameLength + extraLength }),
  );
  const disagree = (field: string) => corrupt(`the local header of \`${name}\` disagrees with the central directory (${field})`, name);
  if (!sameBytes(variable.slice(0, nameLength), record.nameBytes)) throw disagree('file name');
  const extra = extraFields(variable.slice(nameLength, extraLength), name);
  if (!sameBytes(extra.unicodePath ?? EMPTY, record.unicodePath ?? EMPTY) || !extra.unicodePath !== !record.unicodePath) {
    throw disagree('Unicode path');
  }
  // Encryption and other features are judged from the central directory (unsupportedFeature): here the two must only agree.
  const flags = local.u16(6);
  if (local.u16(8) !== record.method) throw disagree('compression method');
  if (flags !== record.flags) throw disagree('general-purpose flags');
  // APPNOTE 4.5.3: a local ZIP64 field carries the uncompressed, then the compressed size, when their 32-bit fields are saturated.
  let uncompressed = local.u32(22);
  let compressed = local.u32(18);
  if (uncompressed === U32_MAX || compressed === U32_MAX) {
    if (!extra.zip64) throw corrupt(`the local header of \`${name}\` has a saturated size but no ZIP64 field`, name);
    const zip64 = new Fields(extra.zip64, `the local ZIP64 field of \`${name}\` is cut short`);
    let field = 0;
    if (uncompressed === U32_MAX) {
      uncompressed = zip64.u64(field);
      field += 8;
    }
    if (compressed === U32_MAX) compressed = zip64.u64(field);
  }
  // With a data descriptor the local header may leave CRC and sizes at zero (APPNOTE 4.4.4); otherwise they must be the real ones.
  const deferred = (flags & FLAG.DATA_DESCRIPTOR) !== 0;
  const matches = (value: number, expected: number) => value === expected || (deferred && value === 0);
  if (!matches(local.u32(14), record.crc32)) throw disagree('CRC-32');
  if (!matches(compressed, record.compressedSize)) throw disagree('compressed size');
  if (!matches(uncompressed, record.uncompressedSize)) throw disagree('uncompressed size');
  record.dataStart = offset + headerLength;
  const dataEnd = record.dataStart + record.compressedSize;
  if (dataEnd > limit) throw corrupt(`the data of \`${name}\` runs into the central directory`, name);
  record.end = dataEnd;
  if (deferred) record.end += yield* readDataDescriptor(record, dataEnd, limit, record.zip64Sizes || extra.zip64 !== undefined);
}

/**
 * The data descriptor after an entry's data (APPNOTE 4.3.9): an optional
 * signature, the CRC-32 and both sizes, 8 bytes each when the entry is ZIP64.
 * Returns its length; its values must be the central directory's.
 */
function* readDataDescriptor(record: ZipRecord, at: number, limit: number, zip64: boolean): Reading<number> {
  const sizeBytes = zip64 ? 8 : 4;
  const longest = 8 + 2 * sizeBytes;
  const bytes = new Fields(yield* one({ offset: at, length: Math.min(longest, limit - at) }));
  const agrees = (from: number): boolean => {
    if (from + 4 + 2 * sizeBytes > bytes.bytes.length) return false;
    const size = (field: number) => (zip64 ? bytes.u64(field) : bytes.u32(field));
    return (
      bytes.u32(from) === record.crc32 && size(from + 4) === record.compressedSize && size(from + 4 + sizeBytes) === record.uncompressedSize
    );
  };
  if (bytes.bytes.length >= 4 && bytes.u32(0) === SIGNATURE.DATA_DESCRIPTOR && agrees(4)) return longest;
  if (agrees(0)) return longest - 4;
  throw corrupt(`the data descriptor of \`${record.name}\` is missing or disagrees with the central directory`, record.name);
}

/** Entries must tile the file from byte 0 to the central directory: a gap can hide an entry, an overlap is a ZIP bomb. */
function checkLayout(directory: ZipDirectory): void {
  const byOffset = [...directory.records].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let previous: ZipRecord | undefined;
  for (const record of byOffset) {
    const expected = previous ? previous.end : 0;
    if (record.localHeaderOffset < expected) {
      throw corrupt(`the entries \`${previous!.name}\` and \`${record.name}\` overlap in the file (a ZIP bomb pattern)`, record.name);
    }
    if (record.localHeaderOffset > expected) {
      const gap = record.localHeaderOffset - expected;
      if (!previous)
        throw corrupt(`${gap} bytes before the first entry belong to no entry (a self-extractor stub or a hidden entry?)`, record.name);
      throw corrupt(
        `${gap} bytes between \`${previous.name}\` and \`${record.name}\` belong to no listed entry (a hidden entry?)`,
        record.name,
      );
    }
    previous = record;
  }
  const end = previous ? previous.end : 0;
  if (end < directory.offset) {
    const gap = directory.offset - end;
    throw corrupt(`${gap} bytes before the central directory belong to no listed entry (a hidden entry?)`, previous?.name);
  }
}

const EMPTY = new Uint8Array(0);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Flag bits stored entries may carry (APPNOTE 4.4.4): the data descriptor and UTF-8 names; deflate adds its two option bits. */
const STORED_FLAGS = FLAG.DATA_DESCRIPTOR | FLAG.UTF8;
const DEFLATE_FLAGS = STORED_FLAGS | FLAG.DEFLATE_OPTIONS;

/**
 * Why an entry cannot be read by k2p-web, judged from its central-directory
 * record: encryption (ZIP_ENCRYPTED), a compression method other than stored
 * and deflate, or a flag bit with no meaning for them, such as "compressed
 * patched data" (ZIP_UNSUPPORTED). Undefined when it can be read.
 */
export function unsupportedFeature(
  record: Pick<ZipRecord, 'name' | 'flags' | 'method'>,
): { code: BundleErrorCode; reason: string } | undefined {
  const { name, flags, method } = record;
  if (isEncrypted(flags, method))
    return { code: 'ZIP_ENCRYPTED', reason: `\`${name}\` is encrypted; export or zip it again without a password.` };
  if (method !== METHOD.STORED && method !== METHOD.DEFLATE) {
    return {
      code: 'ZIP_UNSUPPORTED',
      reason: `\`${name}\` uses compression method ${method}; only stored and deflate are supported. Export it again from KNIME or zip it with a standard tool.`,
    };
  }
  const undefinedBits = flags & ~(method === METHOD.STORED ? STORED_FLAGS : DEFLATE_FLAGS);
  if (undefinedBits !== 0) {
    return {
      code: 'ZIP_UNSUPPORTED',
      reason: `\`${name}\` sets general-purpose flag bits 0x${undefinedBits.toString(16).padStart(4, '0')}, which have no meaning for ${method === METHOD.STORED ? 'stored' : 'deflate'} entries. Zip it again with a standard tool.`,
    };
  }
  return undefined;
}
