/**
 * docs/openapi.yaml, built from the contracts in core/: the routes of
 * core/api-routes.ts, the shapes (and their descriptions) of
 * core/api-schemas.ts, the error codes of core/errors.ts. Everything else here
 * is prose, examples and which statuses each route can answer: what the
 * handlers and API Gateway (lib/api.ts) really send, checked by
 * test/integration/api-contract.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import * as z from 'zod/mini';
import { toJSONSchema } from 'zod/v4/core';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { API_ROUTES, API_STAGE, PUBLIC_HANDLERS, type ApiHandlerName } from '../core/api-routes';
import {
  AdminJobCountsResponseSchema,
  AdminJobDetailSchema,
  AdminJobViewSchema,
  AdminListAuditQuerySchema,
  AdminListAuditResponseSchema,
  AdminListJobsQuerySchema,
  AdminListJobsResponseSchema,
  AdminTimeRangeQuerySchema,
  AdminCreateKeyRequestSchema,
  AdminKeyResponseSchema,
  AdminKeySecretResponseSchema,
  AdminListKeysQuerySchema,
  AdminListKeysResponseSchema,
  AdminListPeopleResponseSchema,
  AdminPersonResponseSchema,
  AdminPutPersonRequestSchema,
  AdminUsageQuerySchema,
  AdminUsageResponseSchema,
  KeyIdSchema,
  KeyViewSchema,
  PersonStandingViewSchema,
  type AdminKeySecretResponse,
  type AdminUsageResponse,
  type KeyView,
  type PersonStandingView,
  AuditEntrySchema,
  type AdminJobCountsResponse,
  type AdminJobDetail,
  type AdminJobView,
  type AdminListAuditResponse,
  type AdminListJobsResponse,
  BundleStatsViewSchema,
  ConversionOptionsSchema,
  ConverterVersionSchema,
  CreateJobRequestSchema,
  CreateJobResponseSchema,
  ErrorCodeSchema,
  ErrorEnvelopeSchema,
  ErrorViewSchema,
  GetJobQuerySchema,
  HealthResponseSchema,
  MeResponseSchema,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAY_HEADER,
  IdempotencyKeySchema,
  JOB_WAIT_HEADER,
  JobIdSchema,
  JobStatusSchema,
  JobViewSchema,
  ListJobsQuerySchema,
  ListJobsResponseSchema,
  PutWebhookRequestSchema,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_EVENT_TYPE,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookDeliveryViewSchema,
  WebhookEventSchema,
  WebhookSecretSchema,
  WebhookSettingsSchema,
  MAX_JOB_WAIT_SECONDS,
  ResultLinkSchema,
  ResultQuerySchema,
  ResultSummaryViewSchema,
  TimestampSchema,
  UploadTicketSchema,
  type CreateJobResponse,
  type ErrorEnvelope,
  type HealthResponse,
  type MeResponse,
  type JobView,
  type ListJobsResponse,
  type ResultLink,
  type WebhookEvent,
  type WebhookSecret,
  type WebhookSettings,
} from '../core/api-schemas';
import { ERROR_CODES, ERRORS, type ErrorCode } from '../core/errors';
import { DEFAULT_PORT_BASE, SERVICE_PORTS } from '../local/host/ports';

const REPO_ROOT = join(import.meta.dirname, '..');
export const OPENAPI_FILE = join(REPO_ROOT, 'docs', 'openapi.yaml');

/** Local mode's API URL with default ports (`npm start`; docs/local-mode.md "Ports"). */
export const LOCAL_API_URL = `http://127.0.0.1:${DEFAULT_PORT_BASE + SERVICE_PORTS.indexOf('api')}/${API_STAGE}`;

const JSON_TYPE = 'application/json';
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** Retry-After: always sent (429, 503) or only while a job is still moving. */
function retryAfterHeader(required: boolean) {
  return {
    'Retry-After': { description: 'Seconds to wait before asking again.', required, schema: { type: 'integer' as const, minimum: 1 } },
  };
}

// ---------------------------------------------------------------- examples

const EXAMPLE_JOB_ID = 'mb1x9k2f0q7h3c5n8r2t4v6w1';
const EXAMPLE_REQUEST_ID = '6f0c3a52-9d1e-4b7a-8c2f-3e5d7a9b1c40';
const EXAMPLE_OPTIONS = { workbook: 'both', graph: 'both' } as const;

const EXAMPLE_AWAITING: JobView = {
  jobId: EXAMPLE_JOB_ID,
  status: 'AWAITING_UPLOAD',
  terminal: false,
  workflowName: 'Customer Churn',
  filename: 'Customer Churn.knwf',
  options: EXAMPLE_OPTIONS,
  createdAt: '2025-05-06T09:14:03.120Z',
  updatedAt: '2025-05-06T09:14:03.120Z',
  uploadExpiresAt: '2025-05-06T09:29:03.120Z',
  durationsMs: {},
  retryAfterSeconds: 5,
};

const EXAMPLE_SUCCEEDED: JobView = {
  ...EXAMPLE_AWAITING,
  status: 'SUCCEEDED',
  terminal: true,
  updatedAt: '2025-05-06T09:14:41.871Z',
  uploadExpiresAt: undefined,
  uploadedAt: '2025-05-06T09:14:05.310Z',
  queuedAt: '2025-05-06T09:14:05.902Z',
  startedAt: '2025-05-06T09:14:19.455Z',
  finishedAt: '2025-05-06T09:14:41.871Z',
  durationsMs: { upload: 2190, validation: 592, queue: 13553, conversion: 22416, total: 38751 },
  bundle: {
    entries: 5,
    files: 5,
    zipBytes: 9381,
    unpackedBytes: 61220,
    sha256: '0d6f1c9e4b2a7f3e8c5d1a9b6e2f4c8a7d3b5e1f9c2a6d8e4b7f1c3a5e9d2b6f',
    nodes: 4,
    referencedSettings: 4,
    nestedWorkflows: [],
  },
  result: {
    components: 1,
    nodes: 4,
    edges: 3,
    idle: 0,
    notImplemented: 1,
    notImplementedNames: ['Line Plot'],
    files: ['Customer Churn/workflow.py', 'Customer Churn/workflow.ipynb', 'Customer Churn/graph.json', 'Customer Churn/graph.dot'],
    resultBytes: 14873,
    expiresAt: '2025-05-13T09:14:41.871Z',
    downloadPath: `/jobs/${EXAMPLE_JOB_ID}/result`,
  },
  converter: { image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11', version: '0.1.11' },
  retryAfterSeconds: undefined,
};

const EXAMPLE_DELETED: JobView = {
  ...EXAMPLE_SUCCEEDED,
  status: 'DELETED',
  updatedAt: '2025-05-06T10:02:17.004Z',
  result: undefined,
};

const EXAMPLE_CANCELLING: JobView = {
  ...EXAMPLE_AWAITING,
  status: 'CANCELLING',
  updatedAt: '2025-05-06T09:14:25.310Z',
  uploadExpiresAt: undefined,
  uploadedAt: '2025-05-06T09:14:05.310Z',
  queuedAt: '2025-05-06T09:14:05.902Z',
  startedAt: '2025-05-06T09:14:19.455Z',
  durationsMs: { upload: 2190, validation: 592, queue: 13553 },
  retryAfterSeconds: 2,
};

const EXAMPLE_CANCELLED: JobView = {
  ...EXAMPLE_CANCELLING,
  status: 'CANCELLED',
  terminal: true,
  updatedAt: '2025-05-06T09:14:27.020Z',
  finishedAt: '2025-05-06T09:14:27.020Z',
  durationsMs: { upload: 2190, validation: 592, queue: 13553, conversion: 7565, total: 23900 },
  retryAfterSeconds: undefined,
};

const EXAMPLE_CREATED: CreateJobResponse = {
  job: EXAMPLE_AWAITING,
  upload: {
    url: 'https://k2pweb-data-123456789012-eu-central-1.s3.eu-central-1.amazonaws.com/',
    fields: {
      key: `bundles/${EXAMPLE_JOB_ID}/bundle.zip`,
      'Content-Type': 'application/zip',
      bucket: 'k2pweb-data-123456789012-eu-central-1',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'ASIAEXAMPLE/20250506/eu-central-1/s3/aws4_request',
      'X-Amz-Date': '20250506T091403Z',
      'X-Amz-Security-Token': 'IQoJb3JpZ2luX2VjE…',
      Policy: 'eyJleHBpcmF0aW9uIjoiMjAyNS0wNS0wNlQwOToyOTowMy4xMjBaIiwiY29uZGl0aW9ucyI6W119',
      'X-Amz-Signature': '5f0e9c1b7a3d2e8f4c6b1a9d7e3f5c2b8a4d6e1f9c3b7a5d2e8f4c6b1a9d7e3f',
    },
    expiresAt: '2025-05-06T09:29:03.120Z',
    maxBytes: 52_428_800,
  },
};

const EXAMPLE_PAGE: ListJobsResponse = {
  jobs: [EXAMPLE_AWAITING],
  nextToken: 'eyJwayI6ImpvYiNtYjF4OWsyZjBxN2gzYzVuOHIydDR2NncxIiwib3duZXIiOiJhYmMxMjMiLCJjcmVhdGVkQXQiOiIyMDI1In0',
};

const EXAMPLE_OWNER = 'a1b2c3d4-5e6f-4a8b-9c0d-1e2f3a4b5c6d';
const EXAMPLE_ADMIN_FAILED: AdminJobView = {
  ...EXAMPLE_SUCCEEDED,
  status: 'FAILED',
  result: undefined,
  error: {
    code: 'CONVERTER_PARSE_ERROR',
    message: ERRORS.CONVERTER_PARSE_ERROR.message,
    hint: ERRORS.CONVERTER_PARSE_ERROR.hint,
    details: { exitCode: 3 },
  },
  owner: EXAMPLE_OWNER,
};

const EXAMPLE_ADMIN_PAGE: AdminListJobsResponse = {
  jobs: [EXAMPLE_ADMIN_FAILED],
  nextToken: 'eyJwIjoiQ09OVkVSVEVSX1BBUlNFX0VSUk9SIn0',
  since: '2025-05-05T09:30:00.000Z',
  until: '2025-05-06T09:30:00.000Z',
};

const EXAMPLE_COUNTS: AdminJobCountsResponse = {
  since: '2025-05-05T09:30:00.000Z',
  until: '2025-05-06T09:30:00.000Z',
  total: 42,
  byState: {
    AWAITING_UPLOAD: 1,
    VALIDATING: 0,
    QUEUED: 0,
    RUNNING: 1,
    SUCCEEDED: 33,
    REJECTED: 3,
    FAILED: 2,
    TIMED_OUT: 0,
    EXPIRED: 1,
    DELETED: 1,
    CANCELLING: 0,
    CANCELLED: 0,
  },
  byCode: { SETTINGS_MISSING: 2, ZIP_CORRUPT: 1, CONVERTER_PARSE_ERROR: 2 },
};

const EXAMPLE_DETAIL: AdminJobDetail = {
  job: EXAMPLE_ADMIN_FAILED,
  history: [
    { status: 'AWAITING_UPLOAD', at: '2025-05-06T09:14:03.120Z' },
    { status: 'VALIDATING', at: '2025-05-06T09:14:05.310Z' },
    { status: 'QUEUED', at: '2025-05-06T09:14:05.902Z' },
    { status: 'RUNNING', at: '2025-05-06T09:14:19.455Z' },
    { status: 'FAILED', at: '2025-05-06T09:14:41.871Z' },
  ],
  validation: { verdict: 'accepted', bundle: EXAMPLE_SUCCEEDED.bundle },
  converter: EXAMPLE_SUCCEEDED.converter!,
  report: null,
  log: { available: true, bytes: 2381 },
};

const EXAMPLE_AUDIT: AdminListAuditResponse = {
  entries: [
    {
      id: '7d7c1f3a-2b9e-4f61-8a0c-5e4d3b2a1f09',
      at: '2025-05-06T09:20:00.000Z',
      who: { id: 'f0e1d2c3-b4a5-4968-8776-655443322110', name: 'ops@example.com', kind: 'person', role: 'admin' },
      action: 'job.cancel',
      target: { type: 'job', id: EXAMPLE_JOB_ID, owner: EXAMPLE_OWNER },
      outcome: 'refused',
      code: 'JOB_ALREADY_ENDED',
    },
  ],
  since: '2025-05-05T09:30:00.000Z',
  until: '2025-05-06T09:30:00.000Z',
};

const EXAMPLE_LOG = `$ k2p 'Customer Churn' --out .\n== knime2py stderr (0 bytes) ==\n== knime2py stdout (412 bytes) ==\n{"workflow": "Customer Churn/workflow.knime", …}\n`;

const EXAMPLE_KEY: KeyView = {
  keyId: '3f9a0c5be1d84c7a96b2e0f4d1a3c5b7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8',
  principalId: '5b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
  name: 'ci-bot',
  kind: 'program',
  role: 'user',
  enabled: true,
  createdAt: '2025-05-01T08:00:00.000Z',
  lastUsedAt: '2025-05-06T09:14:03.000Z',
  jobsInFlight: 1,
  conversionsToday: 12,
};

const EXAMPLE_KEY_SECRET: AdminKeySecretResponse = {
  key: { ...EXAMPLE_KEY, lastUsedAt: undefined, jobsInFlight: 0, conversionsToday: 0, createdAt: '2025-05-06T09:30:00.000Z' },
  value: 'k2p_Jx3v9QmT0aLr7Wc2Nf5Hs8Kd1Yb4Ge6Pu0Zi3Ox7Vq2',
};

const EXAMPLE_PERSON: PersonStandingView = {
  principalId: 'oidc:https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbCdEf123#8c1f2e3d-4a5b-4c6d-9e8f-0a1b2c3d4e5f',
  enabled: false,
  updatedAt: '2025-05-06T09:31:00.000Z',
};

const EXAMPLE_USAGE: AdminUsageResponse = {
  since: '2025-04-29T09:30:00.000Z',
  until: '2025-05-06T09:30:00.000Z',
  principals: [
    {
      principalId: EXAMPLE_KEY.principalId,
      name: 'ci-bot',
      kind: 'program',
      jobs: 57,
      succeeded: 51,
      failed: 3,
      rejected: 2,
      cancelled: 1,
      days: [
        { date: '2025-05-05', jobs: 45 },
        { date: '2025-05-06', jobs: 12 },
      ],
    },
  ],
};

const EXAMPLE_LINK: ResultLink = {
  url: `https://k2pweb-data-123456789012-eu-central-1.s3.eu-central-1.amazonaws.com/results/${EXAMPLE_JOB_ID}/result.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=…`,
  expiresAt: '2025-05-06T09:20:12.000Z',
  filename: 'Customer Churn-k2p.zip',
};

const EXAMPLE_WEBHOOK: WebhookSettings = {
  url: 'https://ci.example.com/k2p-events',
  secretCreatedAt: '2025-05-06T08:00:00.000Z',
  previousSecretValidUntil: '2025-05-07T08:00:00.000Z',
};

const EXAMPLE_SECRET: WebhookSecret = {
  secret: 'whsec_eqRkw83xhDLeVvSaiH5awd6LsJp6lCbB2mqx1E-hrIw',
  createdAt: '2025-05-06T08:00:00.000Z',
};

const EXAMPLE_EVENT: WebhookEvent = {
  type: 'job.finished',
  id: '0b7c2f8e-51d4-4c1e-9a63-2f4d8e1b7a90',
  createdAt: '2025-05-06T09:14:41.871Z',
  job: {
    jobId: EXAMPLE_JOB_ID,
    status: 'SUCCEEDED',
    code: null,
    workflowName: 'Customer Churn',
    resultExpiresAt: '2025-05-13T09:14:41.871Z',
    finishedAt: '2025-05-06T09:14:41.871Z',
  },
};

/** What the service POSTs to a callback URL (OpenAPI 3.1 `webhooks`). */
const JOB_FINISHED_WEBHOOK: ZodOpenApiOperationObject = {
  operationId: 'jobFinished',
  tags: ['webhooks'],
  summary: 'Sent once, when a job reaches its first terminal state.',
  description: [
    "POSTed to the job's `callbackUrl` (or the API key's default URL). Verify the signature before trusting the body;",
    'drop events whose id you have seen (retries repeat it) or whose `t` is far from your clock. No presigned URL and no',
    'secret is ever sent: fetch the result with `GET /jobs/{id}/result` and your API key.',
  ].join('\n'),
  requestParams: {
    header: z.object({
      [WEBHOOK_SIGNATURE_HEADER]: z
        .string()
        .check(
          z.describe(
            '`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`; during 24 hours after a rotation a second `v1=` made with the previous secret follows.',
          ),
        ),
      [WEBHOOK_EVENT_ID_HEADER]: z.string().check(z.describe('The event id (same as `id` in the body, the same on every retry).')),
      'User-Agent': z.string().check(z.describe('`k2p-web-webhooks/<service version>`.')),
    }),
  },
  requestBody: { required: true, content: json(WebhookEventSchema, EXAMPLE_EVENT) },
  responses: {
    '200': {
      description:
        'Any 2xx marks the event delivered. Any other status (3xx too: redirects are not followed), or no answer within 10 s, is a failed attempt: retried after 30 s, doubling up to hourly, for at least 24 hours.',
    },
  },
};

const EXAMPLE_ME: MeResponse = {
  id: 'oidc:https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Ab12Cd34E#8d2f6b1e-52b3-4c6e-9a0e-3f1d2c4b5a69',
  name: 'ada@example.com',
  kind: 'person',
  role: 'user',
};

const EXAMPLE_HEALTH: HealthResponse = {
  status: 'ok',
  version: '0.1.0',
  converter: { image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11', version: '0.1.11' },
};

/** JSON has no `undefined`: the examples say exactly what goes over the wire. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function errorExample(code: ErrorCode, message: string = ERRORS[code].message, details?: Record<string, unknown>): ErrorEnvelope {
  return { error: { code, message, ...(details ? { details } : {}), requestId: EXAMPLE_REQUEST_ID } };
}

// ---------------------------------------------------------------- error responses

interface ErrorResponseSpec {
  /** Component name under #/components/responses. */
  name: string;
  codes: readonly ErrorCode[];
  description: string;
  /** Whether the response carries Retry-After (always, sometimes). */
  retryAfter?: 'required' | 'optional';
  example: ErrorEnvelope;
}

/** Every error status a route may answer, with the codes it carries and who sends it. */
const ERROR_RESPONSES = {
  400: {
    name: 'InvalidRequest',
    codes: ['INVALID_REQUEST'],
    description:
      '`INVALID_REQUEST`: the body, a header or a query parameter is not valid. From the function, `details.issues` lists each field (`path`, `message`), or `details` names the `header` or `field`; from the gateway, `details.validation` says what failed.',
    example: errorExample('INVALID_REQUEST', ERRORS.INVALID_REQUEST.message, {
      issues: [{ path: 'options.workbook', message: 'Invalid option: expected one of "py"|"ipynb"|"both"' }],
    }),
  },
  401: {
    name: 'Unauthorized',
    codes: ['UNAUTHORIZED'],
    description: '`UNAUTHORIZED` (from the authorizer): no API key in `x-api-key`, or one that is not registered or is disabled.',
    example: errorExample('UNAUTHORIZED', 'The API key is missing, unknown or disabled.'),
  },
  403: {
    name: 'Forbidden',
    codes: ['FORBIDDEN'],
    description: '`FORBIDDEN` (from the gateway): a registered key that is not valid for this request (in no usage plan of the API).',
    example: errorExample('FORBIDDEN', 'The API key is missing or not valid for this request.'),
  },
  404: {
    name: 'NotFound',
    codes: ['NOT_FOUND'],
    description: "`NOT_FOUND`: no such job for this API key (another key's job, an unknown id and a malformed id look alike).",
    example: errorExample('NOT_FOUND'),
  },
  409: {
    name: 'ResultNotReady',
    codes: ['RESULT_NOT_READY'],
    description:
      '`RESULT_NOT_READY`: the job has no result (yet); `details.status` is its status. While the job is still moving, `Retry-After` says when to ask again; a job that ended without a result (REJECTED, FAILED, TIMED_OUT) never gets one.',
    retryAfter: 'optional',
    example: errorExample('RESULT_NOT_READY', ERRORS.RESULT_NOT_READY.message, { status: 'RUNNING' }),
  },
  410: {
    name: 'ResultGone',
    codes: ['RESULT_GONE'],
    description: '`RESULT_GONE`: the result was removed (retention expired, or the job was deleted).',
    example: errorExample('RESULT_GONE'),
  },
  413: {
    name: 'RequestTooLarge',
    codes: ['INVALID_REQUEST'],
    description: '`INVALID_REQUEST` (from the gateway): the request is over 10 MB. Bundles go to the presigned POST, never to the API.',
    example: errorExample('INVALID_REQUEST', 'The request is too large. Upload bundles with the presigned POST, not to the API.'),
  },
  422: {
    name: 'Unprocessable',
    codes: ['BUNDLE_TOO_LARGE', 'CALLBACK_URL_REFUSED'],
    description:
      '`BUNDLE_TOO_LARGE`: the declared `sizeBytes` is over the upload limit (`details.sizeBytes`, `details.maxBytes`). `CALLBACK_URL_REFUSED`: the callback URL may not be reached — the message and `details.reason` say why (not https, credentials in the URL, a port other than 443/8443, a host that does not resolve or resolves to a private, loopback, link-local, unique-local or metadata address); `details.field` names the field.',
    example: errorExample('BUNDLE_TOO_LARGE', 'The bundle is 62914560 bytes; the upload limit is 52428800 bytes.', {
      sizeBytes: 62_914_560,
      maxBytes: 52_428_800,
    }),
  },
  429: {
    name: 'RateLimited',
    codes: ['RATE_LIMITED'],
    description:
      '`RATE_LIMITED`: the caller (a person or a program: its principal) has too many jobs in flight (POST /jobs, `details.limit`) or has started its conversions for the UTC day (POST /jobs, `details.limit`, `details.period: "day"`, `details.resetsAt`; `Retry-After` is the time to 00:00 UTC, at most 3600 s), or the gateway throttled the request (usage plan rate or daily quota, stage limit, per-address WAF rule). Wait `Retry-After` seconds.',
    retryAfter: 'required',
    example: errorExample('RATE_LIMITED', 'You already have 5 jobs in flight, the most allowed per user or program.', { limit: 5 }),
  },
  500: {
    name: 'InternalError',
    codes: ['INTERNAL_ERROR'],
    description: '`INTERNAL_ERROR`: the function failed (nothing internal is disclosed; quote `requestId`).',
    example: errorExample('INTERNAL_ERROR'),
  },
  502: {
    name: 'BadGateway',
    codes: ['INTERNAL_ERROR'],
    description: '`INTERNAL_ERROR` (from the gateway): the function crashed or returned something the gateway could not use.',
    example: errorExample('INTERNAL_ERROR'),
  },
  503: {
    name: 'Unavailable',
    codes: ['SERVER_BUSY', 'AUTH_UNAVAILABLE'],
    description:
      '`SERVER_BUSY` (POST /jobs): the service has as many jobs in flight as it admits (`details.limit`), or a request with the same Idempotency-Key is still being processed. `AUTH_UNAVAILABLE` (from the gateway, every route but GET /health): the authorizer could not decide — a bearer token could not be checked because the identity provider cannot be reached — so the request is refused. Wait `Retry-After` seconds.',
    retryAfter: 'required',
    example: errorExample('SERVER_BUSY', ERRORS.SERVER_BUSY.message, { limit: 20 }),
  },
  504: {
    name: 'GatewayTimeout',
    codes: ['INTERNAL_ERROR'],
    description: '`INTERNAL_ERROR` (from the gateway): the function did not answer within 29 seconds.',
    example: errorExample('INTERNAL_ERROR'),
  },
} as const satisfies Record<number, ErrorResponseSpec>;

type ErrorStatus = keyof typeof ERROR_RESPONSES;

/** Error responses only some routes give, where their status means something else elsewhere. */
const ROUTE_ERROR_RESPONSES = {
  webhookNotConfigured: {
    status: 409,
    name: 'WebhookNotConfigured',
    codes: ['WEBHOOK_NOT_CONFIGURED'],
    description:
      '`WEBHOOK_NOT_CONFIGURED`: the job names a callback URL (or the API key has a default one) but the key has no signing secret: POST /webhook/secret first.',
    example: errorExample('WEBHOOK_NOT_CONFIGURED', ERRORS.WEBHOOK_NOT_CONFIGURED.message, { hint: 'POST /webhook/secret first' }),
  },
  jobAlreadyEnded: {
    status: 409,
    name: 'JobAlreadyEnded',
    codes: ['JOB_ALREADY_ENDED'],
    description:
      '`JOB_ALREADY_ENDED`: the job ended before the cancel (SUCCEEDED, REJECTED, FAILED, TIMED_OUT, EXPIRED or DELETED); `details.status` says how.',
    example: errorExample('JOB_ALREADY_ENDED', 'The job has already ended (SUCCEEDED), so it cannot be cancelled.', {
      status: 'SUCCEEDED',
    }),
  },
  logNotAvailable: {
    status: 409,
    name: 'LogNotAvailable',
    codes: ['LOG_NOT_AVAILABLE'],
    description:
      '`LOG_NOT_AVAILABLE`: the job has no log — it has not run yet (`Retry-After` while it runs), was rejected before running, or its data was deleted or expired; `details.status` is its status.',
    retryAfter: 'optional',
    example: errorExample('LOG_NOT_AVAILABLE', ERRORS.LOG_NOT_AVAILABLE.message, { status: 'QUEUED' }),
  },
} as const satisfies Record<string, ErrorResponseSpec & { status: number }>;

function routeErrors(...names: (keyof typeof ROUTE_ERROR_RESPONSES)[]): Record<string, { $ref: string }> {
  return Object.fromEntries(
    names.map((name) => [String(ROUTE_ERROR_RESPONSES[name].status), responseRef(ROUTE_ERROR_RESPONSES[name].name)]),
  );
}

/** Gateway failures any route can meet, and its throttling. */
const GATEWAY_FAILURES = [429, 502, 504] as const satisfies readonly ErrorStatus[];
/** Every authorized route: the authorizer (401, 503), the gateway's key check, the function's own check, the function failing. */
const KEYED = [401, 403, 500, 503, ...GATEWAY_FAILURES] as const satisfies readonly ErrorStatus[];

function errorResponse(spec: ErrorResponseSpec): ZodOpenApiResponseObject {
  return {
    description: spec.description,
    ...(spec.retryAfter ? { headers: retryAfterHeader(spec.retryAfter === 'required') } : {}),
    content: {
      [JSON_TYPE]: {
        // The envelope, narrowed to the codes this status carries.
        schema: z.intersection(ErrorEnvelopeSchema, z.looseObject({ error: z.looseObject({ code: z.enum(spec.codes) }) })),
        example: spec.example,
      },
    },
  };
}

function errors(statuses: readonly ErrorStatus[]): Record<string, { $ref: string }> {
  return Object.fromEntries([...new Set(statuses)].map((status) => [String(status), responseRef(ERROR_RESPONSES[status].name)]));
}

// ---------------------------------------------------------------- operations

const jobIdPath = { path: z.object({ id: JobIdSchema.check(z.describe('The job id (`job.jobId` from POST /jobs).')) }) };
const keyIdPath = { path: z.object({ keyId: KeyIdSchema.check(z.describe('The key id (`keyId` from GET /admin/keys).')) }) };

function json(schema: z.core.$ZodType, example: unknown) {
  return { [JSON_TYPE]: { schema, example: wire(example) } };
}

const OPERATIONS: Record<ApiHandlerName, Omit<ZodOpenApiOperationObject, 'operationId'>> = {
  createJob: {
    tags: ['jobs'],
    summary: 'Admit a job and get a presigned upload for its bundle.',
    description: [
      'Admission control: at most `LIMIT_GLOBAL_IN_FLIGHT` jobs in flight overall (503 `SERVER_BUSY` beyond) and',
      '`LIMIT_PER_PRINCIPAL_IN_FLIGHT` per principal (person or program) and `LIMIT_PER_PRINCIPAL_PER_DAY` jobs admitted',
      'per principal per UTC day (429 `RATE_LIMITED`), all with `Retry-After`. A job still waiting for its upload holds',
      'its slots until its upload window has closed (plus 2 minutes), not longer.',
      '',
      'Upload the bundle by POSTing a `multipart/form-data` body to `upload.url` with every field of `upload.fields`',
      '(unchanged, in any order) followed by the file as `file`, before `upload.expiresAt`. The policy fixes the key,',
      'the content type (`application/zip`) and the size (1 … `upload.maxBytes` bytes); S3 answers 204.',
      'The job then moves on by itself: follow it with `GET /jobs/{id}`.',
    ].join('\n'),
    requestParams: {
      header: z.object({
        [IDEMPOTENCY_KEY_HEADER]: z.optional(
          IdempotencyKeySchema.check(
            z.describe(
              'The same key from the same API key within 24 hours returns the same job (201 with `Idempotent-Replayed: true`, and a fresh upload link while the job still awaits its upload); reusing a key for a different request is 400.',
            ),
          ),
        ),
      }),
    },
    requestBody: {
      required: false,
      description: 'May be empty: the workflow name is then `workflow` and both options `both`.',
      content: json(CreateJobRequestSchema, { filename: 'Customer Churn.knwf', sizeBytes: 9381, options: { workbook: 'py' } }),
    },
    responses: {
      '201': {
        description: 'The job, awaiting its upload, and where to upload (or, for a replayed Idempotency-Key, the earlier job).',
        headers: {
          Location: { description: 'Path of the job, relative to the API base URL.', required: true, schema: { type: 'string' } },
          [IDEMPOTENT_REPLAY_HEADER]: {
            description: '`true` when an earlier request with the same Idempotency-Key created the job.',
            schema: { type: 'string', enum: ['true'] },
          },
        },
        content: json(CreateJobResponseSchema, EXAMPLE_CREATED),
      },
      ...errors([400, 413, 422, 503, ...KEYED]),
      ...routeErrors('webhookNotConfigured'),
    },
  },
  listJobs: {
    tags: ['jobs'],
    summary: "The caller's jobs, newest first, a page at a time.",
    description:
      "Follow `nextToken` until a page has none. Only jobs of the calling API key are listed; the web page's public key may not list (429).",
    requestParams: { query: ListJobsQuerySchema },
    responses: {
      '200': { description: 'One page of jobs.', content: json(ListJobsResponseSchema, EXAMPLE_PAGE) },
      ...errors([400, ...KEYED]),
    },
  },
  getJob: {
    tags: ['jobs'],
    summary: "The job's status, timings, bundle stats, error and result summary.",
    description: [
      'Poll until `terminal` is true, waiting `Retry-After` seconds between requests. A REJECTED, FAILED or TIMED_OUT job has an `error` with its code, message, hint and details.',
      '',
      `Or long-poll: with \`waitSeconds\` (at most ${MAX_JOB_WAIT_SECONDS}) the answer comes as soon as the status changes, and the next request can follow at once;`,
      `the answer then carries \`${JOB_WAIT_HEADER}\` (a server without it did not wait: fall back to \`Retry-After\`).`,
    ].join('\n'),
    requestParams: { ...jobIdPath, query: GetJobQuerySchema },
    responses: {
      '200': {
        description: 'The job. While it is not terminal, `Retry-After` (and `retryAfterSeconds`) say when to poll again.',
        headers: {
          ...retryAfterHeader(false),
          [JOB_WAIT_HEADER]: {
            description: 'Sent when the request asked for `waitSeconds`: the longest the server held it (seconds, ≤ `waitSeconds`).',
            required: false,
            schema: { type: 'integer' as const, minimum: 0, maximum: MAX_JOB_WAIT_SECONDS },
          },
        },
        content: json(JobViewSchema, EXAMPLE_SUCCEEDED),
      },
      ...errors([400, 404, ...KEYED]),
    },
  },
  deleteJob: {
    tags: ['jobs'],
    summary: 'Delete the bundle and the result now and mark the job DELETED (idempotent).',
    description: [
      'A job whose conversion task is running is cancelled first: the answer is 202 with the job CANCELLING, and it becomes',
      'DELETED (data deleted, slot freed) once the task has really stopped. Any other job is DELETED at once (200) and its slot',
      'freed. Deleting a deleted job answers the same.',
    ].join('\n'),
    requestParams: jobIdPath,
    responses: {
      '200': { description: 'The job, now DELETED.', content: json(JobViewSchema, EXAMPLE_DELETED) },
      '202': {
        description: 'The job, CANCELLING: its task is being stopped; it ends DELETED.',
        content: json(JobViewSchema, EXAMPLE_CANCELLING),
      },
      ...errors([404, ...KEYED]),
    },
  },
  getResult: {
    tags: ['jobs'],
    summary: 'Download result.zip through a short-lived link.',
    description:
      'The link is a presigned S3 GET (no API key) valid for at most 5 minutes; the download is served as `attachment; filename="<workflow>-k2p.zip"`.',
    requestParams: { ...jobIdPath, query: ResultQuerySchema },
    responses: {
      '200': { description: 'The link as JSON (with `redirect=false`).', content: json(ResultLinkSchema, EXAMPLE_LINK) },
      '302': {
        description: 'Redirect to the download (without `redirect=false`).',
        headers: { Location: { description: 'The presigned download URL.', required: true, schema: { type: 'string', format: 'uri' } } },
      },
      ...errors([400, 404, 409, 410, ...KEYED]),
    },
  },
  cancelJob: {
    tags: ['jobs'],
    summary: 'Cancel a job that has not ended (idempotent).',
    description: [
      'Before its conversion task starts (AWAITING_UPLOAD, VALIDATING, QUEUED) the job ends CANCELLED at once and the task',
      'never starts (200). While the task runs (RUNNING), the execution and the task with it are stopped and the job is',
      'CANCELLING (202) until the task has really stopped; only then is it CANCELLED and its capacity slot freed. Cancelling a',
      'CANCELLING job answers 202 again, a CANCELLED one 200; a job that ended otherwise is 409 `JOB_ALREADY_ENDED`.',
      'A cancel racing the natural end leaves exactly one terminal state.',
    ].join('\n'),
    requestParams: jobIdPath,
    responses: {
      '200': { description: 'The job, now (or already) CANCELLED.', content: json(JobViewSchema, EXAMPLE_CANCELLED) },
      '202': {
        description: 'The job, CANCELLING: its task is being stopped; poll `GET /jobs/{id}` until it is CANCELLED.',
        headers: retryAfterHeader(false),
        content: json(JobViewSchema, EXAMPLE_CANCELLING),
      },
      ...routeErrors('jobAlreadyEnded'),
      ...errors([404, ...KEYED]),
    },
  },
  health: {
    tags: ['service'],
    summary: 'Service and converter versions (no API key).',
    responses: {
      '200': { description: 'The service is up.', content: json(HealthResponseSchema, EXAMPLE_HEALTH) },
      ...errors(GATEWAY_FAILURES),
    },
  },
  getWebhook: {
    tags: ['webhooks'],
    summary: "The API key's default callback URL and when its signing secret was created (never the secret).",
    responses: {
      '200': { description: 'The settings (nulls when nothing is set).', content: json(WebhookSettingsSchema, EXAMPLE_WEBHOOK) },
      ...errors(KEYED),
    },
  },
  putWebhook: {
    tags: ['webhooks'],
    summary: 'Set or clear the default callback URL, used for jobs that name no `callbackUrl`.',
    description: 'The URL is checked as at job creation (https, public addresses only unless the operator allows more).',
    requestBody: { required: true, content: json(PutWebhookRequestSchema, { url: EXAMPLE_WEBHOOK.url }) },
    responses: {
      '200': {
        description: 'The settings now.',
        content: json(WebhookSettingsSchema, { ...EXAMPLE_WEBHOOK, previousSecretValidUntil: undefined }),
      },
      ...errors([400, 422, ...KEYED]),
    },
  },
  rotateWebhookSecret: {
    tags: ['webhooks'],
    summary: 'Create or rotate the signing secret; the answer is the only time it is shown.',
    description: [
      `Every event is signed: \`${WEBHOOK_SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>\`, with the`,
      `event id in \`${WEBHOOK_EVENT_ID_HEADER}\`. For 24 hours after a rotation each delivery carries a second \`v1=\`,`,
      'made with the previous secret, so receivers can switch over. Verification snippets: docs/api.md "Webhooks".',
    ].join('\n'),
    responses: {
      '201': { description: 'The new secret (store it now).', content: json(WebhookSecretSchema, EXAMPLE_SECRET) },
      ...errors(KEYED),
    },
  },
  adminListJobs: {
    tags: ['admin'],
    summary: 'Jobs of every owner, newest first, filtered by state, error code, owner and creation time.',
    description: [
      'Admin role only (anyone else: 403 `FORBIDDEN`). Served by indexes (never a table scan): `code` by the error-code',
      'index, else `owner` by the owner index, else `state` by the status index, else the creation-month index; the other',
      'filters narrow that. The range is on `createdAt`. Follow `nextToken` with the same filters and range; a filtered',
      'page may hold fewer than `limit` jobs and still carry one. Reading is not audited.',
    ].join('\n'),
    requestParams: { query: AdminListJobsQuerySchema },
    responses: {
      '200': {
        description: 'One page of jobs, each with its owner, and the range used.',
        content: json(AdminListJobsResponseSchema, EXAMPLE_ADMIN_PAGE),
      },
      ...errors([400, ...KEYED]),
    },
  },
  adminJobCounts: {
    tags: ['admin'],
    summary: 'How many jobs created in the range are in each state, and carry each error code.',
    description: 'Admin role only. Exact at the time of asking: one count per state and per code, each from its index partition.',
    requestParams: { query: AdminTimeRangeQuerySchema },
    responses: {
      '200': { description: 'The counts and the range used.', content: json(AdminJobCountsResponseSchema, EXAMPLE_COUNTS) },
      ...errors([400, ...KEYED]),
    },
  },
  adminGetJob: {
    tags: ['admin'],
    summary: 'One job of any owner in full: owner, timeline of states, validation verdict, converter, report, log availability.',
    description: 'Admin role only. Reading is not audited.',
    requestParams: jobIdPath,
    responses: {
      '200': { description: 'The job.', content: json(AdminJobDetailSchema, EXAMPLE_DETAIL) },
      ...errors([404, ...KEYED]),
    },
  },
  adminCancelJob: {
    tags: ['admin'],
    summary: "Cancel any owner's job, exactly as its owner's `POST /jobs/{id}/cancel` would; audited.",
    description: 'Admin role only. Every call, whatever its outcome, writes an audit entry (`GET /admin/audit`).',
    requestParams: jobIdPath,
    responses: {
      '200': {
        description: 'The job, now (or already) CANCELLED.',
        content: json(AdminJobViewSchema, { ...EXAMPLE_CANCELLED, owner: EXAMPLE_OWNER }),
      },
      '202': {
        description: 'The job, CANCELLING: its task is being stopped.',
        content: json(AdminJobViewSchema, { ...EXAMPLE_CANCELLING, owner: EXAMPLE_OWNER }),
      },
      ...routeErrors('jobAlreadyEnded'),
      ...errors([404, ...KEYED]),
    },
  },
  adminDeleteJob: {
    tags: ['admin'],
    summary: "Delete any owner's job, exactly as its owner's `DELETE /jobs/{id}` would; audited.",
    description: 'Admin role only. Every call, whatever its outcome, writes an audit entry (`GET /admin/audit`).',
    requestParams: jobIdPath,
    responses: {
      '200': { description: 'The job, now DELETED.', content: json(AdminJobViewSchema, { ...EXAMPLE_DELETED, owner: EXAMPLE_OWNER }) },
      '202': {
        description: 'The job, CANCELLING: its task is being stopped; it ends DELETED.',
        content: json(AdminJobViewSchema, { ...EXAMPLE_CANCELLING, owner: EXAMPLE_OWNER }),
      },
      ...errors([404, ...KEYED]),
    },
  },
  adminListAudit: {
    tags: ['admin'],
    summary: 'The audit trail: who did what to which target, when, with what outcome; newest first.',
    description: 'Admin role only. Entries are kept 400 days.',
    requestParams: { query: AdminListAuditQuerySchema },
    responses: {
      '200': { description: 'One page of entries and the range used.', content: json(AdminListAuditResponseSchema, EXAMPLE_AUDIT) },
      ...errors([400, ...KEYED]),
    },
  },
  adminGetJobLog: {
    tags: ['admin'],
    summary: "Any job's conversion log as text, as its owner's `GET /jobs/{id}/logs` gives it.",
    description: 'Admin role only. Reading is not audited.',
    requestParams: jobIdPath,
    responses: {
      '200': { description: 'The log.', content: { 'text/plain; charset=utf-8': { schema: z.string(), example: EXAMPLE_LOG } } },
      '409': responseRef('LogNotAvailable'),
      ...errors([404, ...KEYED]),
    },
  },
  adminListKeys: {
    tags: ['admin'],
    summary: "Registered keys, newest first, with their principals' jobs in flight and conversions today; never a value.",
    description: "Admin role only. `principalId` lists one principal's keys. Reading is not audited.",
    requestParams: { query: AdminListKeysQuerySchema },
    responses: {
      '200': { description: 'One page of keys.', content: json(AdminListKeysResponseSchema, { keys: [EXAMPLE_KEY] }) },
      ...errors([400, ...KEYED]),
    },
  },
  adminCreateKey: {
    tags: ['admin'],
    summary: 'A new program key for a named principal with a role; its value is in this answer only. Audited.',
    description: [
      'Admin role only. The key works at once; it counts against the Programs usage plan (docs/api.md "Admin API").',
      'Only the SHA-256 of the value is stored; the value is never shown again.',
    ].join('\n'),
    requestBody: { required: true, content: json(AdminCreateKeyRequestSchema, { name: 'ci-bot', role: 'user' }) },
    responses: {
      '201': { description: 'The key and its value (store it now).', content: json(AdminKeySecretResponseSchema, EXAMPLE_KEY_SECRET) },
      ...errors([400, ...KEYED]),
    },
  },
  adminDisableKey: {
    tags: ['admin'],
    summary: 'Disable a key: refused (401) within the authorizer cache bound (60 s). Audited.',
    description: 'Admin role only. Disabling a disabled key answers the same.',
    requestParams: keyIdPath,
    responses: {
      '200': { description: 'The key, disabled.', content: json(AdminKeyResponseSchema, { key: { ...EXAMPLE_KEY, enabled: false } }) },
      ...errors([404, ...KEYED]),
    },
  },
  adminEnableKey: {
    tags: ['admin'],
    summary: 'Enable a key again: accepted within the authorizer cache bound (60 s). Audited.',
    description: 'Admin role only. Enabling an enabled key answers the same.',
    requestParams: keyIdPath,
    responses: {
      '200': { description: 'The key, enabled.', content: json(AdminKeyResponseSchema, { key: EXAMPLE_KEY }) },
      ...errors([404, ...KEYED]),
    },
  },
  adminRotateKey: {
    tags: ['admin'],
    summary: "A new value for the key's principal (same name, role and state); the old value is refused from now on. Audited.",
    description: [
      'Admin role only. One registry transaction replaces the old key by the new one (`rotatedFrom` names the old id), so',
      'the old value is refused from its next request the authorizer has not cached (at most 60 s). The new value counts',
      'against the Programs usage plan.',
    ].join('\n'),
    requestParams: keyIdPath,
    responses: {
      '201': {
        description: 'The new key and its value (store it now).',
        content: json(AdminKeySecretResponseSchema, {
          ...EXAMPLE_KEY_SECRET,
          key: { ...EXAMPLE_KEY_SECRET.key, rotatedFrom: EXAMPLE_KEY.keyId },
        }),
      },
      ...errors([404, ...KEYED]),
    },
  },
  adminDeleteKey: {
    tags: ['admin'],
    summary: "Remove a key from the registry (its principal's jobs stay). Audited.",
    description: 'Admin role only. The value is refused from its next request the authorizer has not cached (at most 60 s).',
    requestParams: keyIdPath,
    responses: {
      '200': { description: 'The key as it was.', content: json(AdminKeyResponseSchema, { key: EXAMPLE_KEY }) },
      ...errors([404, ...KEYED]),
    },
  },
  adminListPeople: {
    tags: ['admin'],
    summary: "People an operator has set a standing for (disabled, or a role over their token's), by principal id.",
    description: 'Admin role only. Reading is not audited.',
    requestParams: { query: ListJobsQuerySchema },
    responses: {
      '200': { description: 'One page of people.', content: json(AdminListPeopleResponseSchema, { people: [EXAMPLE_PERSON] }) },
      ...errors([400, ...KEYED]),
    },
  },
  adminPutPerson: {
    tags: ['admin'],
    summary: "Disable or enable a person, or override the role their token's groups give; within 60 s. Audited.",
    description: 'Admin role only. `role: null` removes the override. A body with neither field is 400.',
    requestParams: {
      path: z.object({
        principalId: z.string().check(z.describe("The person's principal id (`GET /me`), URL-encoded: `oidc:<issuer>#<sub>`.")),
      }),
    },
    requestBody: { required: true, content: json(AdminPutPersonRequestSchema, { enabled: false }) },
    responses: {
      '200': { description: 'The standing now.', content: json(AdminPersonResponseSchema, { person: EXAMPLE_PERSON }) },
      ...errors([400, ...KEYED]),
    },
  },
  adminUsage: {
    tags: ['admin'],
    summary: 'Jobs per principal created in the range: how many, how they ended, and per UTC day; most jobs first.',
    description: [
      'Admin role only. Read from the creation-month index (never a table scan). At most 20,000 jobs are counted: a range',
      'holding more is answered for its newest part, and `since` in the answer says where the count starts.',
    ].join('\n'),
    requestParams: { query: AdminUsageQuerySchema },
    responses: {
      '200': { description: 'Usage per principal and the range counted.', content: json(AdminUsageResponseSchema, EXAMPLE_USAGE) },
      ...errors([400, ...KEYED]),
    },
  },
  getLogs: {
    tags: ['jobs'],
    summary: "The conversion's log: what the runner and knime2py said, as text.",
    description: [
      'The runner keeps the converter command, its standard error and output and its own log lines, scrubbed of secrets',
      '(presigned URL signatures, `Authorization`/`x-api-key` values, AWS key ids) and with scratch paths rewritten, and',
      'uploads them as `log.txt` beside the report: at most 1 MiB, the beginning and the end kept around a marker when the',
      'run said more. It lives as long as the result (the same retention; deleted with the job).',
    ].join('\n'),
    requestParams: jobIdPath,
    responses: {
      '200': {
        description: 'The log.',
        content: {
          'text/plain; charset=utf-8': {
            schema: z.string(),
            example: EXAMPLE_LOG,
          },
        },
      },
      '409': responseRef('LogNotAvailable'),
      ...errors([404, ...KEYED]),
    },
  },
  getMe: {
    tags: ['service'],
    summary: 'Who the caller is: the principal of the API key or of the signed-in person, with its role.',
    description:
      "What `k2p-web whoami` and `k2p-web login` print. It reads nothing but the authorizer's answer, so it never fails with 500.",
    responses: {
      '200': { description: 'The caller.', content: json(MeResponseSchema, EXAMPLE_ME) },
      ...errors([401, 403, 503, ...GATEWAY_FAILURES]),
    },
  },
};

// ---------------------------------------------------------------- document

/** Where each code can be met: the HTTP statuses that carry it, and the job states whose `error` holds it. */
function errorCodesTable(): string {
  const rows = ERROR_CODES.map((code) => {
    const statuses = [
      ...Object.entries(ERROR_RESPONSES).map(([status, spec]) => [status, spec.codes] as const),
      ...Object.values(ROUTE_ERROR_RESPONSES).map((spec) => [String(spec.status), spec.codes] as const),
    ]
      .filter(([, codes]) => (codes as readonly ErrorCode[]).includes(code))
      .map(([status]) => status);
    const { family, message } = ERRORS[code];
    const where = [
      ...(statuses.length > 0 ? [`HTTP ${statuses.join(', ')}`] : []),
      ...(family === 'bundle' ? ['job `error` (REJECTED)'] : family === 'conversion' ? ['job `error` (FAILED, TIMED_OUT)'] : []),
    ];
    return `| \`${code}\` | ${where.join('; ')} | ${message} |`;
  });
  return ['| Code | Where | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

const DESCRIPTION = `Turn a KNIME workflow into Python. Create a job (\`POST /jobs\`), upload the bundle with the
presigned POST it returns, follow \`GET /jobs/{id}\` until the job is terminal, then download the result
(\`GET /jobs/{id}/result\`). A curl walkthrough is in docs/api.md.

Every request except \`GET /health\` needs an API key in \`x-api-key\` (programs) or a bearer token from the
deployment's sign-in in \`Authorization: Bearer\` (people; the token wins when both are sent); a job is visible
only to the principal that created it (anyone else gets 404). Every error, including the gateway's own, has the same JSON envelope
\`{"error": {"code", "message", "details"?, "requestId"}}\`; the code says what happened:

${errorCodesTable()}

A job that ended REJECTED, FAILED or TIMED_OUT carries its code as \`error.code\`, with \`error.hint\` saying what
to do about it. This document is generated from core/ (\`npm run build:openapi\`); a test checks the real
handlers' and the gateway's responses against it.`;

/** Shapes documented once under #/components/schemas and referenced wherever they occur. */
const COMPONENT_SCHEMAS: Record<string, z.core.$ZodType> = {
  Job: JobViewSchema,
  JobStatus: JobStatusSchema,
  ConversionOptions: ConversionOptionsSchema,
  BundleStats: BundleStatsViewSchema,
  ResultSummary: ResultSummaryViewSchema,
  ErrorView: ErrorViewSchema,
  ErrorCode: ErrorCodeSchema,
  ErrorEnvelope: ErrorEnvelopeSchema,
  ConverterVersion: ConverterVersionSchema,
  Timestamp: TimestampSchema,
  CreateJobRequest: CreateJobRequestSchema,
  CreateJobResponse: CreateJobResponseSchema,
  UploadTicket: UploadTicketSchema,
  ListJobsResponse: ListJobsResponseSchema,
  ResultLink: ResultLinkSchema,
  Health: HealthResponseSchema,
  Me: MeResponseSchema,
  WebhookDelivery: WebhookDeliveryViewSchema,
  WebhookSettings: WebhookSettingsSchema,
  PutWebhookRequest: PutWebhookRequestSchema,
  WebhookSecret: WebhookSecretSchema,
  WebhookEvent: WebhookEventSchema,
  AdminJob: AdminJobViewSchema,
  AdminListJobsResponse: AdminListJobsResponseSchema,
  AdminJobCounts: AdminJobCountsResponseSchema,
  AdminJobDetail: AdminJobDetailSchema,
  AuditEntry: AuditEntrySchema,
  AdminListAuditResponse: AdminListAuditResponseSchema,
  Key: KeyViewSchema,
  AdminListKeysResponse: AdminListKeysResponseSchema,
  AdminKeySecret: AdminKeySecretResponseSchema,
  PersonStanding: PersonStandingViewSchema,
  AdminUsageResponse: AdminUsageResponseSchema,
};

/** Names the shared schemas through zod's registry (zod-openapi renders manually listed components twice, as input and output). */
function registerComponentIds(): void {
  for (const [id, schema] of Object.entries(COMPONENT_SCHEMAS)) z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
}

const DATE_TIME_PATTERN = toJSONSchema(TimestampSchema).pattern;

/** Drops what zod adds for JavaScript's sake and JSON does not need: safe-integer bounds, the date-time regex beside its format. */
function tidySchema({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void {
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.pattern === DATE_TIME_PATTERN) delete jsonSchema.pattern;
}

export function buildOpenApiDocument(): ReturnType<typeof createDocument> {
  registerComponentIds();
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of API_ROUTES) {
    const operation = OPERATIONS[route.handler];
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.handler,
      ...operation,
      ...(PUBLIC_HANDLERS.has(route.handler) ? { security: [] } : {}),
    };
  }
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return createDocument(
    {
      openapi: '3.1.0',
      info: { title: 'k2p-web API', version, description: DESCRIPTION },
      servers: [
        {
          url: `https://{apiId}.execute-api.{region}.amazonaws.com/${API_STAGE}`,
          description: 'AWS: the stack output `ApiUrl`.',
          variables: {
            apiId: { default: 'abcde12345', description: 'The REST API id (the first label of `ApiUrl`).' },
            region: { default: 'eu-central-1', description: 'The region the stack is deployed to.' },
          },
        },
        { url: LOCAL_API_URL, description: 'Local mode (`npm start`), default ports.' },
      ],
      security: [{ ApiKey: [] }, { Bearer: [] }],
      tags: [
        { name: 'jobs', description: 'Conversion jobs of the caller.' },
        { name: 'service', description: 'The service itself.' },
        {
          name: 'admin',
          description:
            "Operators (role admin only): every job across owners, counts, logs, cancel and delete; keys, people's standing and usage; the audit trail.",
        },
        {
          name: 'webhooks',
          description:
            'Signed `job.finished` events POSTed to a callback URL when a job ends (schema `WebhookEvent`), retried with back-off for at least 24 hours.',
        },
      ],
      paths,
      webhooks: { [WEBHOOK_EVENT_TYPE]: { post: JOB_FINISHED_WEBHOOK } },
      components: {
        securitySchemes: {
          ApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description: 'An API key of the deployment (`k2p-web` finds the local one itself).',
          },
          Bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: "An ID or access token of the deployment's OpenID Connect issuer (the web page's sign-in).",
          },
        },
        responses: Object.fromEntries(
          [...Object.values(ERROR_RESPONSES), ...Object.values(ROUTE_ERROR_RESPONSES)].map((spec) => [spec.name, errorResponse(spec)]),
        ),
      },
    },
    { override: tidySchema },
  );
}

const HEADER = `# GENERATED by scripts/build-openapi.ts (npm run build:openapi) from core/api-routes.ts,
# core/api-schemas.ts and core/errors.ts. Do not edit: change those and regenerate.
`;

/** The document as committed in docs/openapi.yaml. */
export function renderOpenApiYaml(): string {
  // YAML 1.1 style quotes what older parsers would read as dates or booleans (timestamps, `off`).
  return HEADER + stringify(buildOpenApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' });
}
