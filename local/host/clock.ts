/**
 * The local stack's clock: real time plus an offset that tests can move
 * (result expiry, upload deadlines, the reaper's sweeps) instead of sleeping.
 *
 * Handler code reads time from `Date` as it does on Lambda; there is no
 * local-only branch in it. Instead, every worker that runs product code or a
 * time-checking stand-in (function bundles, s3rver) installs DATE_PATCH_SOURCE
 * before anything else, which makes its `Date` read the shared offset. The
 * offset lives in a SharedArrayBuffer, so moving it is seen everywhere at once.
 */

export interface LocalClock {
  /** Milliseconds since the epoch, as the stack sees them. */
  now(): number;
  /** Moves the stack's time forward (or back, with a negative value). */
  advance(ms: number): void;
  /** Sets the offset from real time. */
  setOffset(ms: number): void;
  offset(): number;
  /** Shared with workers (see DATE_PATCH_SOURCE); undefined for the real clock. */
  readonly buffer: SharedArrayBuffer | undefined;
}

/** Real time; cannot be moved. */
export const realClock: LocalClock = {
  now: () => Date.now(),
  advance() {
    throw new Error('This local stack runs on real time: start it with controllableClock: true to move time.');
  },
  setOffset() {
    throw new Error('This local stack runs on real time: start it with controllableClock: true to move time.');
  },
  offset: () => 0,
  buffer: undefined,
};

export function createControllableClock(): LocalClock {
  const buffer = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT);
  const offset = new Float64Array(buffer);
  return {
    now: () => Date.now() + offset[0]!,
    advance(ms) {
      offset[0] = offset[0]! + ms;
    },
    setOffset(ms) {
      offset[0] = ms;
    },
    offset: () => offset[0]!,
    buffer,
  };
}

/**
 * CommonJS source run first in a worker: when `workerData.clock` holds the
 * shared offset, `Date` (constructor without arguments, `Date()` and
 * `Date.now()`) reads real time plus the offset. `instanceof Date` and every
 * other Date API keep working; timers are untouched.
 */
export const DATE_PATCH_SOURCE = `
(() => {
  const { workerData } = require('node:worker_threads');
  if (!workerData || !workerData.clock) return;
  const offset = new Float64Array(workerData.clock);
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + offset[0];
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget === globalThis.Date ? target : newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, prop, receiver) {
      if (prop === 'now') return now;
      return Reflect.get(target, prop, receiver);
    },
  });
})();
`;
