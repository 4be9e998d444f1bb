/**
 * Sample workflows for tests: bundle ZIPs built with fflate from the sample folders
 * (test/fixtures/samples, or K2P_SAMPLES_DIR), workflow.knime at the ZIP root and
 * only the files a bundle may hold.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { zipSync } from 'fflate';

/** In-repo copies of the shared samples and reference outputs, so a fresh clone is self-contained. */
export const SAMPLES_DIR = process.env.K2P_SAMPLES_DIR ?? join(import.meta.dirname, '..', 'fixtures', 'samples');
export const REFERENCE_DIR = process.env.K2P_REFERENCE_DIR ?? join(import.meta.dirname, '..', 'fixtures', 'knime2py-reference');

/** workflow.knime and settings.xml files of a folder, relative POSIX paths, sorted. */
export function bundleFiles(folder: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      if (statSync(abs).isDirectory()) visit(abs);
      else if (name === 'workflow.knime' || name === 'settings.xml')
        files.set(relative(folder, abs).split(sep).join('/'), readFileSync(abs));
    }
  };
  visit(folder);
  return files;
}

export function zipFiles(files: Map<string, Uint8Array>): Uint8Array {
  const entries: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const [path, data] of files) entries[path] = [data, { mtime: new Date(2024, 0, 1) }];
  return zipSync(entries, { level: 6 });
}

/** A bundle of a sample workflow: workflow.knime at the root and the settings.xml files, nothing else. */
export function sampleBundle(sample = 'KNIME_single_csv'): Uint8Array {
  return zipFiles(bundleFiles(join(SAMPLES_DIR, sample)));
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
