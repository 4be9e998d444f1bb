/**
 * Removes the runner's scratch paths from everything that leaves the sandbox
 * (outputs, summary, stderr): `<run>/in/<Workflow>/workflow.knime` becomes
 * `<Workflow>/workflow.knime`, `<run>/out/x.py` becomes `x.py`. Only the run
 * directory's own spellings are replaced (its random name cannot collide with
 * user content); never a bare `/scratch` or `/tmp`, which settings may contain.
 */
import { basename } from 'node:path';
import type { Workspace } from './workspace';

type Replacement = [needle: Buffer, replacement: Buffer];

export interface ScratchRewriter {
  bytes(data: Uint8Array): Uint8Array;
  text(data: string): string;
  /** True when the run directory's name still appears (a spelling the rewrite did not know). */
  leaks(data: Uint8Array | string): boolean;
}

function replaceAll(data: Buffer, needle: Buffer, replacement: Buffer): Buffer {
  let at = data.indexOf(needle);
  if (at < 0) return data;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(data.subarray(from, at), replacement);
    from = at + needle.length;
    at = data.indexOf(needle, from);
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

export function scratchRewriter(ws: Workspace): ScratchRewriter {
  const roots = [...new Set([ws.root, ws.realRoot])];
  // A root with characters JSON escapes would appear escaped inside .json/.ipynb files.
  const spellings = [...new Set(roots.flatMap((r) => [r, JSON.stringify(r).slice(1, -1)]))];
  const pairs: [string, string][] = spellings.flatMap((r) => [
    [`${r}/in/`, ''],
    [`${r}/out/`, ''],
    [`${r}/in`, '.'],
    [`${r}/out`, '.'],
    [`${r}/`, ''],
    [r, '.'],
  ]);
  const replacements: Replacement[] = pairs.sort((a, b) => b[0].length - a[0].length).map(([n, r]) => [Buffer.from(n), Buffer.from(r)]);
  const runName = Buffer.from(basename(ws.root));

  const bytes = (data: Uint8Array) =>
    replacements.reduce((acc, [needle, repl]) => replaceAll(acc, needle, repl), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return {
    bytes,
    text: (data) => bytes(Buffer.from(data, 'utf8')).toString('utf8'),
    leaks: (data) =>
      (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).includes(runName),
  };
}
