/**
 * The server-side bundle validator (ARCHITECTURE.md "Bundle policy"). Runs in
 * the validate Lambda, again in the Fargate runner before extraction, and in
 * `k2p-web validate`. It stops at the first violation with a stable code.
 *
 * yauzl reads the archive structure (end record, central directory, local
 * headers). Declared sizes are checked against the limits before anything is
 * inflated; entry data is then inflated by zlib with `maxOutputLength` set to
 * the declared size (entry-check.ts), so memory and time stay bounded whatever
 * the headers say, and inflated size and CRC must match the headers.
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
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from '../limits';
import type { BundleStats, ValidationFailure, ValidationVerdict } from '../types';
import { checkEntryData, type EntryOutcome, type EntryTask } from './entry-check';
import { checkEntriesInWorkers, parallelWorkers } from './entry-pool';
import type { WorkflowNodeRef } from '../bundle-policy';

export interface ValidateOptions {
  /** Called with every accepted file's path and inflated bytes, in central-directory order. */
  onFile?: (path: string, data: Uint8Array) => void;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const EXTRA_ZIP64 = 0x0001;
const EXTRA_UNICODE_PATH = 0x7075;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

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

/** yauzl reader over memory with direct copies (its default reader pipes a stream per read, ~20x slower). */
class MemoryReader extends yauzl.RandomAccessReader {
  constructor(private readonly data: Buffer) {
    super();
  }
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead: number) => void) {
    const available = Math.max(0, Math.min(length, this.data.length - position));
    if (available > 0) this.data.copy(buffer, offset, position, position + available);
    queueMicrotask(() => callback(null, available));
  }
  override _readStreamForRange(start: number, end: number) {
    return Readable.from([this.data.subarray(start, end)]);
  }
}

interface CheckedEntry {
  name: string;
  raw: yauzl.Entry;
  isDirectory: boolean;
  dataStart: number;
  end: number;
}

/** Validates a bundle held in memory. Never throws for bad input. */
export async function validateBundle(
  zip: Uint8Array,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
  options: ValidateOptions = {},
): Promise<ValidationVerdict> {
  if (zip.length > limits.maxUploadBytes) {
    return failure('BUNDLE_TOO_LARGE', `The bundle is ${formatBytes(zip.length)}; the limit is ${formatBytes(limits.maxUploadBytes)}.`);
  }
  const data = Buffer.isBuffer(zip) ? zip : Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  try {
    const stats = await new BundleCheck(data, limits, options).run();
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
  return validateBundle(await readFile(path), limits, options);
}

class BundleCheck {
  private readonly entries: CheckedEntry[] = [];
  private readonly workflows = new Map<string, WorkflowNodeRef[]>();
  private readonly files = new Set<string>();
  private unpackedBytes = 0;
  private centralDirectoryOffset = 0;

  constructor(
    private readonly zip: Buffer,
    private readonly limits: BundleLimits,
    private readonly options: ValidateOptions,
  ) {}

  async run(): Promise<BundleStats> {
    this.checkEndRecord();
    const zipfile = await this.open();
    try {
      await this.readCentralDirectory(zipfile);
      this.checkNamespace();
      await this.readLocalHeaders(zipfile);
      this.checkLayout();
      await this.checkData();
    } finally {
      zipfile.close();
    }
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
    if (zip.length < 22) reject('ZIP_CORRUPT', 'The file is too small to be a ZIP archive.');
    const lowest = Math.max(0, zip.length - 22 - 0xffff);
    let eocd = -1;
    for (let i = zip.length - 22; i >= lowest; i--) {
      if (zip.readUInt32LE(i) === EOCD_SIGNATURE && i + 22 + zip.readUInt16LE(i + 20) === zip.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) reject('ZIP_CORRUPT', 'The file is not a ZIP archive (no end-of-central-directory record).');
    if (eocd >= 20 && zip.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIGNATURE) {
      reject('ZIP_UNSUPPORTED', 'The ZIP uses ZIP64 records, which bundles never need; create it with `k2p-web bundle` or a standard ZIP tool.');
    }
    if (zip.readUInt16LE(eocd + 4) !== 0 || zip.readUInt16LE(eocd + 6) !== 0 || zip.readUInt16LE(eocd + 8) !== zip.readUInt16LE(eocd + 10)) {
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

  private readCentralDirectory(zipfile: yauzl.ZipFile): Promise<void> {
    const seen = new Map<string, string>();
    return new Promise((resolve, fail) => {
      zipfile.on('error', (error: Error) => fail(structureRejection(error)));
      zipfile.on('end', () => resolve());
      zipfile.on('entry', (raw: yauzl.Entry) => {
        try {
          this.checkEntry(raw, seen);
          zipfile.readEntry();
        } catch (error) {
          fail(error);
        }
      });
      zipfile.readEntry();
    });
  }

  /** Every per-entry rule that the central directory alone decides. */
  private checkEntry(raw: yauzl.Entry, seen: Map<string, string>): void {
    const nameBytes = raw.fileName as unknown as Buffer;
    if (!isUtf8(nameBytes)) reject('ZIP_UNSAFE_PATH', 'An entry name is not valid UTF-8.', nameBytes.toString('latin1'));
    const name = nameBytes.toString('utf8');
    for (const field of raw.extraFields) {
      if (field.id === EXTRA_ZIP64) reject('ZIP_UNSUPPORTED', `\`${name}\` uses ZIP64 fields, which bundles never need.`, name);
      if (field.id === EXTRA_UNICODE_PATH) {
        // Info-ZIP's second name for the entry: tools that prefer it would extract a different file.
        const alternate = field.data.subarray(5);
        if (!alternate.equals(nameBytes)) reject('ZIP_UNSAFE_PATH', `\`${name}\` carries a second, different Unicode name.`, name);
      }
    }
    const flags = raw.generalPurposeBitFlag;
    if (flags & 0x1 || flags & 0x40 || raw.compressionMethod === 99) {
      reject('ZIP_ENCRYPTED', `\`${name}\` is encrypted.`, name);
    }
    if (raw.compressionMethod !== 0 && raw.compressionMethod !== 8) {
      reject('ZIP_UNSUPPORTED', `\`${name}\` uses compression method ${raw.compressionMethod}; only stored and deflate are accepted.`, name);
    }
    const path = checkEntryName(name, this.limits);
    if (!path.ok) reject('ZIP_UNSAFE_PATH', `\`${printable(name)}\` is not a safe relative path: ${path.reason}.`, name);
    const isDirectory = name.endsWith('/');
    const host = raw.versionMadeBy >>> 8;
    if (host === 3 || host === 19) {
      const type = (raw.externalFileAttributes >>> 16) & S_IFMT;
      if (type === S_IFLNK) reject('ZIP_SYMLINK', `\`${name}\` is a symbolic link.`, name);
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) reject('ZIP_SYMLINK', `\`${name}\` is a special file, not a regular file.`, name);
      if (type === S_IFDIR && !isDirectory) reject('ZIP_SYMLINK', `\`${name}\` is marked as a directory but named like a file.`, name);
    }
    const key = collisionKey(isDirectory ? name.slice(0, -1) : name);
    const previous = seen.get(key);
    if (previous !== undefined) {
      const how = previous === name ? 'twice' : `twice (as \`${previous}\` and \`${name}\`, which differ only in letter case or Unicode form)`;
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
    this.entries.push({ name, raw, isDirectory, dataStart: 0, end: 0 });
  }

  private checkDeclaredSize(raw: yauzl.Entry, name: string): void {
    const { maxEntryBytes, maxTotalUnpackedBytes, maxCompressionRatio, ratioThresholdBytes } = this.limits;
    const size = raw.uncompressedSize;
    if (size > maxEntryBytes) {
      reject('ZIP_ENTRY_TOO_LARGE', `\`${name}\` unpacks to ${formatBytes(size)}; the limit per file is ${formatBytes(maxEntryBytes)}.`, name);
    }
    this.unpackedBytes += size;
    if (this.unpackedBytes > maxTotalUnpackedBytes) {
      reject('ZIP_TOO_LARGE_UNPACKED', `The bundle unpacks to more than ${formatBytes(maxTotalUnpackedBytes)}.`, name);
    }
    if (size > ratioThresholdBytes && size > raw.compressedSize * maxCompressionRatio) {
      const ratio = raw.compressedSize === 0 ? 'an infinite' : `a ${Math.round(size / raw.compressedSize)}:1`;
      reject('ZIP_RATIO_EXCEEDED', `\`${name}\` has ${ratio} compression ratio; the limit is ${maxCompressionRatio}:1.`, name);
    }
    if (raw.compressionMethod === 0 && raw.compressedSize !== size) {
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

  /** Local headers must agree with the central directory (tools disagreeing on them is a known smuggling trick). */
  private async readLocalHeaders(zipfile: yauzl.ZipFile): Promise<void> {
    for (const entry of this.entries) {
      const raw = entry.raw;
      let local: yauzl.LocalFileHeader;
      try {
        local = await zipfile.readLocalFileHeaderPromise(raw, { minimal: false });
      } catch (error) {
        throw structureRejection(error as Error, entry.name);
      }
      const disagree = (field: string) =>
        reject('ZIP_CORRUPT', `The local header of \`${entry.name}\` disagrees with the central directory (${field}).`, entry.name);
      if (!(local.fileName as Buffer).equals(raw.fileName as unknown as Buffer)) disagree('file name');
      if (local.generalPurposeBitFlag & 0x41) reject('ZIP_ENCRYPTED', `\`${entry.name}\` is encrypted.`, entry.name);
      if (local.compressionMethod !== raw.compressionMethod) disagree('compression method');
      if ((local.generalPurposeBitFlag & 0x8) !== (raw.generalPurposeBitFlag & 0x8)) disagree('data descriptor flag');
      if (!(raw.generalPurposeBitFlag & 0x8)) {
        if (local.crc32 !== raw.crc32) disagree('CRC-32');
        if (local.compressedSize !== raw.compressedSize) disagree('compressed size');
        if (local.uncompressedSize !== raw.uncompressedSize) disagree('uncompressed size');
      }
      entry.dataStart = local.fileDataStart;
      entry.end = local.fileDataStart + raw.compressedSize + this.descriptorLength(entry);
    }
  }

  private descriptorLength(entry: CheckedEntry): number {
    if (!(entry.raw.generalPurposeBitFlag & 0x8)) return 0;
    const at = entry.dataStart + entry.raw.compressedSize;
    if (at + 4 <= this.zip.length && this.zip.readUInt32LE(at) === DATA_DESCRIPTOR_SIGNATURE) return 16;
    return 12;
  }

  /** Entries must not overlap each other or the central directory (overlap is how the densest ZIP bombs work). */
  private checkLayout(): void {
    const byOffset = [...this.entries].sort((a, b) => a.raw.relativeOffsetOfLocalHeader - b.raw.relativeOffsetOfLocalHeader);
    const first = byOffset[0];
    if (first && first.raw.relativeOffsetOfLocalHeader !== 0) {
      reject('ZIP_CORRUPT', 'The ZIP has unexplained data before its first entry.', first.name);
    }
    let previous: CheckedEntry | undefined;
    for (const entry of byOffset) {
      if (previous && entry.raw.relativeOffsetOfLocalHeader < previous.end) {
        reject('ZIP_CORRUPT', `The entries \`${previous.name}\` and \`${entry.name}\` overlap in the file (a ZIP bomb pattern).`, entry.name);
      }
      previous = entry;
    }
    if (previous && previous.end > this.centralDirectoryOffset) {
      reject('ZIP_CORRUPT', `The entry \`${previous.name}\` overlaps the central directory.`, previous.name);
    }
  }

  /** Inflates every file with a hard output cap, checks size and CRC, then the XML (inline or on workers). */
  private async checkData(): Promise<void> {
    const tasks: EntryTask[] = [];
    for (const entry of this.entries) {
      if (entry.isDirectory) continue;
      tasks.push({
        index: tasks.length,
        name: entry.name,
        dataStart: entry.dataStart,
        compressedSize: entry.raw.compressedSize,
        uncompressedSize: entry.raw.uncompressedSize,
        method: entry.raw.compressionMethod,
        crc32: entry.raw.crc32,
        isWorkflow: entry.name === WORKFLOW_FILE || entry.name.endsWith(`/${WORKFLOW_FILE}`),
      });
    }
    const onFile = this.options.onFile;
    const threads = onFile ? 0 : parallelWorkers(this.unpackedBytes);
    if (threads > 0) {
      // Workflow files are parsed here (their node lists are needed); settings files go to the workers.
      const settings = tasks.filter((task) => !task.isWorkflow);
      const outcomes = [
        ...tasks.filter((task) => task.isWorkflow).map((task) => checkEntryData(this.zip, task, this.limits.maxXmlDepth, false)),
        ...(await checkEntriesInWorkers(this.zip, settings, threads, this.limits.maxXmlDepth)),
      ].sort((a, b) => a.index - b.index);
      for (const outcome of outcomes) this.accept(tasks[outcome.index]!, outcome);
      return;
    }
    for (const task of tasks) {
      const outcome = checkEntryData(this.zip, task, this.limits.maxXmlDepth, Boolean(onFile));
      this.accept(task, outcome);
      if (onFile && outcome.ok) onFile(task.name, outcome.data!);
    }
  }

  private accept(task: EntryTask, outcome: EntryOutcome): void {
    if (!outcome.ok) reject(outcome.code, outcome.message, outcome.entry);
    if (outcome.nodes) this.workflows.set(task.name, outcome.nodes);
    this.files.add(task.name);
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

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
