/**
 * The entry engine of a set of fast-path pieces: what inflates an entry and
 * what scans its XML first, on the main thread and in each worker alike.
 * Without wasm-xml and zlib-handle it is the plain engine itself.
 */
import { inflateRawPublic, PLAIN_ENGINE, type EntryEngine } from '../entry-check';
import { inflateRawInto } from './inflate';
import { wasmXmlFastPath, xmlScratch } from './xml-wasm';

/** The pieces of the fast path (see index.ts). */
export const FAST_PIECES = ['wasm-xml', 'zlib-handle', 'workers'] as const;
export type FastPiece = (typeof FAST_PIECES)[number];

const engines = new Map<string, EntryEngine>();

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
