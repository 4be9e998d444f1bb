/**
 * Every failure the page can meet, turned into the same shape: the stable
 * code, a plain-language explanation, the specific message, what to do, and
 * the file concerned. Explanations come from core/errors.ts, so the page,
 * the CLI and the API never disagree about what a code means.
 */
import { ApiError, FollowTimeoutError, NetworkError, ResponseFormatError } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import type { BundlerError } from '../../core/bundler';
import { ERRORS, isErrorCode } from '../../core/errors';
import { ZipReadError } from '../../core/zip-read';
import { ConfigError } from './config';
import { SelectionError } from './sources';
import { UploadFailure } from './upload';

export interface Explanation {
  /** The stable code (an error code of core/errors.ts, or one of the page's own below). */
  code: string;
  /** What happened, in plain words. */
  title: string;
  /** The specific message (names the entry, the limit, the converter's words), when it adds something. */
  message?: string;
  /** What the user can do about it. */
  hint: string;
  /** The file or ZIP entry concerned. */
  file?: string;
  /** Further facts worth showing (exit code, request id, …), as label/value pairs. */
  facts: [string, string][];
  /** Whether trying the same thing again may work. */
  retryable: boolean;
}

/** Codes that only the page (or the bundler) produces; the service's codes live in core/errors.ts. */
const PAGE_CODES: Record<string, { title: string; hint: string; retryable?: boolean }> = {
  SEVERAL_ROOTS: {
    title: 'The selection holds several workflows.',
    hint: 'Choose the workflow to convert in the list above, or pick only its folder.',
  },
  SOURCE_UNREADABLE: {
    title: 'A file of the selection could not be read.',
    hint: 'Check that the files are still there and readable, then pick the workflow again.',
  },
  NETWORK_ERROR: {
    title: 'The service could not be reached.',
    hint: 'Check your connection; the page retried with increasing pauses. Try again in a moment.',
    retryable: true,
  },
  UNEXPECTED_RESPONSE: {
    title: 'The service answered in a way this page does not understand.',
    hint: 'Reload the page (it may be out of date); report the problem if it persists.',
    retryable: true,
  },
  UPLOAD_FAILED: {
    title: 'The upload of the bundle failed.',
    hint: 'Convert again; the upload link is valid for a few minutes only.',
    retryable: true,
  },
  SELECTION_INVALID: {
    title: 'This selection cannot be converted.',
    hint: 'Pick the workflow folder (the one holding workflow.knime) or a .knwf/.zip export of the workflow.',
  },
  CONFIG_INVALID: {
    title: 'The page is not configured.',
    hint: 'The deployment writes config.json next to the page; redeploy the site or start local mode again.',
  },
  PAGE_ERROR: {
    title: 'Something went wrong in the page.',
    hint: 'Reload the page and try again; report the problem if it persists.',
    retryable: true,
  },
};

function describe(code: string): { title: string; hint: string; retryable: boolean } {
  if (isErrorCode(code)) {
    const retryable = ['CONVERTER_FAILED', 'RUNNER_FAILED', 'INTERNAL_ERROR', 'SERVER_BUSY', 'RATE_LIMITED'].includes(code);
    return { title: ERRORS[code].message, hint: ERRORS[code].hint, retryable };
  }
  const own = PAGE_CODES[code] ?? PAGE_CODES.PAGE_ERROR!;
  return { title: own.title, hint: own.hint, retryable: own.retryable ?? false };
}

/** A specific message is shown only when it says more than the generic explanation. */
function distinct(message: string | undefined, title: string): string | undefined {
  const text = message?.trim();
  return text && text !== title ? text : undefined;
}

export function explainBundlerError(error: BundlerError): Explanation {
  const base = describe(error.code);
  return {
    code: error.code,
    title: base.title,
    message: distinct(error.message, base.title),
    hint: base.hint,
    ...(error.path !== undefined ? { file: error.path } : {}),
    facts: [],
    retryable: false,
  };
}

/** The error of a job that ended REJECTED, FAILED or TIMED_OUT (or EXPIRED, which carries none). */
export function explainJobError(job: JobView): Explanation | undefined {
  const error = job.error;
  if (!error) {
    if (job.status !== 'EXPIRED') return undefined;
    const upload = job.expiredReason !== 'RESULT_RETENTION';
    return {
      code: 'EXPIRED',
      title: upload ? 'The upload never arrived, so the job expired.' : 'The result was removed when its retention period ended.',
      hint: upload ? 'Pick the workflow again and convert it.' : 'Convert the workflow again to get a new result.',
      facts: [],
      retryable: true,
    };
  }
  const base = describe(error.code);
  const details = error.details ?? {};
  const facts: [string, string][] = [];
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const exitCode = text(details.exitCode);
  if (exitCode !== undefined) facts.push(['Converter exit code', exitCode]);
  const signal = text(details.signal);
  if (signal !== undefined) facts.push(['Stopped by signal', signal]);
  const timeout = text(details.timeoutSeconds);
  if (timeout !== undefined) facts.push(['Time limit', `${timeout} s`]);
  // The converter's own words, when the service passes them on.
  for (const key of ['stderrTail', 'message', 'reason', 'stoppedReason']) {
    const value = text(details[key]);
    if (value !== undefined)
      facts.push([key === 'stderrTail' ? 'Converter output' : key === 'message' ? 'Converter message' : 'Reason', value]);
  }
  const file = text(details.entry) ?? text(details.path);
  return {
    code: error.code,
    title: base.title,
    message: distinct(error.message, base.title),
    hint: error.hint ?? base.hint,
    ...(file !== undefined ? { file } : {}),
    facts,
    retryable: base.retryable,
  };
}

/** Anything thrown while talking to the service or reading the user's files. */
export function explainFailure(error: unknown): Explanation {
  if (error instanceof ApiError) {
    const base = describe(error.code);
    const facts: [string, string][] = [[`HTTP status`, String(error.status)]];
    if (error.requestId) facts.push(['Request id', error.requestId]);
    const field = error.details?.field ?? error.details?.path;
    return {
      code: error.code,
      title: base.title,
      message: distinct(error.message, base.title),
      hint: error.hint || base.hint,
      ...(typeof field === 'string' ? { file: field } : {}),
      facts,
      retryable: base.retryable || error.status >= 500,
    };
  }
  if (error instanceof ZipReadError) {
    return explainBundlerError({ code: error.code, message: error.message, ...(error.entry !== undefined ? { path: error.entry } : {}) });
  }
  if (error instanceof UploadFailure) {
    const code = error.bundleCode ?? 'UPLOAD_FAILED';
    const base = describe(code);
    const facts: [string, string][] = error.status ? [['HTTP status', String(error.status)]] : [];
    if (error.s3Code) facts.push(['Storage error', error.s3Code]);
    return { code, title: base.title, message: error.message, hint: base.hint, facts, retryable: true };
  }
  if (error instanceof NetworkError || error instanceof FollowTimeoutError) {
    const base = describe('NETWORK_ERROR');
    return { code: 'NETWORK_ERROR', title: base.title, message: error.message, hint: base.hint, facts: [], retryable: true };
  }
  if (error instanceof ResponseFormatError) {
    const base = describe('UNEXPECTED_RESPONSE');
    return {
      code: 'UNEXPECTED_RESPONSE',
      title: base.title,
      message: error.message,
      hint: base.hint,
      facts: [['HTTP status', String(error.status)]],
      retryable: true,
    };
  }
  if (error instanceof SelectionError) {
    const base = describe('SELECTION_INVALID');
    return { code: 'SELECTION_INVALID', title: base.title, message: error.message, hint: base.hint, facts: [], retryable: false };
  }
  if (error instanceof ConfigError) {
    const base = describe('CONFIG_INVALID');
    return { code: 'CONFIG_INVALID', title: base.title, message: error.message, hint: base.hint, facts: [], retryable: false };
  }
  const base = describe('PAGE_ERROR');
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'PAGE_ERROR', title: base.title, message, hint: base.hint, facts: [], retryable: true };
}
