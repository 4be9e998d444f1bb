/**
 * Structured JSON log lines on stderr (CloudWatch picks them up from the task's
 * log driver). Every line carries the job id. Callers log sizes, codes and
 * durations only: never settings contents, converter output or presigned URLs.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

export const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

export function createLogger(jobId: string | undefined, sink: LogSink = stderrSink): Logger {
  const write =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      sink(JSON.stringify({ time: new Date().toISOString(), level, service: 'k2p-runner', jobId: jobId ?? null, message, ...fields }));
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** A URL as it may appear in a log: scheme, host and path, without the query that carries the signature. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
