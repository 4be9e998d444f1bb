/**
 * The knime2py version, read from the Python package metadata (k2p has no
 * --version). Best effort: a missing Python or package gives null, never a failure.
 */
import { execFile } from 'node:child_process';
import { plausibleVersion } from '../core/runner-contract';

export function readConverterVersion(argv: string[], env: Record<string, string>, timeoutMs = 15_000): Promise<string | null> {
  const [file, ...args] = argv;
  if (!file) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 4096, killSignal: 'SIGKILL' }, (err, stdout) => {
      resolve(err ? null : plausibleVersion(String(stdout ?? '')));
    });
  });
}
