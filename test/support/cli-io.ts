/** The `k2p-web` commands' I/O for tests: stdout and stderr collected as text, an environment and a working folder of the test's choosing. */
import { Writable } from 'node:stream';
import type { CliIO } from '../../cli/command';

export interface CapturedIO {
  io: CliIO;
  stdout(): string;
  stderr(): string;
}

export function captureIO(env: Record<string, string | undefined> = {}, cwd = process.cwd()): CapturedIO {
  let out = '';
  let err = '';
  const stream = (onText: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        onText(String(chunk));
        done();
      },
    });
  return {
    io: { stdout: stream((t) => (out += t)), stderr: stream((t) => (err += t)), env, cwd },
    stdout: () => out,
    stderr: () => err,
  };
}
