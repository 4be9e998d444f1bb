/**
 * The server-side bundle validator (the bundle policy in core/bundle-policy.ts).
 * Runs in the validate Lambda, again in the Fargate runner before extraction,
 * and in `k2p-web validate`. It stops at the first violation with a stable code.
 *
 * The checks run in a fixed order and the first violation is the verdict:
 * end records and central directory (structure), central-directory rules
 * (entry by entry), local headers and data descriptors (entry by entry) and
 * the layout (entries fill the file exactly), namespace, entry data (first
 * failing entry), references. Every structural inconsistency is thus
 * ZIP_CORRUPT, naming the entry, before a content check could mistake it for a
 * missing file.
 *
 * The archive's structure is read by core/zip-structure.ts, the same reading
 * the page and the CLI apply to archives (one definition). Declared sizes are
 * checked against the limits before anything is inflated; entry data is then
 * inflated with a cap at the declared size (entry-check.ts), so memory and
 * time stay bounded whatever the headers say, and inflated size and CRC must
 * match the headers.
 *
 * That is the plain path, complete on its own. The fast path (fast-path/,
 * behind the `fastPath` option and K2P_VALIDATOR_FAST_PATH) only swaps in
 * faster inflating and XML scanning; it never changes a verdict.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import {
  checkEntryName,
  collisionKey,
  dirName,
  isAllowlistedFile,
  missingReferenceMessage,
  requiredFilesOf,
  WORKFLOW_FILE,
} from '../bundle-policy';
import type { BundleErrorCode } from '../errors';
import { formatBytes } from '../format';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from '../limits';
import type { BundleStats, ValidationFailure, ValidationVerdict } from '../types';
import type { WorkflowNodeRef } from '../bundle-policy';
import { FILE_TYPE, METHOD, unixFileType } from '../zip-format';
import {
  readDirectory,
  readLocalRecords,
  readSync,
  unsupportedFeature,
  ZipReadError,
  type ZipDirectory,
  type ZipRecord,
} from '../zip-structure';
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

/** A central-directory entry as the checks keep it. */
interface CheckedEntry {
  name: string;
  isDirectory: boolean;
  /** Its structure; dataStart is set once the local records have been read. */
  record: ZipRecord;
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
    if (error instanceof ZipReadError) return failure(error.code, error.message, error.entry);
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

  /** @param engine inflates and scans entries: the plain one, or the fast path's */
  constructor(
    private readonly zip: Buffer,
    private readonly limits: BundleLimits,
    private readonly options: ValidateOptions,
    private readonly engine: EntryEngine,
  ) {}

  async run(): Promise<BundleStats> {
    const directory = readSync(
      readDirectory(this.zip.length, {
        maxEntries: this.limits.maxEntries,
        maxDirectoryBytes: this.zip.length,
        tooMany: (count, max) => `The ZIP has ${count} entries; the limit is ${max}.`,
      }),
      this.zip,
    );
    this.checkEntries(directory);
    readSync(readLocalRecords(directory), this.zip);
    this.checkNamespace();
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

  /** The central-directory rules, entry by entry, before any local header is read. */
  private checkEntries(directory: ZipDirectory): void {
    const seen = new Map<string, string>();
    for (const record of directory.records) this.entries.push(this.checkEntry(record, seen));
  }

  /** Every per-entry rule that the central directory alone decides. */
  private checkEntry(record: ZipRecord, seen: Map<string, string>): CheckedEntry {
    const nameBytes = record.nameBytes;
    if (!isUtf8(nameBytes)) reject('ZIP_UNSAFE_PATH', 'An entry name is not valid UTF-8.', Buffer.from(nameBytes).toString('latin1'));
    const name = record.name;
    // Info-ZIP's second name for the entry: tools that prefer it would extract a different file.
    if (record.unicodePath && !Buffer.from(record.unicodePath).equals(nameBytes)) {
      reject('ZIP_UNSAFE_PATH', `\`${name}\` carries a second, different Unicode name.`, name);
    }
    const unsupported = unsupportedFeature(record);
    if (unsupported) reject(unsupported.code, unsupported.reason, name);
    const path = checkEntryName(name, this.limits);
    if (!path.ok) reject('ZIP_UNSAFE_PATH', `\`${printable(name)}\` is not a safe relative path: ${path.reason}.`, name);
    const isDirectory = name.endsWith('/');
    const type = unixFileType(record.versionMadeBy, record.externalAttributes);
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
      if (record.uncompressedSize !== 0) reject('ZIP_CORRUPT', `The folder entry \`${name}\` has content.`, name);
    } else {
      if (!isAllowlistedFile(name)) {
        reject('ZIP_DISALLOWED_FILE', `\`${name}\` is not allowed in a bundle: only workflow.knime and settings.xml files are.`, name);
      }
      this.checkDeclaredSize(record, name);
    }
    return { name, isDirectory, record };
  }

  private checkDeclaredSize(raw: ZipRecord, name: string): void {
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
    if (raw.method === METHOD.STORED && raw.compressedSize !== size) {
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
  const { record } = entry;
  return {
    name: entry.name,
    dataStart: record.dataStart,
    compressedSize: record.compressedSize,
    uncompressedSize: record.uncompressedSize,
    method: record.method,
    crc32: record.crc32,
    isWorkflow: isWorkflowFile(entry.name),
  };
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
