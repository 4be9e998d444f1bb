/**
 * Every error code of the contract (docs/architecture.md "Error codes"), defined once with the message users see,
 * the HTTP status an API response carries, and what to do about it. Lambdas,
 * runner, web page and CLI all import from here, so a code never drifts.
 */

export type ErrorFamily = 'bundle' | 'conversion' | 'api';

export interface ErrorDefinition {
  readonly family: ErrorFamily;
  /** HTTP status when the code is returned by the API (bundle/conversion codes live in the job record). */
  readonly httpStatus: number;
  /** A short, plain-language explanation. */
  readonly message: string;
  /** What the user can do about it. */
  readonly hint: string;
}

const bundle = (message: string, hint: string) => ({
  family: 'bundle' as const,
  httpStatus: 422,
  message,
  hint,
});
const conversion = (message: string, hint: string, httpStatus = 500) => ({
  family: 'conversion' as const,
  httpStatus,
  message,
  hint,
});
const api = (httpStatus: number, message: string, hint: string) => ({
  family: 'api' as const,
  httpStatus,
  message,
  hint,
});

export const ERRORS = {
  // Bundle validation: the job ends REJECTED.
  BUNDLE_TOO_LARGE: bundle(
    'The uploaded bundle is larger than the upload limit.',
    'Upload only workflow.knime and the settings.xml files (use the web page or `k2p-web bundle`), not data or exported tables.',
  ),
  ZIP_CORRUPT: bundle(
    'The bundle is not a readable ZIP file, or its headers disagree about its contents.',
    'Create the bundle again with the web page or `k2p-web bundle`; if you zipped it yourself, use a standard ZIP tool.',
  ),
  ZIP_UNSUPPORTED: bundle(
    'The ZIP uses a feature k2p-web does not accept (only stored and deflate entries without other flag bits, no multi-disk archives).',
    'Re-create the bundle with `k2p-web bundle` or a standard ZIP tool.',
  ),
  ZIP_ENCRYPTED: bundle('The ZIP contains encrypted entries.', 'Create the bundle without a password.'),
  ZIP_TOO_MANY_ENTRIES: bundle(
    'The ZIP has more entries than allowed.',
    'A bundle holds only workflow.knime and settings.xml files; remove everything else.',
  ),
  ZIP_ENTRY_TOO_LARGE: bundle(
    'A file in the ZIP is larger than allowed once unpacked.',
    'settings.xml and workflow.knime files are small; check that the named file is really a KNIME settings file.',
  ),
  ZIP_TOO_LARGE_UNPACKED: bundle('The ZIP unpacks to more data than allowed.', 'Upload only workflow.knime and the settings.xml files.'),
  ZIP_RATIO_EXCEEDED: bundle(
    'A file in the ZIP is compressed suspiciously well (a possible ZIP bomb).',
    'Check the named file; KNIME settings never compress that well.',
  ),
  ZIP_UNSAFE_PATH: bundle(
    'A file name in the ZIP is not a safe relative path.',
    'File names must be relative, use "/" separators, and contain no "..", empty parts or control characters.',
  ),
  ZIP_DUPLICATE_ENTRY: bundle(
    'The ZIP contains the same file twice (possibly differing only in letter case or Unicode form).',
    'Remove the duplicate and create the bundle again.',
  ),
  ZIP_SYMLINK: bundle(
    'The ZIP contains a symbolic link or special file.',
    'Bundles may contain only regular files; create the bundle with `k2p-web bundle`.',
  ),
  ZIP_DISALLOWED_FILE: bundle(
    'The ZIP contains a file that is not allowed in a bundle.',
    'A bundle holds only workflow.knime and settings.xml files; remove data, tables and other files.',
  ),
  WORKFLOW_MISSING: bundle(
    'The bundle has no workflow.knime at its root.',
    'Bundle the folder that contains workflow.knime (the web page and `k2p-web bundle` find it for you).',
  ),
  XML_INVALID: bundle('An XML file in the bundle is not well-formed.', 'Re-export the workflow from KNIME; the named file is damaged.'),
  XML_FORBIDDEN_DTD: bundle(
    'An XML file in the bundle declares a DOCTYPE or entities, which are not allowed.',
    'KNIME never writes DOCTYPEs; re-export the workflow from KNIME.',
  ),
  SETTINGS_MISSING: bundle(
    'A node referenced by workflow.knime has no settings.xml in the bundle.',
    "Include every node folder's settings.xml (the web page and `k2p-web bundle` collect them for you).",
  ),

  // Conversion: the job ends FAILED or TIMED_OUT.
  CONVERTER_INPUT_ERROR: conversion(
    'knime2py could not read the workflow folder (exit code 2).',
    'Check the bundle with `k2p-web validate`; report the job id if it passes.',
  ),
  CONVERTER_PARSE_ERROR: conversion(
    'knime2py could not parse the workflow (exit code 3).',
    'The workflow may use a legacy or unsupported format; re-save it with a current KNIME version.',
  ),
  CONVERTER_NO_NODES: conversion(
    'knime2py found no nodes to convert (exit code 4).',
    'Make sure the workflow contains nodes and that you bundled the right folder.',
  ),
  CONVERTER_FAILED: conversion('knime2py failed unexpectedly.', 'Try again; if it keeps failing, report the job id.'),
  CONVERTER_TIMEOUT: conversion(
    'The conversion took longer than the time limit and was stopped.',
    'Very large workflows may need a higher converter time limit; ask your operator.',
  ),
  RUNNER_FAILED: conversion(
    'The conversion sandbox failed before the converter could finish.',
    'Try again; if it keeps failing, report the job id.',
  ),
  INTERNAL_ERROR: conversion('An internal error occurred.', 'Try again; if it keeps failing, report the request or job id.'),

  // API.
  UNAUTHORIZED: api(
    401,
    'Sign in, or send an API key.',
    'Programs send their key in the x-api-key header; people sign in (Authorization: Bearer <token>).',
  ),
  FORBIDDEN: api(
    403,
    'Your role does not allow this request.',
    'Ask an administrator of this deployment for the role, or for a key that is valid for this API.',
  ),
  INVALID_REQUEST: api(400, 'The request is not valid.', 'See details for the field that is wrong.'),
  NOT_FOUND: api(404, 'No such job.', 'Check the job id; jobs are visible only to the API key that created them.'),
  SERVER_BUSY: api(503, 'The service is at capacity.', 'Retry after the number of seconds in Retry-After.'),
  RATE_LIMITED: api(
    429,
    'Too many jobs for you (in flight at once, or started today).',
    'Wait for a job to finish, or retry after the number of seconds in Retry-After; the daily count starts again at 00:00 UTC.',
  ),
  RESULT_NOT_READY: api(409, 'The result is not ready yet.', 'Follow the job status until it is SUCCEEDED.'),
  RESULT_GONE: api(410, 'The result is no longer available (retention expired or the job was deleted).', 'Convert the workflow again.'),
  WEBHOOK_NOT_CONFIGURED: api(
    409,
    'A callback URL needs a webhook signing secret, and this API key has none yet.',
    'POST /webhook/secret first (the secret is shown once), then create the job again.',
  ),
  CALLBACK_URL_REFUSED: api(
    422,
    'The callback URL is not allowed.',
    'Use an https URL on port 443 or 8443 whose host name resolves only to public addresses, without user name or password.',
  ),
  JOB_ALREADY_ENDED: api(
    409,
    'The job has already ended, so it cannot be cancelled.',
    'See details.status for how it ended; delete the job if you no longer want it.',
  ),
  LOG_NOT_AVAILABLE: api(
    409,
    'The job has no conversion log (it has not run yet, was rejected before running, or its data was deleted or expired).',
    'A log exists once the conversion ran; follow the job status until it is terminal.',
  ),
  AUTH_UNAVAILABLE: api(
    503,
    'The sign-in service cannot be reached, so the token could not be checked.',
    'Retry in a few seconds; if it persists, the operator should check the identity provider (issuer and its JWKS).',
  ),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export type BundleErrorCode = {
  [K in ErrorCode]: (typeof ERRORS)[K]['family'] extends 'bundle' ? K : never;
}[ErrorCode];
export type ConversionErrorCode = {
  [K in ErrorCode]: (typeof ERRORS)[K]['family'] extends 'conversion' ? K : never;
}[ErrorCode];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, value);
}

export function errorFamily(code: ErrorCode): ErrorFamily {
  return ERRORS[code].family;
}

/** The error shape stored on a job and returned by the API. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * A failure that carries a stable code. Handlers throw it; one middleware turns
 * it into the JSON envelope `{error: {code, message, details?, requestId}}`.
 */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly details?: Record<string, unknown>;
  /** Seconds for a Retry-After header (SERVER_BUSY, RATE_LIMITED). */
  readonly retryAfterSeconds?: number;

  constructor(
    code: ErrorCode,
    message: string = ERRORS[code].message,
    options: { details?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.httpStatus = ERRORS[code].httpStatus;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Maps a knime2py exit code to its error code (docs/architecture.md "knime2py contract"). */
export function converterExitCodeToError(exitCode: number): ConversionErrorCode | undefined {
  switch (exitCode) {
    case 0:
      return undefined;
    case 2:
      return 'CONVERTER_INPUT_ERROR';
    case 3:
      return 'CONVERTER_PARSE_ERROR';
    case 4:
      return 'CONVERTER_NO_NODES';
    default:
      return 'CONVERTER_FAILED';
  }
}
