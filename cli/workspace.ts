/**
 * What `k2p-web convert` converts when given several inputs or a folder of
 * many workflows: every workflow root as the bundler defines it
 * (findWorkflowRoots: a folder with workflow.knime not inside another
 * workflow's folder; metanode and component folders belong to their
 * workflow), each once, in input order then path order, plus every `.knwf`
 * export lying outside a workflow. Each gets a result file name unique
 * within the run.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { resultFilename } from '../core/api-schemas';
import { collisionKey, WORKFLOW_FILE } from '../core/bundle-policy';
import { findWorkflowRoots, workflowNameOf } from '../core/bundler';
import { archiveSource } from '../core/node/bundle-source';
import { displayPath } from './remote';

export interface WorkflowInput {
  /** The folder or archive to bundle (absolute). */
  path: string;
  /** The workflow's folder inside the archive, when the archive holds several. */
  root?: string;
  /** The workflow's name: its folder's name, or the export's without `.knwf`. */
  name: string;
  /** How it is shown: the path as the user would type it (`export.knwf/Flow` for one of several in an archive). */
  label: string;
  /** `<name>-k2p.zip`, with `-2`, `-3`… when another workflow of the run has the same name. */
  resultName: string;
}

const EXPORT_PATTERN = /\.knwf$/i;

/** Every workflow of the inputs (files and folders, relative to cwd), deduplicated. */
export async function discoverWorkflows(inputs: readonly string[], cwd: string): Promise<WorkflowInput[]> {
  const found: Omit<WorkflowInput, 'resultName'>[] = [];
  const seen = new Set<string>();
  const add = (workflow: Omit<WorkflowInput, 'resultName'>) => {
    const key = `${workflow.path}\0${workflow.root ?? ''}`;
    if (!seen.has(key)) found.push(workflow);
    seen.add(key);
  };
  for (const input of inputs) {
    const path = resolve(cwd, input);
    const info = await stat(path);
    if (info.isDirectory()) {
      const inFolder = await workflowsInFolder(path, cwd);
      // A folder without any workflow stays an input, so that its bundling says so (WORKFLOW_MISSING).
      if (inFolder.length === 0) add({ path, name: basename(path), label: displayPath(cwd, path) || '.' });
      for (const workflow of inFolder) add(workflow);
    } else if (basename(path) === WORKFLOW_FILE) {
      const folder = resolve(path, '..');
      add({ path: folder, name: basename(folder), label: displayPath(cwd, folder) });
    } else {
      for (const workflow of await workflowsInArchive(path, cwd)) add(workflow);
    }
  }
  return withUniqueResultNames(found);
}

/** The folder's workflow roots, then the exports outside them. */
async function workflowsInFolder(folder: string, cwd: string): Promise<Omit<WorkflowInput, 'resultName'>[]> {
  const { workflowFiles, exports } = await scanFolder(folder);
  const roots = findWorkflowRoots(workflowFiles);
  const workflows: Omit<WorkflowInput, 'resultName'>[] = roots.map((root) => {
    const path = root === '' ? folder : join(folder, ...root.split('/'));
    return { path, name: workflowNameOf(root, basename(folder)), label: displayPath(cwd, path) || '.' };
  });
  const insideRoot = (file: string) => roots.some((root) => root === '' || file.startsWith(`${root}/`));
  for (const file of exports.filter((path) => !insideRoot(path)))
    workflows.push(...(await workflowsInArchive(join(folder, ...file.split('/')), cwd)));
  return workflows;
}

/** Paths (relative, POSIX) of every workflow.knime and `.knwf` below the folder; symbolic links are not followed. */
async function scanFolder(folder: string): Promise<{ workflowFiles: string[]; exports: string[] }> {
  const workflowFiles: string[] = [];
  const exports: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    for (const entry of await readdir(join(folder, ...relative.split('/')), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile() && entry.name === WORKFLOW_FILE) workflowFiles.push(path);
      else if (entry.isFile() && EXPORT_PATTERN.test(entry.name)) exports.push(path);
    }
  }
  return { workflowFiles: workflowFiles.sort(), exports: exports.sort() };
}

/**
 * One workflow per root of the archive. An archive that cannot be read, or
 * holds one workflow or none, is one input: bundling it says what is wrong.
 */
async function workflowsInArchive(file: string, cwd: string): Promise<Omit<WorkflowInput, 'resultName'>[]> {
  const label = displayPath(cwd, file);
  let roots: string[];
  try {
    const source = await archiveSource(file);
    roots = findWorkflowRoots(source.files.map((entry) => entry.path));
    await source.close();
  } catch {
    roots = [];
  }
  if (roots.length <= 1) return [{ path: file, name: workflowNameOf(roots[0] ?? '', basename(file)), label }];
  return roots.map((root) => ({ path: file, root, name: workflowNameOf(root, basename(file)), label: `${label}/${root}` }));
}

function withUniqueResultNames(workflows: Omit<WorkflowInput, 'resultName'>[]): WorkflowInput[] {
  const taken = new Set<string>();
  return workflows.map((workflow) => {
    let name = resultFilename(workflow.name);
    for (let n = 2; taken.has(collisionKey(name)); n++) name = resultFilename(`${workflow.name}-${n}`);
    taken.add(collisionKey(name));
    return { ...workflow, resultName: name };
  });
}
