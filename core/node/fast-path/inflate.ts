/**
 * The fast path's `zlib-handle` piece: raw-deflate inflation into a buffer
 * the caller owns, bounded by its size.
 *
 * Why not just zlib.inflateRawSync (the plain path, entry-check.ts): every
 * call builds a whole stream object (Transform, Duplex, a native handle with
 * its 32 KiB window) and a fresh output buffer, which for a 5000-file bundle
 * is ~15% of the validator's time plus the garbage. Here one zlib handle per
 * thread is reset and reused, and the output lands where the caller wants it
 * (the wasm-xml piece's memory, so it is scanned without a copy).
 *
 * It drives the native handle behind zlib.InflateRaw the way Node's own
 * inflateRawSync does (`_handle.writeSync`, `_writeState`), which is not a
 * public API. So it checks itself on first use against the plain path and,
 * if anything differs (another Node version), quietly uses the plain path
 * instead: only speed depends on the internals, never a verdict.
 */
import zlib from 'node:zlib';
import { InflateError, inflateRawPublic, publicChunkSize } from '../entry-check';

/** The parts of zlib.InflateRaw's internals used here (as in Node 20, 22 and 24; CI checks 20 and 24). */
interface ZlibInternals {
  _handle: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOffset: number,
      inLength: number,
      output: Uint8Array,
      outOffset: number,
      outLength: number,
    ): void;
    reset(): void;
    onerror: (message: string, errno: number) => void;
  };
  /** [output bytes left, input bytes left] after a write. */
  _writeState: Uint32Array;
}

export { InflateError };

type Inflate = (input: Uint8Array, output: Uint8Array) => number;

/** The plain path's inflate, shaped like the handle's: a full output means "longer than it holds". */
const publicInflate: Inflate = (input, output) => {
  const data = inflateRawPublic(input, output.length - 1);
  if (!data) return output.length;
  output.set(data);
  return data.length;
};

/** One reused native handle. */
function handleInflate(): Inflate {
  const engine = zlib.createInflateRaw() as unknown as ZlibInternals;
  const handle = engine._handle;
  const state = engine._writeState;
  let failure: string | undefined;
  // Keep errors to ourselves: Node's handler would destroy the stream; reset() recovers the handle.
  handle.onerror = (message) => {
    failure = message;
  };
  return (input, output) => {
    failure = undefined;
    handle.reset();
    handle.writeSync(zlib.constants.Z_FINISH, input, 0, input.length, output, 0, output.length);
    const written = output.length - state[0]!;
    if (failure === undefined && written === output.length) {
      // Full: read on as far as the public API's second chunk reaches, so damage found there is reported as it reports it.
      const chunk = publicChunkSize(output.length);
      const further = chunk > output.length ? chunk - output.length : chunk;
      const rest = state[1]!;
      handle.writeSync(zlib.constants.Z_FINISH, input, input.length - rest, rest, Buffer.allocUnsafe(further), 0, further);
    }
    if (failure !== undefined) throw new InflateError(failure);
    return written;
  };
}

/** The handle agrees with the public API on a sample, a too-small output and damaged input; else it is not used. */
function selfTest(candidate: Inflate): boolean {
  try {
    const text = new TextEncoder().encode('<config key="self-test">'.repeat(200));
    const deflated = zlib.deflateRawSync(text);
    const whole = new Uint8Array(text.length + 1);
    if (candidate(deflated, whole) !== text.length || !Buffer.from(whole.subarray(0, text.length)).equals(text)) return false;
    if (candidate(deflated, new Uint8Array(100)) !== 100) return false;
    const corrupt = Uint8Array.from(deflated);
    corrupt[0] = 0xff;
    let rejected = false;
    try {
      candidate(corrupt, new Uint8Array(text.length + 1));
    } catch (error) {
      rejected = error instanceof InflateError;
    }
    // A truncated stream must fail too (zlib reports "unexpected end of file" with room left in the output).
    let truncated = false;
    try {
      candidate(deflated.subarray(0, deflated.length >> 1), new Uint8Array(text.length + 1));
    } catch (error) {
      truncated = error instanceof InflateError;
    }
    // A stream cut right after the output's end fails as in the public API (which reads one chunk further).
    let cutAtEnd = false;
    try {
      candidate(zlib.deflateRawSync(text, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), new Uint8Array(text.length));
    } catch (error) {
      cutAtEnd = error instanceof InflateError;
    }
    // And the handle still works after those errors.
    return rejected && truncated && cutAtEnd && candidate(deflated, whole) === text.length;
  } catch {
    return false;
  }
}

let chosen: Inflate | undefined;

/**
 * Inflates raw-deflate `input` into `output`; returns the bytes written. If
 * the data would inflate to more than `output` holds, returns output.length
 * (callers size the output one byte past what they expect, so that means
 * "too long"). Throws InflateError for corrupt or truncated data.
 */
export function inflateRawInto(input: Uint8Array, output: Uint8Array): number {
  if (!chosen) {
    let candidate: Inflate | undefined;
    try {
      candidate = handleInflate();
    } catch {
      candidate = undefined;
    }
    chosen = candidate && selfTest(candidate) ? candidate : publicInflate;
  }
  return chosen(input, output);
}

/** For tests: which way this thread inflates. */
export function inflateMode(): 'reused handle' | 'public API' | 'not chosen yet' {
  if (!chosen) return 'not chosen yet';
  return chosen === publicInflate ? 'public API' : 'reused handle';
}

/** For tests: inflate through the public API only. */
export const inflateRawIntoPublic: Inflate = publicInflate;
