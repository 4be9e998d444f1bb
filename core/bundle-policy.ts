/**
 * The parts of the bundle policy (docs/architecture.md "Bundle policy") that do not
 * depend on how the ZIP is read: entry names, the allowlist, duplicate keys and
 * the `node_settings_file` references. Shared by the server-side validator and
 * the bundler (which also runs in the browser), so both apply the same rules.
 */
import type { BundleLimits } from './limits';

export const WORKFLOW_FILE = 'workflow.knime';
export const SETTINGS_FILE = 'settings.xml';

export type PathVerdict = { ok: true } | { ok: false; reason: string };

/** UTF-8 length of a string without encoding it (called for every entry of every bundle). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Checks that an entry name is a safe relative POSIX path: no absolute path,
 * drive letter, backslash, `.`/`..`/empty segment or control character, and
 * within the depth and length limits. Directory entries end with one `/`.
 */
export function checkEntryName(name: string, limits: Pick<BundleLimits, 'maxPathBytes' | 'maxPathDepth'>): PathVerdict {
  if (name.length === 0) return { ok: false, reason: 'the name is empty' };
  if (utf8Length(name) > limits.maxPathBytes) {
    return { ok: false, reason: `the name is longer than ${limits.maxPathBytes} bytes` };
  }
  // C0 controls, DEL and C1 controls; NUL included.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { ok: false, reason: 'the name contains a control character' };
  if (name.includes('\\')) return { ok: false, reason: 'the name contains a backslash' };
  if (name.startsWith('/')) return { ok: false, reason: 'the name is an absolute path' };
  if (/^[A-Za-z]:/.test(name)) return { ok: false, reason: 'the name starts with a drive letter' };
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (segment === '') return { ok: false, reason: 'the name has an empty path segment' };
    if (segment === '.' || segment === '..') return { ok: false, reason: `the name has a "${segment}" path segment` };
  }
  if (segments.length > limits.maxPathDepth) {
    return { ok: false, reason: `the name is nested deeper than ${limits.maxPathDepth} levels` };
  }
  return { ok: true };
}

/** The key two names collide on: Unicode NFC plus case folding (as case-insensitive file systems see them). */
export function collisionKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

export function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

export function dirName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Whether a file name is one a bundle may contain (workflow.knime or settings.xml, exact case). */
export function isAllowlistedFile(path: string): boolean {
  const base = baseName(path);
  return base === WORKFLOW_FILE || base === SETTINGS_FILE;
}

/** What a `node_settings_file` reference requires in the bundle. */
export interface RequiredFile {
  path: string;
  /** The folder of the node, for messages ("Folder `X (#3)` ..."). */
  nodeFolder: string;
  /** The workflow.knime that references it. */
  referencedBy: string;
  /** When the file is itself a workflow.knime (metanode or component): recurse into it. */
  nestedWorkflow: boolean;
}

export interface WorkflowNodeRef {
  id: string;
  settingsFile: string;
  nodeType?: string;
  isMeta?: boolean;
}

export type ReferenceVerdict = { ok: true; required: RequiredFile[] } | { ok: false; reason: string };

/**
 * Resolves the files one workflow.knime references. A metanode's reference
 * points at its own workflow.knime; a component (SubNode) points at its
 * settings.xml and also needs the sibling workflow.knime.
 */
export function requiredFilesOf(
  workflowPath: string,
  nodes: readonly WorkflowNodeRef[],
  limits: Pick<BundleLimits, 'maxPathBytes' | 'maxPathDepth'>,
): ReferenceVerdict {
  const dir = dirName(workflowPath);
  const required: RequiredFile[] = [];
  for (const node of nodes) {
    const path = joinPath(dir, node.settingsFile);
    const check = checkEntryName(node.settingsFile, limits);
    const full = check.ok ? checkEntryName(path, limits) : check;
    if (!full.ok || node.settingsFile.endsWith('/')) {
      return { ok: false, reason: `node ${node.id} references "${node.settingsFile}", which is not a safe relative path` };
    }
    const base = baseName(path);
    const nodeFolder = dirName(path);
    if (base === WORKFLOW_FILE) {
      required.push({ path, nodeFolder, referencedBy: workflowPath, nestedWorkflow: true });
    } else if (base === SETTINGS_FILE) {
      required.push({ path, nodeFolder, referencedBy: workflowPath, nestedWorkflow: false });
      if (node.nodeType === 'SubNode') {
        required.push({ path: joinPath(nodeFolder, WORKFLOW_FILE), nodeFolder, referencedBy: workflowPath, nestedWorkflow: true });
      }
    } else {
      return { ok: false, reason: `node ${node.id} references "${node.settingsFile}", which is neither settings.xml nor workflow.knime` };
    }
  }
  return { ok: true, required };
}

/** The message for a referenced file that is not in the bundle. */
export function missingReferenceMessage(file: RequiredFile): string {
  const what = file.nestedWorkflow ? 'nested workflow' : 'settings';
  const by = file.referencedBy;
  return `Folder \`${file.nodeFolder}\` is referenced by ${by} but \`${file.path}\` (${what}) is missing from the ZIP`;
}

/** Credential-like settings keys: reported (node and key, never the value) when they hold a value. */
export const CREDENTIAL_KEY_PATTERN = /pass(word|wd|phrase)?|token|secret|api[-_]?key|credential|private[-_]?key|access[-_]?key/i;
