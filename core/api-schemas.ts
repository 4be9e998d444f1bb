/**
 * The HTTP API's request and response shapes as zod schemas, shared by the
 * handlers (which parse requests with them), the web page and the CLI (which
 * parse responses with them). docs/openapi.yaml describes the same shapes; a
 * test checks the real handlers' responses against it.
 *
 * Browser-safe: no node: imports.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ERROR_CODES } from './errors';
import { JOB_STATUSES } from './job-states';

// zod/mini keeps bundles small (the full zod namespace adds ~450 kB to every
// Lambda); it ships no messages by default, so load the English ones.
z.config(en());

/** Job ids: URL- and S3-key-safe (see jobIdFromBundleKey in service-env.ts). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** Request header carrying the client's idempotency key (case-insensitive). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Response header set when POST /jobs replays an earlier request with the same key. */
export const IDEMPOTENT_REPLAY_HEADER = 'Idempotent-Replayed';

export const WorkbookOptionSchema = z.enum(['py', 'ipynb', 'both']);
export const GraphOptionSchema = z.enum(['json', 'dot', 'off', 'both']);

export const ConversionOptionsSchema = z.strictObject({
  workbook: WorkbookOptionSchema,
  graph: GraphOptionSchema,
});

export const CreateJobRequestSchema = z.strictObject({
  /** Name of the uploaded file or folder; the workflow name is derived from it. */
  filename: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  /** Declared size of the bundle, bytes (checked against the upload limit up front). */
  sizeBytes: z.optional(z.int().check(z.positive())),
  options: z.optional(
    z.strictObject({
      workbook: z.optional(WorkbookOptionSchema),
      graph: z.optional(GraphOptionSchema),
    }),
  ),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

export const IdempotencyKeySchema = z
  .string()
  .check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'));

export const JobIdSchema = z.string().check(z.regex(JOB_ID_PATTERN, 'not a job id'));

export const ListJobsQuerySchema = z.strictObject({
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100))),
  nextToken: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

export const ResultQuerySchema = z.strictObject({
  /** `false`: answer 200 with the link as JSON instead of a 302 (browsers cannot read a redirect's Location). */
  redirect: z.optional(z.enum(['true', 'false'])),
});

const isoTimestamp = z.iso.datetime({ offset: true });
const count = z.int().check(z.nonnegative());
const errorCode = z.enum(ERROR_CODES as [string, ...string[]]);
const versionInfo = z.object({ image: z.nullable(z.string()), version: z.nullable(z.string()) });

export const ErrorViewSchema = z.object({
  code: errorCode,
  message: z.string(),
  hint: z.optional(z.string()),
  details: z.optional(z.record(z.string(), z.unknown())),
});

export const BundleStatsViewSchema = z.object({
  entries: count,
  files: count,
  zipBytes: count,
  unpackedBytes: count,
  sha256: z.string(),
  nodes: count,
  referencedSettings: count,
  nestedWorkflows: z.array(z.string()),
});

export const ResultSummaryViewSchema = z.object({
  components: count,
  nodes: count,
  edges: count,
  idle: count,
  notImplemented: count,
  notImplementedNames: z.array(z.string()),
  files: z.array(z.string()),
  resultBytes: z.optional(count),
  /** When the result stops being downloadable. */
  expiresAt: z.optional(isoTimestamp),
  /** API path of the download (GET, with the API key). */
  downloadPath: z.string(),
});

export const JobViewSchema = z.object({
  jobId: z.string(),
  status: z.enum(JOB_STATUSES),
  terminal: z.boolean(),
  workflowName: z.string(),
  filename: z.optional(z.string()),
  options: ConversionOptionsSchema,
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  uploadedAt: z.optional(isoTimestamp),
  queuedAt: z.optional(isoTimestamp),
  startedAt: z.optional(isoTimestamp),
  finishedAt: z.optional(isoTimestamp),
  /** While AWAITING_UPLOAD: when the upload link stops working. */
  uploadExpiresAt: z.optional(isoTimestamp),
  durationsMs: z.object({
    upload: z.optional(z.number()),
    validation: z.optional(z.number()),
    queue: z.optional(z.number()),
    conversion: z.optional(z.number()),
    total: z.optional(z.number()),
  }),
  bundle: z.optional(BundleStatsViewSchema),
  error: z.optional(ErrorViewSchema),
  /** Why an EXPIRED job expired. */
  expiredReason: z.optional(z.enum(['UPLOAD_NOT_RECEIVED', 'RESULT_RETENTION'])),
  result: z.optional(ResultSummaryViewSchema),
  converter: z.optional(versionInfo),
  /** While not terminal: seconds until the status is worth polling again (also sent as Retry-After). */
  retryAfterSeconds: z.optional(z.int()),
});
export type JobView = z.infer<typeof JobViewSchema>;

export const UploadTicketSchema = z.object({
  /** POST a multipart/form-data body here: every field below, then the file as `file`. */
  url: z.string(),
  fields: z.record(z.string(), z.string()),
  expiresAt: isoTimestamp,
  maxBytes: count,
});
export type UploadTicket = z.infer<typeof UploadTicketSchema>;

export const CreateJobResponseSchema = z.object({
  job: JobViewSchema,
  /** Absent only when an idempotent replay finds the job past AWAITING_UPLOAD or its upload window. */
  upload: z.optional(UploadTicketSchema),
});
export type CreateJobResponse = z.infer<typeof CreateJobResponseSchema>;

export const ListJobsResponseSchema = z.object({
  jobs: z.array(JobViewSchema),
  nextToken: z.optional(z.string()),
});
export type ListJobsResponse = z.infer<typeof ListJobsResponseSchema>;

export const ResultLinkSchema = z.object({
  url: z.string(),
  expiresAt: isoTimestamp,
  filename: z.string(),
});
export type ResultLink = z.infer<typeof ResultLinkSchema>;

export const HealthResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  converter: versionInfo,
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: errorCode,
    message: z.string(),
    details: z.optional(z.record(z.string(), z.unknown())),
    requestId: z.string(),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

const MAX_WORKFLOW_NAME = 100;
export const DEFAULT_WORKFLOW_NAME = 'workflow';

/**
 * The workflow name from an uploaded file or folder name: no directories, no
 * .zip/.knwf extension, only letters, digits, space and `._-()`; never empty,
 * never starting with a dot. The runner uses it as a directory name and the
 * download is called `<name>-k2p.zip`.
 */
export function workflowNameFromFilename(filename: string | undefined): string {
  if (!filename) return DEFAULT_WORKFLOW_NAME;
  const base = filename.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .replace(/\.(zip|knwf)$/i, '')
    .normalize('NFC')
    .replace(/[^\p{L}\p{N} ._()-]/gu, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+/, '')
    .trim();
  const limited = Array.from(cleaned).slice(0, MAX_WORKFLOW_NAME).join('').trim();
  return /[\p{L}\p{N}]/u.test(limited) ? limited : DEFAULT_WORKFLOW_NAME;
}

/** File name of the download. */
export function resultFilename(workflowName: string): string {
  return `${workflowName}-k2p.zip`;
}

/** Content-Disposition of the download: an ASCII filename plus RFC 5987 filename* when the name is not ASCII. */
export function resultContentDisposition(workflowName: string): string {
  const name = resultFilename(workflowName);
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `attachment; filename="${name}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
