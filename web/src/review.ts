/**
 * What the review step shows, computed from the bundler's result: blocking
 * problems first, then possible secrets (node and key, never the value),
 * then the other warnings, the file table and its totals. Pure: the view
 * only draws it.
 */
import type { BundleResult } from '../../core/bundler';
import type { Manifest, ManifestWarning } from '../../core/types';
import { explainBundlerError, type Explanation } from './explain';

export interface CredentialFinding {
  /** The node folder ("Database Connector (#4)"), or the file when it is not in a node folder. */
  node: string;
  /** The settings key path ("model/password"). */
  key: string;
}

export interface ReviewRow {
  path: string;
  size: number;
  present: boolean;
}

export interface Review {
  ok: boolean;
  workflowName: string;
  /** The workflow folder inside the selection ('' for the top). */
  root: string;
  /** Every workflow found, when there are several (the user chooses one). */
  roots: string[];
  blocking: Explanation[];
  credentials: CredentialFinding[];
  /** Warnings other than credentials and those repeating a blocking problem. */
  warnings: ManifestWarning[];
  rows: ReviewRow[];
  totals: Manifest['totals'];
  /** Size of the bundle that would be uploaded. */
  bundleBytes?: number;
}

/** Warning kinds whose blocking error says the same thing. */
const REPEATED_AS_ERROR = new Set<string>(['SETTINGS_MISSING', 'XML_INVALID']);

export function reviewOf(result: BundleResult): Review {
  const { manifest } = result;
  const blocking = result.ok ? [] : result.errors.map(explainBundlerError);
  const credentials: CredentialFinding[] = [];
  const seen = new Set<string>();
  for (const warning of manifest.warnings) {
    if (warning.kind !== 'CREDENTIAL_VALUE' || warning.key === undefined) continue;
    const node = warning.node ?? warning.path ?? '';
    const id = `${node}\u0000${warning.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    credentials.push({ node, key: warning.key });
  }
  const blockingFiles = new Set(blocking.map((b) => b.file));
  const repeated = (w: ManifestWarning) =>
    (REPEATED_AS_ERROR.has(w.kind) && blockingFiles.has(w.path)) ||
    (w.kind === 'SEVERAL_ROOTS' && blocking.some((b) => b.code === 'SEVERAL_ROOTS'));
  const warnings = manifest.warnings.filter((w) => w.kind !== 'CREDENTIAL_VALUE' && !repeated(w));
  return {
    ok: result.ok,
    workflowName: manifest.workflowName,
    root: manifest.root,
    roots: manifest.roots ?? [],
    blocking,
    credentials,
    warnings,
    rows: manifest.files.map((f) => ({ path: f.path, size: f.size, present: f.present })),
    totals: manifest.totals,
    ...(result.ok ? { bundleBytes: result.zip.length } : {}),
  };
}

/** The manifest as a downloadable file: the same JSON `k2p-web bundle --manifest` writes. */
export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
