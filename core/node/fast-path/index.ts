/**
 * The bundle validator's speed code, fenced behind one switch. Invariant: it
 * never changes a verdict. The plain path — core/zip-structure.ts for the archive structure,
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
 * The pieces, each kept because the benchmark shows what it buys:
 *   wasm-xml     xml-wasm/: a WebAssembly (SIMD) scanner that accepts the plain
 *                element trees KNIME writes and hands anything else to core/xml.ts
 *   zlib-handle  inflate.ts: one zlib handle per thread, reused through Node
 *                internals; checks itself on first use, else uses the public API
 */
import { inflateRawPublic, PLAIN_ENGINE, type EntryEngine } from '../entry-check';
import { inflateRawInto } from './inflate';
import { wasmXmlFastPath, xmlScratch } from './xml-wasm';

export const FAST_PIECES = ['wasm-xml', 'zlib-handle'] as const;
export type FastPiece = (typeof FAST_PIECES)[number];
export type FastPathSetting = 'on' | 'off' | readonly FastPiece[];

export const FAST_PATH_ENV = 'K2P_VALIDATOR_FAST_PATH';

/** How a validation inflates and scans entries: `setting` if given, else the environment variable's. */
export function fastPathEngine(setting?: FastPathSetting): EntryEngine {
  return entryEngine(fastPieces(setting ?? parseFastPathSetting(process.env[FAST_PATH_ENV])));
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

const engines = new Map<string, EntryEngine>();

/** The engine of a set of pieces; without any, the plain engine itself. */
export function entryEngine(pieces: readonly FastPiece[]): EntryEngine {
  const wasm = pieces.includes('wasm-xml');
  const handle = pieces.includes('zlib-handle');
  if (!wasm && !handle) return PLAIN_ENGINE;
  const key = `${wasm}:${handle}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = { inflate: handle ? inflateIntoScratch(wasm) : inflateRawPublic, ...(wasm ? { xml: wasmXmlFastPath } : {}) };
    engines.set(key, engine);
  }
  return engine;
}

/** The reused zlib handle, inflating straight into the XML scanner's memory when it has one. */
function inflateIntoScratch(wasm: boolean): EntryEngine['inflate'] {
  return (input, maxBytes) => {
    const cap = maxBytes + 1;
    const output = (wasm ? xmlScratch(cap) : undefined) ?? Buffer.allocUnsafe(cap);
    const length = inflateRawInto(input, output);
    return length === cap ? undefined : output.subarray(0, length);
  };
}
