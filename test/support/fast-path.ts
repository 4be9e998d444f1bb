/**
 * Runs a validator suite under both positions of the fast-path switch
 * (K2P_VALIDATOR_FAST_PATH), so the plain path and the fast path are held
 * to the same assertions.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { FAST_PATH_ENV } from '../../core/node/fast-path';

export const SWITCH_POSITIONS = ['on', 'off'] as const;

/** `describe(name, body)` once with the fast path on and once with it off. */
export function describeBothPaths(name: string, body: () => void): void {
  describe.each(SWITCH_POSITIONS)(`${name} (fast path %s)`, (position) => {
    let previous: string | undefined;
    beforeAll(() => {
      previous = process.env[FAST_PATH_ENV];
      process.env[FAST_PATH_ENV] = position;
    });
    afterAll(() => {
      if (previous === undefined) delete process.env[FAST_PATH_ENV];
      else process.env[FAST_PATH_ENV] = previous;
    });
    body();
  });
}
