/**
 * The server-side bundle validator (the bundle policy in core/bundle-policy.ts).
 * Runs in the validate Lambda, again in the Fargate runner before extraction,
 * and in `k2p-web validate`. It stops at the first violation with a stable code.
 *
 * The checks run in a fixed order and the first violation is the verdict:
 * central directory (entry by entry), namespace, local headers (entry by
 * entry), layout, entry data (first failing entry), references. Local headers
 * are read while the central directory is, but their problems are reported in
 * that order.
 *
 * yauzl reads the archive structure (end record, central directory, local
 * headers). Declared sizes are checked against the limits before anything is
 * inflated; entry data is then inflated with a cap at the declared size
 * (entry-check.ts), so memory and time stay bounded whatever the headers say,
 * and inflated size and CRC must match the headers.
 *
 * That is the plain path, complete on its own. The fast path (fast-path/,
 * behind the `fastPath` option and K2P_VALIDATOR_FAST_PATH) only swaps in
 * faster inflating and XML scanning; it never changes a verdict.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import {
  checkEntryName,
  collisionKey,
  dirName,
  isAllowlistedFile,
  missingReferenceMessage,
  requiredFilesOf,
  WORKFLOW_FILE,
} from '../bundle-policy';
import { ERRORS, type BundleErrorCode } from '../errors';
import { formatBytes } from '../format';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from '../limits';
import type { BundleStats, ValidationFailure, ValidationVerdict } from '../types';
import type { WorkflowNodeRef } from '../bundle-policy';
import { EXTRA, FILE_TYPE, FLAG, isEncrypted, METHOD, RECORD_BYTES, SIGNATURE, U16_MAX, unixFileType } from '../zip-format';
import { checkEntryData, type EntryEngine, type EntryOutcome, type EntryTask } from './entry-check';
import { fastPathEngine, type FastPathSetting } from './fast-path';

export interface ValidateOptions {
  /** Called with every accepted file's path and inflated bytes, in central-directory order. */
  onFile?: (path: string, data: Uint8Array) => void;
  /**
   * `on`: the fast path (fast-path/index.ts); `off`: the plain path; or a
   * list of the fast path's pieces. Default: K2P_VALIDATOR_FAST_PATH, else on.
   */
  fastPath?: FastPathSetting;
}

/** A verdict-bearing failure thrown inside the validator and turned into its result. */
class Rejection extends Error {
  constructor(
    readonly code: BundleErrorCode,
    readonly detail: string,
    readonly entry?: string,
  ) {
    super(detail);
  }
}

function reject(code: BundleErrorCode, detail: string, entry?: string): never {
  throw new Rejection(code, detail, entry);
}

function failure(code: BundleErrorCode, detail: string, entry?: string): ValidationFailure {
  return { ok: false, code, message: detail, ...(entry !== undefined ? { entry } : {}) };
}

/**
 * yauzl reader over memory. It copies directly (yauzl's default reader pipes a
 * stream per read, ~20x slower) and calls back synchronously: header parsing
 * then runs without a microtask per read, which matters at 4 reads per entry.
 * Callers must not recurse per entry on it (readCentralDirectory loops).
 */
class MemoryReader extends yauzl.RandomAccessReader {
  /** A plain Uint8Array view: its subarray() is a cheap built-in, unlike Buffer's. */
  private readonly bytes: Uint8Array;

  constructor(private readonly data: Buffer) {
    super();
    this.bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead: number) => void,
  ) {
    const available = Math.max(0, Math.min(length, this.bytes.length - position));
    if (available > 0) buffer.set(this.bytes.subarray(position, position + available), offset);
    callback(null, available);
  }
  override _readStreamForRange(start: number, end: number) {
    return Readable.from([this.data.subarray(start, end)]);
  }
}

/**
 * What the checks keep of a central-directory entry: a few numbers, not
 * yauzl's Entry (with its buffers), so 5000 of them stay cheap for the GC.
 */
interface CheckedEntry {
  name: string;
  isDirectory: boolean;
  localHeaderOffset: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  dataStart: number;
  end: number;
  /** What is wrong with the local header; reported only after every central-directory rule has passed. */
  localProblem: Rejection | undefined;
}

/** Validates a bundle held in memory. Never throws for bad input. */
export function validateBundle(
  zip: Uint8Array,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
  options: ValidateOptions = {},
): Promise<ValidationVerdict> {
  return check(zip, limits, options);
}

async function check(zip: Uint8Array, limits: BundleLimits, options: ValidateOptions): Promise<ValidationVerdict> {
  if (zip.length > limits.maxUploadBytes) {
    return failure('BUNDLE_TOO_LARGE', `The bundle is ${formatBytes(zip.length)}; the limit is ${formatBytes(limits.maxUploadBytes)}.`);
  }
  const data = Buffer.isBuffer(zip) ? zip : Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  try {
    const stats = await new BundleCheck(data, limits, options, fastPathEngine(options.fastPath)).run();
    return { ok: true, stats };
  } catch (error) {
    if (error instanceof Rejection) return failure(error.code, error.detail, error.entry);
    throw error;
  }
}

/** Validates a bundle file; rejects oversize files before reading them. */
export async function validateBundleFile(
  path: string,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
  options: ValidateOptions = {},
): Promise<ValidationVerdict> {
  const { size } = await stat(path);
  if (size > limits.maxUploadBytes) {
    return failure('BUNDLE_TOO_LARGE', `The bundle is ${formatBytes(size)}; the limit is ${formatBytes(limits.maxUploadBytes)}.`);
  }
  return check(await readFile(path), limits, options);
}

class BundleCheck {
  private readonly entries: CheckedEntry[] = [];
  private readonly workflows = new Map<string, WorkflowNodeRef[]>();
  private readonly files = new Set<string>();
  private unpackedBytes = 0;
  private centralDirectoryOffset = 0;

  /** @param engine inflates and scans entries: the plain one, or the fast path's */
  constructor(
    private readonly zip: Buffer,
    private readonly limits: BundleLimits,
    private readonly options: ValidateOptions,
    private readonly engine: EntryEngine,
  ) {}

  async run(): Promise<BundleStats> {
    this.checkEndRecord();
    const zipfile = await this.open();
    try {
      await this.readCentralDirectory(zipfile);
    } finally {
      zipfile.close();
    }
    this.checkNamespace();
    this.checkLocalHeaders();
    this.checkLayout();
    this.checkData();
    const references = this.checkReferences();
    return {
      entries: this.entries.length,
      files: this.files.size,
      zipBytes: this.zip.length,
      unpackedBytes: this.unpackedBytes,
      sha256: createHash('sha256').update(this.zip).digest('hex'),
      nodes: references.nodes,
      referencedSettings: references.settings,
      nestedWorkflows: references.nested,
    };
  }

  /** The end record: rejects ZIP64, multi-disk archives and trailing data before yauzl trusts it. */
  private checkEndRecord(): void {
    const zip = this.zip;
    if (zip.length < RECORD_BYTES.EOCD) reject('ZIP_CORRUPT', 'The file is too small to be a ZIP archive.');
    const lowest = Math.max(0, zip.length - RECORD_BYTES.EOCD - U16_MAX);
    let eocd = -1;
    for (let i = zip.length - RECORD_BYTES.EOCD; i >= lowest; i--) {
      if (zip.readUInt32LE(i) === SIGNATURE.EOCD && i + RECORD_BYTES.EOCD + zip.readUInt16LE(i + 20) === zip.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) reject('ZIP_CORRUPT', 'The file is not a ZIP archive (no end-of-central-directory record).');
    if (eocd >= RECORD_BYTES.ZIP64_LOCATOR && zip.readUInt32LE(eocd - RECORD_BYTES.ZIP64_LOCATOR) === SIGNATURE.ZIP64_LOCATOR) {
      reject(
        'ZIP_UNSUPPORTED',
        'The ZIP uses ZIP64 records, which bundles never need; create it with `k2p-web bundle` or a standard ZIP tool.',
      );
    }
    if (
      zip.readUInt16LE(eocd + 4) !== 0 ||
      zip.readUInt16LE(eocd + 6) !== 0 ||
      zip.readUInt16LE(eocd + 8) !== zip.readUInt16LE(eocd + 10)
    ) {
      reject('ZIP_UNSUPPORTED', 'The ZIP is a multi-disk (split) archive.');
    }
    this.centralDirectoryOffset = zip.readUInt32LE(eocd + 16);
    const count = zip.readUInt16LE(eocd + 10);
    if (count > this.limits.maxEntries) {
      reject('ZIP_TOO_MANY_ENTRIES', `The ZIP has ${count} entries; the limit is ${this.limits.maxEntries}.`);
    }
  }

  private open(): Promise<yauzl.ZipFile> {
    return new Promise((resolve, reject) => {
      yauzl.fromRandomAccessReader(
        new MemoryReader(this.zip),
        this.zip.length,
        { lazyEntries: true, decodeStrings: false, validateEntrySizes: false, autoClose: false, strictFileNames: false },
        (error, zipfile) => (error ? reject(structureRejection(error)) : resolve(zipfile)),
      );
    });
  }

  /**
   * Applies the central-directory rules entry by entry, and reads each entry's
   * local header as soon as the entry is known (its problems are kept for
   * checkLocalHeaders, so central-directory violations still come first).
   *
   * With the synchronous MemoryReader, yauzl emits the next entry from inside
   * readEntry(); asking for it from the 'entry' handler would recurse once per
   * entry, so the handler only sets `wanted` and this loop calls readEntry().
   * (yauzl still calls back later in a few cases, e.g. for empty reads; the
   * handler then restarts the loop.)
   */
  private readCentralDirectory(zipfile: yauzl.ZipFile): Promise<void> {
    const seen = new Map<string, string>();
    return new Promise((resolve, fail) => {
      let wanted = false;
      let looping = false;
      let failed = false;
      let ended = false;
      let pendingLocalReads = 0;
      const stop = (error: unknown) => {
        failed = true;
        fail(error);
      };
      const finishIfDone = () => {
        if (ended && pendingLocalReads === 0 && !failed) resolve();
      };
      const readNext = () => {
        wanted = true;
        if (looping) return;
        looping = true;
        while (wanted && !failed) {
          wanted = false;
          zipfile.readEntry();
        }
        looping = false;
      };
      zipfile.on('error', (error: Error) => stop(structureRejection(error)));
      zipfile.on('end', () => {
        ended = true;
        finishIfDone();
      });
      zipfile.on('entry', (raw: yauzl.Entry) => {
        if (failed) return;
        try {
          const entry = this.checkEntry(raw, seen);
          pendingLocalReads++;
          this.readLocalHeader(zipfile, raw, entry, (error) => {
            pendingLocalReads--;
            if (error) stop(error);
            else finishIfDone();
          });
          readNext();
        } catch (error) {
          stop(error);
        }
      });
      readNext();
    });
  }

  /** Every per-entry rule that the central directory alone decides. */
  private checkEntry(raw: yauzl.Entry, seen: Map<string, string>): CheckedEntry {
    const nameBytes = raw.fileName as unknown as Buffer;
    if (!isUtf8(nameBytes)) reject('ZIP_UNSAFE_PATH', 'An entry name is not valid UTF-8.', nameBytes.toString('latin1'));
    const name = nameBytes.toString('utf8');
    for (const field of raw.extraFields) {
      if (field.id === EXTRA.ZIP64) reject('ZIP_UNSUPPORTED', `\`${name}\` uses ZIP64 fields, which bundles never need.`, name);
      if (field.id === EXTRA.UNICODE_PATH) {
        // Info-ZIP's second name for the entry: tools that prefer it would extract a different file.
        const alternate = field.data.subarray(5);
        if (!alternate.equals(nameBytes)) reject('ZIP_UNSAFE_PATH', `\`${name}\` carries a second, different Unicode name.`, name);
      }
    }
    if (isEncrypted(raw.generalPurposeBitFlag, raw.compressionMethod)) reject('ZIP_ENCRYPTED', `\`${name}\` is encrypted.`, name);
    if (raw.compressionMethod !== METHOD.STORED && raw.compressionMethod !== METHOD.DEFLATE) {
      reject(
        'ZIP_UNSUPPORTED',
        `\`${name}\` uses compression method ${raw.compressionMethod}; only stored and deflate are accepted.`,
        name,
      );
    }
    const path = checkEntryName(name, this.limits);
    if (!path.ok) reject('ZIP_UNSAFE_PATH', `\`${printable(name)}\` is not a safe relative path: ${path.reason}.`, name);
    const isDirectory = name.endsWith('/');
    const type = unixFileType(raw.versionMadeBy, raw.externalFileAttributes);
    if (type === FILE_TYPE.SYMLINK) reject('ZIP_SYMLINK', `\`${name}\` is a symbolic link.`, name);
    if (type !== 0 && type !== FILE_TYPE.REGULAR && type !== FILE_TYPE.DIRECTORY)
      reject('ZIP_SYMLINK', `\`${name}\` is a special file, not a regular file.`, name);
    if (type === FILE_TYPE.DIRECTORY && !isDirectory)
      reject('ZIP_SYMLINK', `\`${name}\` is marked as a directory but named like a file.`, name);
    const key = collisionKey(isDirectory ? name.slice(0, -1) : name);
    const previous = seen.get(key);
    if (previous !== undefined) {
      const how =
        previous === name ? 'twice' : `twice (as \`${previous}\` and \`${name}\`, which differ only in letter case or Unicode form)`;
      reject('ZIP_DUPLICATE_ENTRY', `\`${name}\` appears ${how}.`, name);
    }
    seen.set(key, name);
    if (isDirectory) {
      if (raw.uncompressedSize !== 0) reject('ZIP_CORRUPT', `The folder entry \`${name}\` has content.`, name);
    } else {
      if (!isAllowlistedFile(name)) {
        reject('ZIP_DISALLOWED_FILE', `\`${name}\` is not allowed in a bundle: only workflow.knime and settings.xml files are.`, name);
      }
      this.checkDeclaredSize(raw, name);
    }
    const entry: CheckedEntry = {
      name,
      isDirectory,
      localHeaderOffset: raw.relativeOffsetOfLocalHeader,
      flags: raw.generalPurposeBitFlag,
      method: raw.compressionMethod,
      crc32: raw.crc32,
      compressedSize: raw.compressedSize,
      uncompressedSize: raw.uncompressedSize,
      dataStart: 0,
      end: 0,
      // Set here, not added later: every entry then has one shape, and the loops over them stay fast.
      localProblem: undefined,
    };
    this.entries.push(entry);
    return entry;
  }

  private checkDeclaredSize(raw: yauzl.Entry, name: string): void {
    const { maxEntryBytes, maxTotalUnpackedBytes, maxCompressionRatio, ratioThresholdBytes } = this.limits;
    const size = raw.uncompressedSize;
    if (size > maxEntryBytes) {
      reject(
        'ZIP_ENTRY_TOO_LARGE',
        `\`${name}\` unpacks to ${formatBytes(size)}; the limit per file is ${formatBytes(maxEntryBytes)}.`,
        name,
      );
    }
    this.unpackedBytes += size;
    if (this.unpackedBytes > maxTotalUnpackedBytes) {
      reject('ZIP_TOO_LARGE_UNPACKED', `The bundle unpacks to more than ${formatBytes(maxTotalUnpackedBytes)}.`, name);
    }
    if (size > ratioThresholdBytes && size > raw.compressedSize * maxCompressionRatio) {
      const ratio = raw.compressedSize === 0 ? 'an infinite' : `a ${Math.round(size / raw.compressedSize)}:1`;
      reject('ZIP_RATIO_EXCEEDED', `\`${name}\` has ${ratio} compression ratio; the limit is ${maxCompressionRatio}:1.`, name);
    }
    if (raw.compressionMethod === METHOD.STORED && raw.compressedSize !== size) {
      reject('ZIP_CORRUPT', `\`${name}\` is stored uncompressed but its two sizes disagree.`, name);
    }
  }

  /** A path may not be both a file and a folder, and the root workflow.knime must exist. */
  private checkNamespace(): void {
    const folders = new Set<string>();
    for (const entry of this.entries) {
      let dir = dirName(entry.isDirectory ? entry.name.slice(0, -1) : entry.name);
      while (dir !== '' && !folders.has(collisionKey(dir))) {
        folders.add(collisionKey(dir));
        dir = dirName(dir);
      }
    }
    for (const entry of this.entries) {
      if (!entry.isDirectory && folders.has(collisionKey(entry.name))) {
        reject('ZIP_DUPLICATE_ENTRY', `\`${entry.name}\` is both a file and a folder.`, entry.name);
      }
    }
    if (!this.entries.some((entry) => entry.name === WORKFLOW_FILE)) {
      reject('WORKFLOW_MISSING', 'The bundle has no workflow.knime at its root. Bundle the folder that contains workflow.knime.');
    }
  }

  /**
   * Reads one local header. A problem with it is kept on the entry for
   * checkLocalHeaders; `done` gets only unexpected errors.
   */
  private readLocalHeader(zipfile: yauzl.ZipFile, raw: yauzl.Entry, entry: CheckedEntry, done: (error?: unknown) => void): void {
    zipfile.readLocalFileHeader(raw, { minimal: false }, (error, local) => {
      try {
        if (error) entry.localProblem = structureRejection(error, entry.name);
        else this.acceptLocalHeader(entry, raw.fileName as unknown as Buffer, local);
      } catch (unexpected) {
        done(unexpected);
        return;
      }
      done();
    });
  }

  private acceptLocalHeader(entry: CheckedEntry, nameBytes: Buffer, local: yauzl.LocalFileHeader): void {
    try {
      this.compareLocalHeader(entry, nameBytes, local);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      entry.localProblem = error;
      return;
    }
    entry.dataStart = local.fileDataStart;
    entry.end = local.fileDataStart + entry.compressedSize + this.descriptorLength(entry);
  }

  /** Local headers must agree with the central directory (tools disagreeing on them is a known smuggling trick). */
  private compareLocalHeader(entry: CheckedEntry, nameBytes: Buffer, local: yauzl.LocalFileHeader): void {
    const disagree = (field: string) =>
      reject('ZIP_CORRUPT', `The local header of \`${entry.name}\` disagrees with the central directory (${field}).`, entry.name);
    if (!(local.fileName as Buffer).equals(nameBytes)) disagree('file name');
    if (local.generalPurposeBitFlag & (FLAG.ENCRYPTED | FLAG.STRONG_ENCRYPTION))
      reject('ZIP_ENCRYPTED', `\`${entry.name}\` is encrypted.`, entry.name);
    if (local.compressionMethod !== entry.method) disagree('compression method');
    if ((local.generalPurposeBitFlag & FLAG.DATA_DESCRIPTOR) !== (entry.flags & FLAG.DATA_DESCRIPTOR)) disagree('data descriptor flag');
    if (!(entry.flags & FLAG.DATA_DESCRIPTOR)) {
      if (local.crc32 !== entry.crc32) disagree('CRC-32');
      if (local.compressedSize !== entry.compressedSize) disagree('compressed size');
      if (local.uncompressedSize !== entry.uncompressedSize) disagree('uncompressed size');
    }
  }

  /** The first local-header problem in central-directory order. */
  private checkLocalHeaders(): void {
    for (const entry of this.entries) {
      if (entry.localProblem) throw entry.localProblem;
    }
  }

  private descriptorLength(entry: CheckedEntry): number {
    if (!(entry.flags & FLAG.DATA_DESCRIPTOR)) return 0;
    const at = entry.dataStart + entry.compressedSize;
    if (at + 4 <= this.zip.length && this.zip.readUInt32LE(at) === SIGNATURE.DATA_DESCRIPTOR) return 4 + RECORD_BYTES.DATA_DESCRIPTOR;
    return RECORD_BYTES.DATA_DESCRIPTOR;
  }

  /** Entries must not overlap each other or the central directory (overlap is how the densest ZIP bombs work). */
  private checkLayout(): void {
    const byOffset = [...this.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    const first = byOffset[0];
    if (first && first.localHeaderOffset !== 0) {
      reject('ZIP_CORRUPT', 'The ZIP has unexplained data before its first entry.', first.name);
    }
    let previous: CheckedEntry | undefined;
    for (const entry of byOffset) {
      if (previous && entry.localHeaderOffset < previous.end) {
        reject(
          'ZIP_CORRUPT',
          `The entries \`${previous.name}\` and \`${entry.name}\` overlap in the file (a ZIP bomb pattern).`,
          entry.name,
        );
      }
      previous = entry;
    }
    if (previous && previous.end > this.centralDirectoryOffset) {
      reject('ZIP_CORRUPT', `The entry \`${previous.name}\` overlaps the central directory.`, previous.name);
    }
  }

  /** Inflates every file with a hard output cap, checks size and CRC, then the XML. */
  private checkData(): void {
    const onFile = this.options.onFile;
    for (const entry of this.entries) {
      if (entry.isDirectory) continue;
      const outcome = checkEntryData(this.zip, taskOf(entry), this.limits.maxXmlDepth, Boolean(onFile), this.engine);
      this.accept(entry, outcome);
      if (onFile && outcome.ok) onFile(entry.name, outcome.data!);
    }
  }

  private accept(entry: CheckedEntry, outcome: EntryOutcome): void {
    if (!outcome.ok) reject(outcome.code, outcome.message, outcome.entry);
    if (outcome.nodes) this.workflows.set(entry.name, outcome.nodes);
    this.files.add(entry.name);
  }

  /** Follows node_settings_file references from the root workflow.knime through metanodes and components. */
  private checkReferences(): { nodes: number; settings: number; nested: string[] } {
    const queue = [WORKFLOW_FILE];
    const visited = new Set<string>(queue);
    let nodes = 0;
    let settings = 0;
    const nested: string[] = [];
    while (queue.length > 0) {
      const workflow = queue.shift()!;
      const workflowNodes = this.workflows.get(workflow) ?? [];
      nodes += workflowNodes.length;
      const resolved = requiredFilesOf(workflow, workflowNodes, this.limits);
      if (!resolved.ok) reject('ZIP_UNSAFE_PATH', `\`${workflow}\`: ${resolved.reason}.`, workflow);
      for (const file of resolved.required) {
        if (!this.files.has(file.path)) reject('SETTINGS_MISSING', `${missingReferenceMessage(file)}.`, file.path);
        if (!file.nestedWorkflow) settings++;
        else if (!visited.has(file.path)) {
          visited.add(file.path);
          nested.push(file.nodeFolder);
          queue.push(file.path);
        }
      }
    }
    return { nodes, settings, nested };
  }
}

function isWorkflowFile(name: string): boolean {
  return name === WORKFLOW_FILE || name.endsWith(`/${WORKFLOW_FILE}`);
}

function taskOf(entry: CheckedEntry): EntryTask {
  return {
    name: entry.name,
    dataStart: entry.dataStart,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    method: entry.method,
    crc32: entry.crc32,
    isWorkflow: isWorkflowFile(entry.name),
  };
}

/** Maps yauzl's structural errors to codes; everything it cannot read is a corrupt ZIP. */
function structureRejection(error: Error, entry?: string): Rejection {
  const message = error.message;
  if (/encrypt/i.test(message)) return new Rejection('ZIP_ENCRYPTED', 'The ZIP contains encrypted entries.', entry);
  if (/multi-disk|zip64/i.test(message)) return new Rejection('ZIP_UNSUPPORTED', `${ERRORS.ZIP_UNSUPPORTED.message} (${message})`, entry);
  return new Rejection('ZIP_CORRUPT', `The ZIP is damaged: ${message}.`, entry);
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
