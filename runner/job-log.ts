/**
 * log.txt, the conversion's log a user can fetch (GET /jobs/{id}/logs): never
 * more than MAX_JOB_LOG_BYTES (the beginning and the end kept around a marker
 * saying how much was left out), with the run directory's paths rewritten like
 * everything else that leaves the sandbox, and secrets scrubbed — presigned
 * URL query strings and X-Amz-* parameters, Authorization and x-api-key
 * values, AWS key ids and secret keys — before it is cut, so a cut can never
 * leave half a secret behind.
 */
import { MAX_JOB_LOG_BYTES } from '../core/runner-contract';

/** The line that stands where bytes were left out. */
export function omissionMarker(bytes: number): string {
  return `\n… [k2p-web: ${bytes} bytes of the log left out here] …\n`;
}

/** Moves a cut back (or, for `forward`, on) to the start of a UTF-8 character. */
function charBoundary(bytes: Buffer, at: number, forward: boolean): number {
  let i = at;
  while (i > 0 && i < bytes.length && (bytes[i]! & 0xc0) === 0x80) i += forward ? 1 : -1;
  return i;
}

/** `text` if it fits in `maxBytes` of UTF-8, else its head and tail around the omission marker, within `maxBytes`. */
export function boundLog(text: string, maxBytes: number = MAX_JOB_LOG_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // The marker's own length depends on the count; the widest count is the whole text.
  const room = maxBytes - Buffer.byteLength(omissionMarker(bytes.length));
  const headEnd = charBoundary(bytes, Math.floor(room / 2), false);
  const tailStart = charBoundary(bytes, bytes.length - (room - headEnd), true);
  return bytes.subarray(0, headEnd).toString('utf8') + omissionMarker(tailStart - headEnd) + bytes.subarray(tailStart).toString('utf8');
}

/** Keeps the first and the last `maxBytes / 2` of a stream and counts what lies between. */
export function headTailCollector(maxBytes: number = MAX_JOB_LOG_BYTES) {
  const half = Math.floor(maxBytes / 2);
  const head: Buffer[] = [];
  let headBytes = 0;
  let tail = Buffer.alloc(0);
  let total = 0;
  return {
    push(chunk: Buffer | string) {
      let data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      total += data.length;
      if (headBytes < half) {
        const part = data.subarray(0, half - headBytes);
        head.push(part);
        headBytes += part.length;
        data = data.subarray(part.length);
      }
      if (data.length === 0) return;
      tail = tail.length + data.length <= half ? Buffer.concat([tail, data]) : Buffer.concat([tail, data]).subarray(-half);
    },
    total: () => total,
    text(): string {
      const first = Buffer.concat(head);
      const left = total - first.length - tail.length;
      if (left === 0) return Buffer.concat([first, tail]).toString('utf8');
      const start = charBoundary(tail, 0, true);
      const end = charBoundary(first, first.length, false);
      return `${first.subarray(0, end).toString('utf8')}${omissionMarker(left + (first.length - end) + start)}${tail.subarray(start).toString('utf8')}`;
    },
  };
}

const REDACTED = '<redacted>';

/** What is scrubbed, each with the part kept in front of the secret. */
const SECRET_PATTERNS: readonly [pattern: RegExp, replacement: string][] = [
  // The query of any URL: presigned URLs carry their signature, credential and token there.
  [/\b(https?:\/\/[^\s"'<>?#]+)\?[^\s"'<>#]*/gi, `$1?${REDACTED}`],
  // X-Amz-* parameters and headers outside a URL (form fields, logged headers).
  [/\b(X-Amz-[A-Za-z0-9-]+)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi, `$1$2${REDACTED}`],
  // Authorization and x-api-key values, to the end of the value (a scheme and its parameters included).
  [/\b(authorization|x-api-key)(["']?\s*[:=]\s*["']?)[^\r\n"']+/gi, `$1$2${REDACTED}`],
  // AWS secret keys and session tokens written as settings.
  [/\b(aws_secret_access_key|aws_session_token|secretAccessKey|sessionToken)(["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, `$1$2${REDACTED}`],
  // AWS access key ids (long-term AKIA…, temporary ASIA…, and the other documented prefixes).
  [/\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}\b/g, '<redacted AWS key id>'],
];

export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text);
}

export interface JobLogParts {
  jobId: string;
  workflowName: string;
  /** The converter's argv; absent when it never ran. */
  argv?: string[];
  stderr?: string;
  stderrBytes?: number;
  stdout?: string;
  stdoutBytes?: number;
  /** How the converter ended, in words. */
  ending?: string;
  /** The runner's own log lines. */
  runner: string;
}

/** log.txt's bytes: the sections in order, scratch paths rewritten by `rewrite`, secrets scrubbed, then bounded. */
export function renderJobLog(parts: JobLogParts, rewrite: (text: string) => string = (text) => text): Uint8Array {
  const section = (title: string, body?: string) => `== ${title} ==\n${body ? (body.endsWith('\n') ? body : `${body}\n`) : ''}`;
  const converter = parts.argv
    ? [
        `$ ${parts.argv.map(quoteArg).join(' ')}\n`,
        section(`knime2py stderr (${parts.stderrBytes ?? 0} bytes)`, parts.stderr),
        section(`knime2py stdout (${parts.stdoutBytes ?? 0} bytes)`, parts.stdout),
        section(`knime2py ${parts.ending ?? 'ended'}`),
      ].join('')
    : section('knime2py did not run');
  const text = [
    `k2p-web conversion log: job ${parts.jobId}, workflow ${parts.workflowName}\n`,
    converter,
    section('runner', parts.runner),
  ].join('');
  return Buffer.from(boundLog(scrubSecrets(rewrite(text))), 'utf8');
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
