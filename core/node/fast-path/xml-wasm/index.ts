/**
 * The fast path's wasm-xml piece: a WebAssembly (SIMD) scanner that accepts
 * the plain element trees KNIME writes, at several times the speed of the
 * JavaScript scanner, and hands everything else back to it (see
 * assembly/scanner.ts). checkXml() uses it when given as `fastPath`.
 */
import type { XmlFastPath } from '../../../xml';
import { XML_SCANNER_WASM } from './scanner-binary';

interface ScannerExports {
  memory: WebAssembly.Memory;
  /** Makes room for a document; returns where to write it, 0 if memory cannot grow. */
  reserve(length: number): number;
  /** 0: certainly well-formed; 1: core/xml.ts must decide. */
  check(length: number, from: number, maxDepth: number, maxAttributes: number): number;
}

/** Documents beyond this go to the JavaScript scanner (WebAssembly memory is 32-bit; bundles stay far below it). */
const MAX_DOCUMENT_BYTES = 1 << 30;

let scanner: ScannerExports | null | undefined;

/** One instance per thread, made on first use; null where WebAssembly SIMD is missing (the JavaScript scanner then does all). */
function instance(): ScannerExports | null {
  if (scanner === undefined) {
    try {
      const bytes = Uint8Array.from(atob(XML_SCANNER_WASM), (c) => c.charCodeAt(0));
      scanner = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as ScannerExports;
    } catch {
      scanner = null;
    }
  }
  return scanner;
}

export const wasmXmlFastPath: XmlFastPath = {
  accepts(bytes, from, maxDepth, maxAttributes) {
    const wasm = bytes.length <= MAX_DOCUMENT_BYTES ? instance() : null;
    if (!wasm) return false;
    try {
      const base = wasm.reserve(bytes.length);
      if (base === 0) return false;
      // A document already written into the scratch buffer is checked where it is.
      if (bytes.buffer !== wasm.memory.buffer || bytes.byteOffset !== base)
        new Uint8Array(wasm.memory.buffer, base, bytes.length).set(bytes);
      return wasm.check(bytes.length, from, maxDepth, maxAttributes) === 0;
    } catch {
      // A trap would be a bug in the fast path; the JavaScript scanner still gives the verdict.
      return false;
    }
  },
};

/**
 * A buffer of `length` bytes inside the fast path's memory, where a document
 * can be written (e.g. inflated) and then checked without a copy. Valid until
 * the next call of either function; undefined without WebAssembly.
 */
export function xmlScratch(length: number): Uint8Array | undefined {
  const wasm = length <= MAX_DOCUMENT_BYTES ? instance() : null;
  const base = wasm ? wasm.reserve(length) : 0;
  return wasm && base !== 0 ? new Uint8Array(wasm.memory.buffer, base, length) : undefined;
}
