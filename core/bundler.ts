/**
 * The bundler: from what a user picked (a workflow folder, a parent folder,
 * or a `.knwf`/`.zip` export) to a clean bundle (workflow.knime at the root
 * plus every settings.xml it references, recursively) and a manifest that
 * says what went in, what is missing and what deserves a second look.
 *
 * Browser-safe: the web page and `k2p-web bundle` run this same code, so a
 * bundle built in either place is byte-identical. Sources are lazy: only the
 * allowlisted files the workflow really needs are ever read.
 */
import { deflateSync, zipSync, type ZipOptions } from 'fflate';
import {
  baseName,
  checkEntryName,
  collisionKey,
  dirName,
  joinPath,
  requiredFilesOf,
  WORKFLOW_FILE,
  type RequiredFile,
} from './bundle-policy';
import { ERRORS, isErrorCode, type BundleErrorCode } from './errors';
import { formatBytes } from './format';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './limits';
import type { Manifest, ManifestFile, ManifestWarning } from './types';
import { findCredentialValues, parseWorkflow } from './workflow';
import { checkXml, type XmlError } from './xml';

/** One file of the user's selection, read only on demand. */
export interface SourceFile {
  /** POSIX path relative to what the user picked (for a `.knwf`, the entry name). */
  readonly path: string;
  /** Size in bytes as the source declares it (checked again after reading). */
  readonly size: number;
  read(): Promise<Uint8Array>;
}

export interface BundlerOptions {
  /**
   * Folder of the workflow to bundle, relative to the selection, when it holds several.
   * @default - the single top-most folder holding a workflow.knime
   */
  root?: string;
  /** @default DEFAULT_BUNDLE_LIMITS - the service's limits, so what is built here is accepted there */
  limits?: BundleLimits;
  /**
   * Name of what the user picked (folder or file name): the workflow's name
   * when workflow.knime sits at the top of the selection. `.knwf`/`.zip` is dropped.
   * @default - "workflow"
   */
  sourceName?: string;
}

/** Codes of blocking problems: the service's bundle codes, plus two only the bundler can meet. */
export type BundlerErrorCode = BundleErrorCode | 'SEVERAL_ROOTS' | 'SOURCE_UNREADABLE';

export interface BundlerError {
  code: BundlerErrorCode;
  message: string;
  /** The file concerned, relative to the root (or to the selection before a root is chosen). */
  path?: string;
}

/** A file going into the bundle; `path` is relative to the workflow root. */
export interface BundleEntry {
  path: string;
  data: Uint8Array;
}

export type BundlePlan =
  { ok: true; manifest: Manifest; entries: BundleEntry[] } | { ok: false; manifest: Manifest; errors: BundlerError[] };

export type BundleResult = { ok: true; manifest: Manifest; zip: Uint8Array } | { ok: false; manifest: Manifest; errors: BundlerError[] };

/** Fixed entry time in *local* time: fflate writes DOS local-time fields, so they come out the same in every time zone. */
const FIXED_MTIME = new Date(2000, 0, 1, 12, 0, 0);
/** Fixed deflate level: the same files always give the same bytes. */
const ZIP_LEVEL = 6;

/**
 * Plans and writes a bundle in one go: the ZIP bytes when the workflow can be
 * bundled within the limits, else the blocking errors. The manifest is always there.
 */
export async function buildBundle(sources: readonly SourceFile[], options: BundlerOptions = {}): Promise<BundleResult> {
  const plan = await planBundle(sources, options);
  if (!plan.ok) return plan;
  const limits = options.limits ?? DEFAULT_BUNDLE_LIMITS;
  const zip = writeBundleZip(plan.entries, limits);
  if (zip.length > limits.maxUploadBytes) {
    const message = `The bundle would be ${formatBytes(zip.length)}; the upload limit is ${formatBytes(limits.maxUploadBytes)}.`;
    return { ok: false, manifest: plan.manifest, errors: [{ code: 'BUNDLE_TOO_LARGE', message }] };
  }
  return { ok: true, manifest: plan.manifest, zip };
}

/** Finds the root, follows the references and reads the needed files; writes nothing. */
export function planBundle(sources: readonly SourceFile[], options: BundlerOptions = {}): Promise<BundlePlan> {
  return new Planner(sources, options).run();
}

/**
 * The bundle ZIP: entries sorted by path, no folder entries, fixed time and
 * level, so the same files give byte-identical bytes (in Node and browsers).
 * Large files that would compress beyond the ratio limit are stored instead,
 * since the validator would take them for a ZIP bomb.
 */
export function writeBundleZip(entries: readonly BundleEntry[], limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareText(a.path, b.path));
  const files: Record<string, [Uint8Array, ZipOptions]> = {};
  for (const { path, data } of sorted) files[path] = [data, { level: levelFor(data, limits), mtime: FIXED_MTIME }];
  return zipSync(files);
}

function levelFor(data: Uint8Array, limits: BundleLimits): 0 | typeof ZIP_LEVEL {
  if (data.length <= limits.ratioThresholdBytes) return ZIP_LEVEL;
  const compressed = deflateSync(data, { level: ZIP_LEVEL }).length;
  return data.length > compressed * limits.maxCompressionRatio ? 0 : ZIP_LEVEL;
}

/** Code-unit order: unlike localeCompare, identical on every machine. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The top-most folders holding a workflow.knime ('' for the top of the
 * selection); nested ones (metanodes, components) belong to them.
 */
export function findWorkflowRoots(paths: Iterable<string>): string[] {
  const folders = new Set<string>();
  for (const path of paths) if (baseName(path) === WORKFLOW_FILE && isSafePath(path)) folders.add(dirName(path));
  const roots = [...folders].filter((folder) => {
    for (let up = folder; up !== '';) {
      up = dirName(up);
      if (folders.has(up)) return false;
    }
    return true;
  });
  return roots.sort(compareText);
}

/** Accepts `Flow`, `Flow/`, `./Flow`, `Flow/workflow.knime` and `.` for the top. */
export function normalizeRoot(root: string): string {
  let path = root.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (path === '.' || path === WORKFLOW_FILE) return '';
  if (path.endsWith(`/${WORKFLOW_FILE}`)) path = path.slice(0, -WORKFLOW_FILE.length - 1);
  return path;
}

/** The workflow's name for a selection whose workflow.knime sits at the top: the picked file's name without `.knwf`/`.zip`. */
export function workflowNameOf(root: string, sourceName: string | undefined): string {
  if (root !== '') return baseName(root);
  const name = (sourceName ?? '').replace(/\.(knwf|zip)$/i, '');
  return name === '' ? 'workflow' : name;
}

/** A usable relative path; depth and length are judged later, relative to the root. */
function isSafePath(path: string): boolean {
  return checkEntryName(path, { maxPathBytes: Number.MAX_SAFE_INTEGER, maxPathDepth: Number.MAX_SAFE_INTEGER }).ok;
}

/** What a browser gives for a picked or dropped file: a File, with its path below the picked folder. */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
  readonly webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Sources for the files of `<input webkitdirectory>` (paths start with the picked folder's name). */
export function pickedFileSources(files: Iterable<PickedFile>): SourceFile[] {
  return [...files].map((file) => ({
    path: file.webkitRelativePath || file.name,
    size: file.size,
    read: async () => new Uint8Array(await file.arrayBuffer()),
  }));
}

function displayRoot(root: string): string {
  return root === '' ? '(top of the selection)' : `\`${root}\``;
}

/** One run of the bundler over one selection. */
class Planner {
  private readonly limits: BundleLimits;
  private readonly index = new Map<string, SourceFile>();
  private readonly duplicates = new Set<string>();
  private readonly warnings: ManifestWarning[] = [];
  private readonly errors: BundlerError[] = [];
  private readonly files: ManifestFile[] = [];
  private readonly entries: BundleEntry[] = [];
  private roots: string[] = [];
  private root = '';
  private rootChosen = false;
  private nodes = 0;
  private bytes = 0;
  /** Set by a limit that makes reading further pointless. */
  private stopped = false;
  private lookupCache?: { byKey: Map<string, string>; folders: Set<string> };

  constructor(
    private readonly sources: readonly SourceFile[],
    private readonly options: BundlerOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_BUNDLE_LIMITS;
  }

  async run(): Promise<BundlePlan> {
    this.indexSources();
    this.roots = findWorkflowRoots(this.index.keys());
    const root = this.chooseRoot();
    if (root !== undefined) {
      this.root = root;
      this.rootChosen = true;
      await this.walk();
      this.checkCollisions();
    }
    const manifest = this.manifest();
    if (this.errors.length > 0) return { ok: false, manifest, errors: this.errors };
    return { ok: true, manifest, entries: [...this.entries].sort((a, b) => compareText(a.path, b.path)) };
  }

  /** Unsafe names (`..`, absolute, backslashes) are never matched, as if absent. */
  private indexSources(): void {
    for (const source of this.sources) {
      if (!isSafePath(source.path)) continue;
      if (this.index.has(source.path)) this.duplicates.add(source.path);
      else this.index.set(source.path, source);
    }
  }

  private chooseRoot(): string | undefined {
    const roots = this.roots;
    const list = roots.map((root) => displayRoot(root)).join(', ');
    if (roots.length > 1) {
      this.warnings.push({
        kind: 'SEVERAL_ROOTS',
        message: `The selection holds ${roots.length} workflows: ${list}.${this.options.root === undefined ? ' Choose the one to bundle.' : ''}`,
      });
    }
    if (this.options.root !== undefined) {
      const root = normalizeRoot(this.options.root);
      if (this.index.has(joinPath(root, WORKFLOW_FILE))) return root;
      const found = roots.length > 0 ? ` The workflows found are: ${list}.` : '';
      return this.fail('WORKFLOW_MISSING', `There is no workflow.knime in ${displayRoot(root)}.${found}`);
    }
    if (roots.length === 1) return roots[0];
    if (roots.length === 0) {
      return this.fail(
        'WORKFLOW_MISSING',
        'No workflow.knime was found. Pick the workflow folder (the one holding workflow.knime) or a .knwf export of the workflow.',
      );
    }
    return this.fail('SEVERAL_ROOTS', `The selection holds ${roots.length} workflows (${list}); choose the one to bundle.`);
  }

  private fail(code: BundlerErrorCode, message: string, path?: string): undefined {
    this.errors.push({ code, message, ...(path !== undefined ? { path } : {}) });
    return undefined;
  }

  private sourceAt(path: string): SourceFile | undefined {
    return this.index.get(joinPath(this.root, path));
  }

  /** Breadth-first from the root workflow.knime through metanodes and components. */
  private async walk(): Promise<void> {
    const queue = [WORKFLOW_FILE];
    const seen = new Set(queue);
    while (queue.length > 0 && !this.stopped) {
      const workflow = queue.shift()!;
      const required = await this.readWorkflow(workflow);
      for (const file of required) {
        if (this.stopped) return;
        if (seen.has(file.path)) continue;
        seen.add(file.path);
        if (!this.sourceAt(file.path)) this.missing(file);
        else if (file.nestedWorkflow) queue.push(file.path);
        else await this.readSettings(file.path);
      }
    }
  }

  private async readWorkflow(path: string): Promise<RequiredFile[]> {
    const data = await this.include(path);
    if (!data) return [];
    const parsed = parseWorkflow(data, { maxDepth: this.limits.maxXmlDepth });
    if (!parsed.ok) {
      this.xmlProblem(path, parsed);
      return [];
    }
    this.scanCredentials(path, data);
    this.nodes += parsed.nodes.length;
    const references = requiredFilesOf(path, parsed.nodes, this.limits);
    if (!references.ok) {
      this.fail('ZIP_UNSAFE_PATH', `\`${path}\`: ${references.reason}.`, path);
      return [];
    }
    return references.required;
  }

  private async readSettings(path: string): Promise<void> {
    const data = await this.include(path);
    if (!data) return;
    const xml = checkXml(data, { maxDepth: this.limits.maxXmlDepth });
    if (!xml.ok) this.xmlProblem(path, xml);
    else this.scanCredentials(path, data);
  }

  /** Reads one needed file within the limits and adds it to the bundle; undefined when it cannot go in. */
  private async include(path: string): Promise<Uint8Array | undefined> {
    const source = this.sourceAt(path)!;
    const { maxEntries, maxTotalUnpackedBytes } = this.limits;
    if (this.duplicates.has(joinPath(this.root, path))) {
      return this.fail('ZIP_DUPLICATE_ENTRY', `\`${path}\` appears twice in the selection; export the workflow again.`, path);
    }
    if (this.entries.length >= maxEntries) {
      this.stopped = true;
      return this.fail(
        'ZIP_TOO_MANY_ENTRIES',
        `The workflow needs more than ${maxEntries} files; a bundle may hold at most ${maxEntries}.`,
      );
    }
    if (!this.fitsEntryLimit(path, source.size)) return undefined;
    if (this.bytes + source.size > maxTotalUnpackedBytes) return this.tooLargeInTotal();
    let data: Uint8Array;
    try {
      data = await source.read();
    } catch (error) {
      this.files.push({ path, size: source.size, present: true });
      return this.fail(...readFailure(path, error), path);
    }
    if (!this.fitsEntryLimit(path, data.length)) return undefined;
    if (this.bytes + data.length > maxTotalUnpackedBytes) return this.tooLargeInTotal();
    this.bytes += data.length;
    this.entries.push({ path, data });
    this.files.push({ path, size: data.length, present: true });
    return data;
  }

  private fitsEntryLimit(path: string, size: number): boolean {
    if (size <= this.limits.maxEntryBytes) return true;
    this.files.push({ path, size, present: true });
    const message = `\`${path}\` is ${formatBytes(size)}; a bundle file may be at most ${formatBytes(this.limits.maxEntryBytes)}.`;
    this.fail('ZIP_ENTRY_TOO_LARGE', message, path);
    return false;
  }

  private tooLargeInTotal(): undefined {
    this.stopped = true;
    return this.fail(
      'ZIP_TOO_LARGE_UNPACKED',
      `The workflow's files add up to more than ${formatBytes(this.limits.maxTotalUnpackedBytes)}, the limit of a bundle.`,
    );
  }

  private missing(file: RequiredFile): void {
    this.files.push({ path: file.path, size: 0, present: false });
    const message = `Folder \`${file.nodeFolder}\` is referenced by ${file.referencedBy} but \`${file.path}\` is missing${this.missingDetail(file)}.`;
    this.warnings.push({ kind: 'SETTINGS_MISSING', message, path: file.path, node: file.nodeFolder });
    this.fail('SETTINGS_MISSING', message, file.path);
  }

  /** Says whether the whole folder is absent or a file differs only in letter case: the two usual causes. */
  private missingDetail(file: RequiredFile): string {
    const lookup = this.lookup();
    const similar = lookup.byKey.get(collisionKey(joinPath(this.root, file.path)));
    if (similar !== undefined) return ` (\`${similar}\` differs only in letter case or Unicode form)`;
    return lookup.folders.has(joinPath(this.root, file.nodeFolder)) ? '' : ' (the whole folder is absent)';
  }

  /** Built on the first missing file only: most workflows never need it. */
  private lookup(): { byKey: Map<string, string>; folders: Set<string> } {
    if (this.lookupCache) return this.lookupCache;
    const byKey = new Map<string, string>();
    const folders = new Set<string>();
    for (const path of this.index.keys()) {
      byKey.set(collisionKey(path), path);
      for (let dir = dirName(path); dir !== '' && !folders.has(dir); dir = dirName(dir)) folders.add(dir);
    }
    this.lookupCache = { byKey, folders };
    return this.lookupCache;
  }

  private xmlProblem(path: string, problem: XmlError): void {
    const what = problem.code === 'XML_FORBIDDEN_DTD' ? 'declares a DTD or entities' : 'is not well-formed XML';
    const message = `\`${path}\` ${what}: ${problem.reason} (line ${problem.line}).`;
    this.warnings.push({ kind: 'XML_INVALID', message, path });
    this.fail(problem.code, message, path);
  }

  /** Reports where a secret may sit (node and key) and never the value itself. */
  private scanCredentials(path: string, data: Uint8Array): void {
    const findings = findCredentialValues(data);
    if (!Array.isArray(findings)) return;
    const node = dirName(path);
    for (const { key } of findings) {
      const where = node === '' ? `\`${path}\`` : `Node \`${node}\``;
      this.warnings.push({
        kind: 'CREDENTIAL_VALUE',
        message: `${where} has a value for the credential-like setting \`${key}\` (value not shown); remove it in KNIME if it is a secret.`,
        path,
        ...(node !== '' ? { node } : {}),
        key,
      });
    }
  }

  /** Two bundle paths that a case-insensitive file system would merge, or a path that is both file and folder. */
  private checkCollisions(): void {
    const seen = new Map<string, string>();
    const folders = new Set<string>();
    for (const { path } of this.entries) {
      for (let dir = dirName(path); dir !== ''; dir = dirName(dir)) folders.add(collisionKey(dir));
    }
    for (const { path } of this.entries) {
      const key = collisionKey(path);
      const other = seen.get(key);
      if (other !== undefined)
        this.fail('ZIP_DUPLICATE_ENTRY', `\`${other}\` and \`${path}\` differ only in letter case or Unicode form.`, path);
      if (folders.has(key)) this.fail('ZIP_DUPLICATE_ENTRY', `\`${path}\` is both a file and a folder.`, path);
      seen.set(key, path);
    }
  }

  private manifest(): Manifest {
    const files = [...this.files].sort((a, b) => compareText(a.path, b.path));
    const present = files.filter((file) => file.present).length;
    const skipped = this.sources.length - this.entries.length;
    const warnings = [...this.warnings];
    if (this.rootChosen && skipped > 0) {
      warnings.push({
        kind: 'FILES_SKIPPED',
        message: `${skipped} file${skipped === 1 ? ' was' : 's were'} left out: a bundle holds only workflow.knime and the settings.xml files it references (data, tables and views stay on your machine).`,
      });
    }
    return {
      root: this.root,
      workflowName: workflowNameOf(this.root, this.options.sourceName),
      ...(this.roots.length > 1 ? { roots: this.roots } : {}),
      files,
      totals: { files: files.length, present, missing: files.length - present, bytes: this.bytes, nodes: this.nodes, skipped },
      warnings,
    };
  }
}

/** A read failure with a bundle code (from the ZIP reader) keeps it; anything else is the source's own problem. */
function readFailure(path: string, error: unknown): [BundlerErrorCode, string] {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (isErrorCode(code) && ERRORS[code].family === 'bundle') return [code as BundleErrorCode, message];
  return ['SOURCE_UNREADABLE', `\`${path}\` cannot be read: ${message}`];
}
