/**
 * The HTTP API's request and response shapes as zod schemas, shared by the
 * handlers (which parse requests with them), the web page and the CLI (which
 * parse responses with them). docs/openapi.yaml is generated from them
 * (`npm run build:openapi`; the descriptions below become the document's), and
 * a test checks the real handlers' responses against it.
 *
 * Browser-safe: no node: imports.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ERROR_CODES, type ErrorCode } from './errors';
import { JOB_STATUSES } from './job-states';
import { PRINCIPAL_KINDS, ROLES } from './principal';

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
  filename: z
    .optional(z.string().check(z.minLength(1), z.maxLength(255)))
    .check(
      z.describe("Name of the uploaded file or folder; the workflow name (and the download's name) derives from it, without .zip/.knwf."),
    ),
  sizeBytes: z
    .optional(z.int().check(z.positive()))
    .check(z.describe('Declared size of the bundle, bytes: refused up front (422 BUNDLE_TOO_LARGE) when over the upload limit.')),
  options: z
    .optional(z.strictObject({ workbook: z.optional(WorkbookOptionSchema), graph: z.optional(GraphOptionSchema) }))
    .check(z.describe('knime2py outputs; each defaults to `both`.')),
  callbackUrl: z
    .optional(z.string().check(z.minLength(1), z.maxLength(2048)))
    .check(
      z.describe(
        'Where to POST the signed `job.finished` event when the job ends (https; see docs/api.md "Webhooks"). Without it, the API key\'s default URL (PUT /webhook) is used, if any. Needs a signing secret (POST /webhook/secret).',
      ),
    ),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

export const IdempotencyKeySchema = z
  .string()
  .check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'));

export const JobIdSchema = z.string().check(z.regex(JOB_ID_PATTERN, 'not a job id'));

/** Jobs per page of GET /jobs when the request names no limit. */
export const DEFAULT_LIST_LIMIT = 20;

export const ListJobsQuerySchema = z.strictObject({
  limit: z
    .optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)))
    .check(z.describe(`Jobs per page (default ${DEFAULT_LIST_LIMIT}).`)),
  nextToken: z
    .optional(z.string().check(z.minLength(1), z.maxLength(2048)))
    .check(z.describe('Opaque token from the previous page (its `nextToken`).')),
});

/** Longest hold of GET /jobs/{id}?waitSeconds, seconds: well below API Gateway's 29-s integration timeout. */
export const MAX_JOB_WAIT_SECONDS = 20;
/** Response header of GET /jobs/{id}: present when the server honoured `waitSeconds` (its value is the bound it used). */
export const JOB_WAIT_HEADER = 'K2p-Waited-Seconds';

export const GetJobQuerySchema = z.strictObject({
  waitSeconds: z
    .optional(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(MAX_JOB_WAIT_SECONDS)))
    .check(
      z.describe(
        `Long poll: while the job is not terminal, hold the answer until its status differs from the one it had when the request arrived, or this many seconds (0–${MAX_JOB_WAIT_SECONDS}) pass; then answer as usual. A terminal job is answered at once.`,
      ),
    ),
});

export const ResultQuerySchema = z.strictObject({
  redirect: z
    .optional(z.enum(['true', 'false']))
    .check(z.describe("`false`: answer 200 with the link as JSON instead of a 302 (browsers cannot read a redirect's Location).")),
});

export const TimestampSchema = z.iso.datetime({ offset: true });
export const JobStatusSchema = z.enum(JOB_STATUSES);
export const ErrorCodeSchema = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);
export const ConverterVersionSchema = z.object({ image: z.nullable(z.string()), version: z.nullable(z.string()) });
const count = z.int().check(z.nonnegative());

export const ErrorViewSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  hint: z.optional(z.string()).check(z.describe('What the user can do about it.')),
  details: z
    .optional(z.record(z.string(), z.unknown()))
    .check(z.describe('e.g. `entry` (the ZIP entry a bundle error is about), `exitCode`.')),
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
  files: z.array(z.string()).check(z.describe('Files in result.zip.')),
  resultBytes: z.optional(count),
  expiresAt: z.optional(TimestampSchema).check(z.describe('When the result stops being downloadable.')),
  downloadPath: z.string().check(z.describe('API path of the download (GET, with the API key).')),
});

/** Webhook headers and event type (docs/api.md "Webhooks"). */
export const WEBHOOK_SIGNATURE_HEADER = 'K2p-Signature';
export const WEBHOOK_EVENT_ID_HEADER = 'K2p-Event-Id';
export const WEBHOOK_EVENT_TYPE = 'job.finished';
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export const WebhookDeliveryViewSchema = z.object({
  url: z.string().check(z.describe('The callback URL the event goes to.')),
  status: z
    .enum(WEBHOOK_DELIVERY_STATUSES)
    .check(z.describe('PENDING until a receiver answered 2xx (DELIVERED) or retries ran out after at least 24 hours (FAILED).')),
  attempts: count,
  lastAttemptAt: z.nullable(TimestampSchema),
  lastResponseCode: z.nullable(z.int()).check(z.describe("The receiver's HTTP status of the last attempt; null when none came.")),
  lastError: z.nullable(z.string()).check(z.describe('Why the last attempt failed (timeout, refused address, redirect …).')),
  nextAttemptAt: z.nullable(TimestampSchema).check(z.describe('When the next attempt is due (at the earliest); null when done.')),
});
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryViewSchema>;

export const JobViewSchema = z.object({
  jobId: z.string(),
  status: JobStatusSchema,
  terminal: z.boolean(),
  workflowName: z.string(),
  filename: z.optional(z.string()),
  options: ConversionOptionsSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  uploadedAt: z.optional(TimestampSchema),
  queuedAt: z.optional(TimestampSchema),
  startedAt: z.optional(TimestampSchema),
  finishedAt: z.optional(TimestampSchema),
  uploadExpiresAt: z.optional(TimestampSchema).check(z.describe('While AWAITING_UPLOAD: when the upload link stops working.')),
  durationsMs: z.object({
    upload: z.optional(z.number()),
    validation: z.optional(z.number()),
    queue: z.optional(z.number()),
    conversion: z.optional(z.number()),
    total: z.optional(z.number()),
  }),
  bundle: z.optional(BundleStatsViewSchema),
  error: z.optional(ErrorViewSchema),
  expiredReason: z.optional(z.enum(['UPLOAD_NOT_RECEIVED', 'RESULT_RETENTION']).check(z.describe('Why an EXPIRED job expired.'))),
  result: z.optional(ResultSummaryViewSchema),
  converter: z.optional(ConverterVersionSchema),
  webhook: z.optional(WebhookDeliveryViewSchema).check(z.describe('Present when the job has a callback URL: its delivery so far.')),
  retryAfterSeconds: z.optional(
    z.int().check(z.describe('While not terminal: seconds until the status is worth polling again (also sent as Retry-After).')),
  ),
});
export type JobView = z.infer<typeof JobViewSchema>;

export const UploadTicketSchema = z.object({
  url: z.string().check(z.describe('POST a multipart/form-data body here: every field of `fields`, then the file as `file`.')),
  fields: z.record(z.string(), z.string()).check(z.describe('Form fields to send before the file, unchanged.')),
  expiresAt: TimestampSchema,
  maxBytes: count,
});
export type UploadTicket = z.infer<typeof UploadTicketSchema>;

export const CreateJobResponseSchema = z.object({
  job: JobViewSchema,
  upload: z
    .optional(UploadTicketSchema)
    .check(z.describe('Absent only when an idempotent replay finds the job past AWAITING_UPLOAD or its upload window.')),
});
export type CreateJobResponse = z.infer<typeof CreateJobResponseSchema>;

export const ListJobsResponseSchema = z.object({
  jobs: z.array(JobViewSchema),
  nextToken: z.optional(z.string().check(z.describe('Present when there are more jobs: pass it as `nextToken` for the next page.'))),
});
export type ListJobsResponse = z.infer<typeof ListJobsResponseSchema>;

export const ResultLinkSchema = z.object({
  url: z.string().check(z.describe('Short-lived presigned GET of result.zip (no API key).')),
  expiresAt: TimestampSchema,
  filename: z.string(),
});
export type ResultLink = z.infer<typeof ResultLinkSchema>;

export const HealthResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  converter: ConverterVersionSchema,
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

/** GET /me: the caller's principal (core/principal.ts), as the authorizer established it. */
export const MeResponseSchema = z.object({
  id: z
    .string()
    .check(
      z.describe('Stable principal id: jobs and settings belong to it (`oidc:<issuer>#<sub>` for a person, the key id for a program).'),
    ),
  name: z.string().check(z.describe("Display name: the person's name or e-mail, or the name the key was registered with.")),
  kind: z.enum(PRINCIPAL_KINDS).check(z.describe('`person` (signed in with a bearer token) or `program` (an API key).')),
  role: z.enum(ROLES).check(z.describe('`user`, or `admin` for the admin routes.')),
});
export type MeResponse = z.infer<typeof MeResponseSchema>;

export const WebhookSettingsSchema = z.object({
  url: z.nullable(z.string()).check(z.describe('Default callback URL for jobs that name none.')),
  secretCreatedAt: z.nullable(TimestampSchema).check(z.describe('When the signing secret was created; null: none yet.')),
  previousSecretValidUntil: z
    .optional(TimestampSchema)
    .check(z.describe('After a rotation: until when deliveries are also signed with the previous secret.')),
});
export type WebhookSettings = z.infer<typeof WebhookSettingsSchema>;

export const PutWebhookRequestSchema = z.strictObject({
  url: z
    .nullable(z.string().check(z.minLength(1), z.maxLength(2048)))
    .check(z.describe('Default callback URL (checked like `callbackUrl`); null clears it.')),
});
export type PutWebhookRequest = z.infer<typeof PutWebhookRequestSchema>;

export const WebhookSecretSchema = z.object({
  secret: z
    .string()
    .check(z.describe('The signing secret, shown this once: `whsec_` and 43 base64url characters. HMAC key = this string.')),
  createdAt: TimestampSchema,
});
export type WebhookSecret = z.infer<typeof WebhookSecretSchema>;

/** The body POSTed to a callback URL. */
export const WebhookEventSchema = z.object({
  type: z.literal(WEBHOOK_EVENT_TYPE),
  id: z.string().check(z.describe('Event id (also in K2p-Event-Id): the same on every retry, so receivers can drop duplicates.')),
  createdAt: TimestampSchema,
  job: z.object({
    jobId: z.string(),
    status: JobStatusSchema,
    code: z.nullable(ErrorCodeSchema),
    workflowName: z.string(),
    resultExpiresAt: z.nullable(TimestampSchema),
    finishedAt: TimestampSchema,
  }),
});
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.optional(z.record(z.string(), z.unknown())),
    requestId: z.string().check(z.describe('Quote it when reporting a problem.')),
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

// ---------------------------------------------------------------- admin (role admin only; docs/api.md "Admin API")

const TimeBoundSchema = z.string().check(z.minLength(1), z.maxLength(64));
const timeBoundDescription = (which: string, fallback: string) =>
  `${which} of the range (inclusive): an ISO date-time with offset, or a span back from now like \`90m\`, \`24h\`, \`7d\`. Default: ${fallback}. A range is at most 366 days.`;

export const AdminTimeRangeQuerySchema = z.strictObject({
  since: z.optional(TimeBoundSchema).check(z.describe(timeBoundDescription('Start', '30 days before `until`'))),
  until: z.optional(TimeBoundSchema).check(z.describe(timeBoundDescription('End', 'now'))),
});

export type AdminTimeRange = z.infer<typeof AdminTimeRangeQuerySchema>;

export const AdminListJobsQuerySchema = z.strictObject({
  ...ListJobsQuerySchema.shape,
  ...AdminTimeRangeQuerySchema.shape,
  state: z.optional(JobStatusSchema).check(z.describe('Only jobs in this state.')),
  code: z.optional(ErrorCodeSchema).check(z.describe('Only jobs whose `error.code` is this (REJECTED, FAILED, TIMED_OUT jobs).')),
  owner: z
    .optional(z.string().check(z.minLength(1), z.maxLength(256)))
    .check(z.describe("Only jobs of this principal (its id: a person's `sub`, a program key's principal id).")),
});
export type AdminListJobsQuery = z.infer<typeof AdminListJobsQuerySchema>;

export const AdminJobViewSchema = z.object({
  ...JobViewSchema.shape,
  owner: z.string().check(z.describe('The principal id that created the job.')),
});
export type AdminJobView = z.infer<typeof AdminJobViewSchema>;

export const AdminListJobsResponseSchema = z.object({
  jobs: z.array(AdminJobViewSchema),
  nextToken: z.optional(
    z
      .string()
      .check(
        z.describe(
          'Present when more jobs may match: pass it, with the same filters and range, as `nextToken`. A filtered page may hold fewer than `limit` jobs and still have one.',
        ),
      ),
  ),
  since: TimestampSchema,
  until: TimestampSchema,
});
export type AdminListJobsResponse = z.infer<typeof AdminListJobsResponseSchema>;

export const AdminJobCountsResponseSchema = z.object({
  since: TimestampSchema,
  until: TimestampSchema,
  total: count.check(z.describe('Jobs created in the range.')),
  byState: z
    .object(Object.fromEntries(JOB_STATUSES.map((status) => [status, count])) as Record<(typeof JOB_STATUSES)[number], typeof count>)
    .check(z.describe('Jobs created in the range, by their state now (every state, zeros too).')),
  byCode: z
    .record(z.string(), count)
    .check(z.describe('Jobs created in the range whose `error.code` is the key (only codes with at least one job).')),
});
export type AdminJobCountsResponse = z.infer<typeof AdminJobCountsResponseSchema>;

export const JobHistoryEntrySchema = z.object({ status: JobStatusSchema, at: TimestampSchema });

export const AdminJobDetailSchema = z.object({
  job: AdminJobViewSchema,
  history: z
    .array(JobHistoryEntrySchema)
    .check(z.describe('Every state the job entered, oldest first, with when (jobs created before history was kept: from the timestamps).')),
  validation: z.object({
    verdict: z.enum(['pending', 'accepted', 'rejected']).check(z.describe('What bundle validation decided (pending: not yet).')),
    bundle: z.optional(BundleStatsViewSchema),
    error: z.optional(ErrorViewSchema).check(z.describe('Why the bundle was rejected.')),
  }),
  converter: z.nullable(ConverterVersionSchema).check(z.describe('The knime2py image and release that ran the job; null before it ran.')),
  report: z.nullable(ResultSummaryViewSchema).check(z.describe("The converter's report summary (SUCCEEDED jobs).")),
  log: z.object({
    available: z.boolean().check(z.describe("Whether the conversion's log.txt exists now.")),
    bytes: z.optional(count),
  }),
  cancelRequestedAt: z.optional(TimestampSchema),
  deletedAt: z.optional(TimestampSchema),
  deadlineAt: z.optional(TimestampSchema).check(z.describe('When the reaper ends the job if it is still moving.')),
});
export type AdminJobDetail = z.infer<typeof AdminJobDetailSchema>;

// ---------------------------------------------------------------- admin: keys, people, usage

/** A key's id in the admin API: the SHA-256 hex of its value (the registry's key; the value itself is never stored). */
export const KeyIdSchema = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'not a key id (64 lowercase hex digits)'));

/** A principal's display name as an admin gives it to a key. */
export const PrincipalNameSchema = z.string().check(
  z.minLength(1),
  z.maxLength(100),
  z.refine((name) => !/\p{Cc}/u.test(name), 'no control characters'),
);

export const KeyViewSchema = z.object({
  keyId: KeyIdSchema.check(z.describe("The key's id: the SHA-256 hex of its value. Safe to show; the value is never stored.")),
  principalId: z.string().check(z.describe('The principal the key belongs to; its jobs are owned by this id.')),
  name: z.string(),
  kind: z.enum(PRINCIPAL_KINDS),
  role: z.enum(ROLES),
  enabled: z.boolean().check(z.describe('false: refused (401) within the authorizer cache bound (60 s).')),
  createdAt: TimestampSchema,
  lastUsedAt: z.optional(TimestampSchema).check(z.describe('Last authorized request (written at most once a minute).')),
  rotatedFrom: z.optional(KeyIdSchema).check(z.describe('The key this one replaced by a rotation.')),
  jobsInFlight: count.check(z.describe("The principal's jobs holding a conversion slot now.")),
  conversionsToday: count.check(z.describe('Jobs the principal created today (UTC), as the daily limit counts them.')),
});
export type KeyView = z.infer<typeof KeyViewSchema>;

export const AdminListKeysQuerySchema = z.strictObject({
  ...ListJobsQuerySchema.shape,
  principalId: z.optional(z.string().check(z.minLength(1), z.maxLength(256))).check(z.describe("Only this principal's keys.")),
});

export const AdminListKeysResponseSchema = z.object({
  keys: z.array(KeyViewSchema).check(z.describe('Newest first.')),
  nextToken: z.optional(z.string().check(z.describe('Present when there are more keys: pass it as `nextToken`.'))),
});
export type AdminListKeysResponse = z.infer<typeof AdminListKeysResponseSchema>;

export const AdminCreateKeyRequestSchema = z.strictObject({
  name: PrincipalNameSchema.check(z.describe('Who the key is for, e.g. `ci-bot` (shown in listings, the audit trail and `GET /me`).')),
  role: z.optional(z.enum(ROLES)).check(z.describe('`user` (the default) or `admin`.')),
  principalId: z
    .optional(z.string().check(z.minLength(1), z.maxLength(256)))
    .check(z.describe('Give an existing program principal another key (its jobs stay its own); default: a new principal.')),
});
export type AdminCreateKeyRequest = z.infer<typeof AdminCreateKeyRequestSchema>;

/** POST /admin/keys and POST /admin/keys/{keyId}/rotate: the only answers that ever carry a key's value. */
export const AdminKeySecretResponseSchema = z.object({
  key: KeyViewSchema,
  value: z.string().check(z.describe('The key value, shown this once: store it now (`k2p-web login`). Only its hash is kept.')),
});
export type AdminKeySecretResponse = z.infer<typeof AdminKeySecretResponseSchema>;

export const AdminKeyResponseSchema = z.object({ key: KeyViewSchema });
export type AdminKeyResponse = z.infer<typeof AdminKeyResponseSchema>;

export const PersonStandingViewSchema = z.object({
  principalId: z.string().check(z.describe("The person's principal id (`oidc:<issuer>#<sub>`, as `GET /me` shows it).")),
  enabled: z.boolean().check(z.describe('false: refused (401) however valid their token, within 60 s.')),
  role: z.optional(z.enum(ROLES)).check(z.describe("Overrides the role their token's groups give; absent: the token decides.")),
  updatedAt: TimestampSchema,
});
export type PersonStandingView = z.infer<typeof PersonStandingViewSchema>;

export const AdminListPeopleResponseSchema = z.object({
  people: z.array(PersonStandingViewSchema).check(z.describe('Every person an operator has set a standing for.')),
  nextToken: z.optional(z.string()),
});
export type AdminListPeopleResponse = z.infer<typeof AdminListPeopleResponseSchema>;

export const AdminPutPersonRequestSchema = z.strictObject({
  enabled: z.optional(z.boolean()),
  role: z.optional(z.nullable(z.enum(ROLES))).check(z.describe("`null` removes the override: the token's groups decide again.")),
});
export type AdminPutPersonRequest = z.infer<typeof AdminPutPersonRequestSchema>;

export const AdminPersonResponseSchema = z.object({ person: PersonStandingViewSchema });

export const AdminUsageQuerySchema = AdminTimeRangeQuerySchema;

export const PrincipalUsageSchema = z.object({
  principalId: z.string(),
  name: z.optional(z.string()).check(z.describe('From the key registry, when the principal has a key.')),
  kind: z.optional(z.enum(PRINCIPAL_KINDS)),
  jobs: count.check(z.describe('Jobs created in the range.')),
  succeeded: count,
  failed: count.check(z.describe('FAILED or TIMED_OUT.')),
  rejected: count,
  cancelled: count,
  days: z
    .array(z.object({ date: z.string().check(z.describe('YYYY-MM-DD (UTC)')), jobs: count }))
    .check(z.describe('Jobs created per day, oldest first; days without jobs are left out.')),
});
export type PrincipalUsage = z.infer<typeof PrincipalUsageSchema>;

export const AdminUsageResponseSchema = z.object({
  since: TimestampSchema,
  until: TimestampSchema,
  principals: z.array(PrincipalUsageSchema).check(z.describe('Principals with at least one job in the range, most jobs first.')),
});
export type AdminUsageResponse = z.infer<typeof AdminUsageResponseSchema>;

export const AUDIT_ACTIONS = [
  'job.cancel',
  'job.delete',
  'key.create',
  'key.disable',
  'key.enable',
  'key.rotate',
  'key.delete',
  'person.update',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_OUTCOMES = ['succeeded', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const AuditEntrySchema = z.object({
  id: z.string(),
  at: TimestampSchema,
  who: z.object({ id: z.string(), name: z.string(), kind: z.enum(['person', 'program']), role: z.enum(['user', 'admin']) }),
  action: z.enum(AUDIT_ACTIONS),
  target: z.object({
    type: z.enum(['job', 'key', 'person']),
    id: z.string().check(z.describe('A job id, a key id (hash) or a principal id.')),
    owner: z.optional(z.string()).check(z.describe("The job's owner, when the job was found; for a key, the principal it belongs to.")),
    name: z.optional(z.string()).check(z.describe("A key's principal name.")),
  }),
  outcome: z
    .enum(AUDIT_OUTCOMES)
    .check(z.describe('succeeded; refused (an answer with an error code, e.g. NOT_FOUND, JOB_ALREADY_ENDED); failed (an internal error).')),
  code: z.optional(ErrorCodeSchema).check(z.describe('The error code of a refused or failed action.')),
  status: z.optional(JobStatusSchema).check(z.describe("The job's state after the action.")),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AdminListAuditQuerySchema = z.strictObject({
  ...ListJobsQuerySchema.shape,
  ...AdminTimeRangeQuerySchema.shape,
});

export const AdminListAuditResponseSchema = z.object({
  entries: z.array(AuditEntrySchema).check(z.describe('Newest first.')),
  nextToken: z.optional(z.string().check(z.describe('Present when there are more entries in the range: pass it as `nextToken`.'))),
  since: TimestampSchema,
  until: TimestampSchema,
});
export type AdminListAuditResponse = z.infer<typeof AdminListAuditResponseSchema>;
