/**
 * The bundle validator's speed code, fenced behind one switch. Invariant: it
 * never changes a verdict. The plain path — yauzl for the archive structure,
 * the JavaScript XML scanner in core/xml.ts, Node's public zlib API — is
 * complete on its own and is the reference the fast path is tested against
 * (test/unit/validate-bundle.differential.test.ts; the validator's unit and
 * fuzz tests run under both).
 *
 * The switch: ValidateOptions.fastPath, else the environment variable
 * K2P_VALIDATOR_FAST_PATH (read on every validation):
 *   on (or unset)   every piece below
 *   off             the plain path
 *   a,b             only the pieces listed (what `npm run bench -- validator` measures one by one)
 * The pieces:
 *   wasm-xml     xml-wasm/: a WebAssembly (SIMD) scanner that accepts the plain
 *                element trees KNIME writes and hands anything else to core/xml.ts
 *   zlib-handle  inflate.ts: one zlib handle per thread, reused through Node
 *                internals; checks itself on first use, else uses the public API
 *   workers      entry-pool.ts, parallel-check.ts: worker threads for large
 *                bundles (the CLI; Lambda bundles do not ship the worker script)
 */
import type { EntryEngine } from '../entry-check';
import { entryEngine, FAST_PIECES, type FastPiece } from './engine';
import { Workers, type Threads } from './parallel-check';

export { FAST_PIECES, type FastPiece } from './engine';
export type { ParallelCheck, Threads } from './parallel-check';

export const FAST_PATH_ENV = 'K2P_VALIDATOR_FAST_PATH';

export type FastPathSetting = 'on' | 'off' | readonly FastPiece[];

/** What one validation uses of the fast path. */
export interface FastPath {
  /** Inflates and scans entries on this thread (the plain engine when the switch is off). */
  readonly engine: EntryEngine;
  /** Starts worker threads; undefined when the workers piece is off or the checks must stay on this thread. */
  readonly workers: Workers | undefined;
}

/** The fast path for a validation: `setting` if given, else the environment variable's. */
export function resolveFastPath(setting: FastPathSetting | undefined, threads: Threads, maxXmlDepth: number): FastPath {
  const pieces = fastPieces(setting ?? parseFastPathSetting(process.env[FAST_PATH_ENV]));
  const workers = pieces.includes('workers') && threads !== 'inline' ? new Workers(threads, maxXmlDepth, pieces) : undefined;
  return { engine: entryEngine(pieces), workers };
}

export function fastPieces(setting: FastPathSetting): readonly FastPiece[] {
  if (setting === 'on') return FAST_PIECES;
  if (setting === 'off') return [];
  return setting;
}

/** Unset or empty means on; a value it does not know is an error, so a typo never leaves the fast path silently on. */
export function parseFastPathSetting(text: string | undefined): FastPathSetting {
  const value = text?.trim() ?? '';
  if (value === '' || value === 'on') return 'on';
  if (value === 'off') return 'off';
  const pieces = value.split(',').map((piece) => piece.trim());
  const unknown = pieces.filter((piece) => !(FAST_PIECES as readonly string[]).includes(piece));
  if (unknown.length > 0) {
    throw new Error(`${FAST_PATH_ENV}=${text} is not understood: use on, off or a comma-separated list of ${FAST_PIECES.join(', ')}.`);
  }
  return pieces as FastPiece[];
}
