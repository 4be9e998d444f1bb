/**
 * Where and how progress is shown: always on stderr (stdout carries only
 * results, so it can be piped), redrawn in place only on a terminal that
 * can do it (a TTY, TERM not "dumb"), in colour only when NO_COLOR is unset.
 */
import type { CliIO } from './command';
import type { Output } from './job-display';

export interface ProgressOutput extends Output {
  /** Width to cut live lines to, so a redraw never wraps. */
  columns: number;
  color: boolean;
}

/** stderr as a progress output: `isTTY` is true only when lines can be redrawn in place. */
export function progressStream(io: CliIO): ProgressOutput {
  const stderr = io.stderr as CliIO['stderr'] & { isTTY?: boolean; columns?: number };
  const live = stderr.isTTY === true && io.env.TERM !== 'dumb';
  return {
    write: (text: string) => stderr.write(text),
    isTTY: live,
    columns: stderr.columns && stderr.columns > 20 ? stderr.columns : 80,
    // https://no-color.org: set and not empty turns colours off.
    color: live && !io.env.NO_COLOR,
  };
}
