/** Reading a picked folder's workflow files ahead: only workflow files, bounded, the asked-for file first, errors to the asker. */
import { describe, expect, it } from 'vitest';
import type { SourceFile } from '../../core/bundler';
import { DEFAULT_BUNDLE_LIMITS, resolveBundleLimits } from '../../core/limits';
import { withReadAhead } from '../../web/src/read-ahead';

function fakeSources(paths: string[], options: { fail?: string; size?: number } = {}) {
  const started: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sources: SourceFile[] = paths.map((path) => ({
    path,
    size: options.size ?? 4,
    read: async () => {
      started.push(path);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      if (path === options.fail) throw new Error(`cannot read ${path}`);
      return new TextEncoder().encode(path);
    },
  }));
  return { sources, started, maxInFlight: () => maxInFlight };
}

const flush = () => new Promise((r) => setTimeout(r, 50));

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('withReadAhead', () => {
  const paths = [
    'F/workflow.knime',
    ...Array.from({ length: 40 }, (_, i) => `F/N (#${i})/settings.xml`),
    'F/data/big.csv',
    'F/N (#1)/port_1/data.zip',
  ];

  it('reads nothing until the bundler asks, then only workflow files, a few at a time', async () => {
    const fake = fakeSources(paths);
    const wrapped = withReadAhead(fake.sources, DEFAULT_BUNDLE_LIMITS, 4);
    await flush();
    expect(fake.started).toEqual([]);
    expect(new TextDecoder().decode(await wrapped[0]!.read())).toBe('F/workflow.knime');
    await waitUntil(() => fake.started.length >= 41);
    await flush();
    expect(fake.started).toHaveLength(41);
    expect(fake.started.some((p) => p.includes('data'))).toBe(false);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(4);
    // Non-workflow files are still readable on request, directly.
    expect(new TextDecoder().decode(await wrapped[41]!.read())).toBe('F/data/big.csv');
  });

  it('serves a file the bundler asks for before the queue reaches it', async () => {
    const fake = fakeSources(paths);
    const wrapped = withReadAhead(fake.sources, DEFAULT_BUNDLE_LIMITS, 2);
    await wrapped[0]!.read();
    const last = wrapped[40]!;
    await last.read();
    expect(fake.started.indexOf('F/N (#39)/settings.xml')).toBeLessThan(10);
  });

  it('hands a read failure to the file that failed, and to nobody else', async () => {
    const fake = fakeSources(paths, { fail: 'F/N (#3)/settings.xml' });
    const wrapped = withReadAhead(fake.sources, DEFAULT_BUNDLE_LIMITS, 4);
    await wrapped[0]!.read();
    await expect(wrapped[4]!.read()).rejects.toThrow('cannot read F/N (#3)/settings.xml');
    await expect(wrapped[5]!.read()).resolves.toBeInstanceOf(Uint8Array);
  });

  it('reads ahead no more than a bundle may hold', async () => {
    const fake = fakeSources(paths, { size: 100 });
    const limits = resolveBundleLimits({ maxTotalUnpackedBytes: 1000 });
    const wrapped = withReadAhead(fake.sources, limits, 4);
    await wrapped[0]!.read();
    await waitUntil(() => fake.started.length >= 10);
    await flush();
    expect(fake.started).toHaveLength(10);
  });
});
