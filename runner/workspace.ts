/**
 * The run's scratch layout. Everything the runner and the converter write lives
 * in one fresh directory under SCRATCH_DIR (the only writable place in the
 * container), so it can be measured, checked and removed as a whole:
 *
 *   <scratch>/run-XXXX/in/<WorkflowName>/workflow.knime …   the accepted bundle files
 *   <scratch>/run-XXXX/out/                                  --out
 *   <scratch>/run-XXXX/tmp/, home/                           TMPDIR, HOME of the converter
 */
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface Workspace {
  root: string;
  /** The same root with symlinks resolved (the converter may print either form). */
  realRoot: string;
  inputDir: string;
  workflowDir: string;
  outDir: string;
  tmpDir: string;
  homeDir: string;
}

/** Names directly under the run root that the runner itself creates. */
const EXPECTED_TOP_LEVEL = new Set(['in', 'out', 'tmp', 'home']);

export async function createWorkspace(scratchDir: string, workflowName: string): Promise<Workspace> {
  await mkdir(scratchDir, { recursive: true });
  const root = await mkdtemp(join(resolve(scratchDir), 'run-'));
  const ws: Workspace = {
    root,
    realRoot: await realpath(root),
    inputDir: join(root, 'in'),
    workflowDir: join(root, 'in', workflowName),
    outDir: join(root, 'out'),
    tmpDir: join(root, 'tmp'),
    homeDir: join(root, 'home'),
  };
  for (const dir of [ws.workflowDir, ws.outDir, ws.tmpDir, ws.homeDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
  return ws;
}

/**
 * Writes the validator's accepted files under the workflow folder. The paths were
 * already checked by the validator; they are checked again because a path that
 * escapes here would write anywhere in scratch.
 */
export async function writeBundleFiles(workflowDir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  for (const [path, data] of files) {
    const target = resolve(workflowDir, path);
    const rel = relative(workflowDir, target);
    if (path.includes('\\') || isAbsolute(path) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new Error(`Refusing to write bundle entry outside the workflow folder: ${JSON.stringify(path)}`);
    }
    await mkdir(join(target, '..'), { recursive: true });
    // O_EXCL: never overwrite, never follow a planted symlink.
    await writeFile(target, data, { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode: 0o600 });
  }
}

export interface FileEntry {
  /** Path relative to the walked directory, POSIX separators. */
  path: string;
  size: number;
  kind: 'file' | 'symlink' | 'other';
}

/** Lists a tree without following symlinks; stops early once `maxEntries` is passed. */
export async function walk(dir: string, maxEntries = 100_000): Promise<FileEntry[]> {
  const found: FileEntry[] = [];
  const visit = async (current: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      return; // removed meanwhile, or unreadable: nothing to count
    }
    for (const name of names) {
      if (found.length > maxEntries) return;
      const abs = join(current, name);
      const stat = await lstat(abs).catch(() => undefined);
      if (!stat) continue;
      if (stat.isDirectory()) {
        await visit(abs);
        continue;
      }
      const kind = stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'symlink' : 'other';
      found.push({ path: relative(dir, abs).split(sep).join('/'), size: stat.size, kind });
    }
  };
  await visit(dir);
  return found;
}

/** Bytes of all files in the run directory (the converter's writes are the growth over the input). */
export async function bytesInRun(ws: Workspace): Promise<number> {
  return (await walk(ws.root)).reduce((sum, e) => sum + e.size, 0);
}

/**
 * Files the converter created outside --out, TMPDIR and HOME: in the input folder
 * or next to the run's own folders. They are never packaged; the runner reports them.
 */
export async function strayFiles(ws: Workspace, inputFiles: ReadonlySet<string>): Promise<string[]> {
  const all = await walk(ws.root);
  return all
    .filter((e) => {
      const [top, ...rest] = e.path.split('/');
      if (!EXPECTED_TOP_LEVEL.has(top ?? '') || rest.length === 0) return true;
      if (top !== 'in') return false;
      return !inputFiles.has(rest.join('/'));
    })
    .map((e) => e.path)
    .sort();
}

export async function removeWorkspace(ws: Workspace): Promise<void> {
  await rm(ws.root, { recursive: true, force: true, maxRetries: 2 });
}
