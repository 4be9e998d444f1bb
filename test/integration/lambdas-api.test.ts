/**
 * The jobs API handlers against real-protocol local services (dynalite,
 * s3rver behind a POST-policy proxy, a Step Functions API server). Every
 * response is also checked against docs/openapi.yaml.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../core/api-client';
import { CreateJobResponseSchema, ErrorEnvelopeSchema, JobViewSchema, ListJobsResponseSchema } from '../../core/api-schemas';
import type { JobStatus } from '../../core/job-states';
import { s3Keys } from '../../core/service-env';
import { JobStore } from '../../lambdas/storage/job-store';
import { globalCapacityPk, ownerCapacityPk } from '../../lambdas/storage/table-keys';
import { sampleBundle, uploadBundle } from '../support/job-fixtures';
import {
  applyEnv,
  callApi,
  lambdaContext,
  loadHandlers,
  s3Event,
  type AnyHandler,
  type ApiRequest,
  type ApiResponse,
} from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';
import { checkResponse, documentedResponses, loadOpenApi } from '../support/openapi-check';

const API_HANDLERS = [
  'createJob',
  'getJob',
  'listJobs',
  'getResult',
  'deleteJob',
  'health',
  'validateUpload',
  'getWebhook',
  'putWebhook',
  'rotateWebhookSecret',
  'cancelJob',
  'getLogs',
  'getMe',
  'prepareRun',
] as const;
type Handlers = Record<(typeof API_HANDLERS)[number], AnyHandler>;

const ROUTES: Record<string, { method: ApiRequest['method']; resource: string; handler: keyof Handlers }> = {
  createJob: { method: 'POST', resource: '/jobs', handler: 'createJob' },
  listJobs: { method: 'GET', resource: '/jobs', handler: 'listJobs' },
  getJob: { method: 'GET', resource: '/jobs/{id}', handler: 'getJob' },
  deleteJob: { method: 'DELETE', resource: '/jobs/{id}', handler: 'deleteJob' },
  getResult: { method: 'GET', resource: '/jobs/{id}/result', handler: 'getResult' },
  health: { method: 'GET', resource: '/health', handler: 'health' },
  getWebhook: { method: 'GET', resource: '/webhook', handler: 'getWebhook' },
  putWebhook: { method: 'PUT', resource: '/webhook', handler: 'putWebhook' },
  rotateWebhookSecret: { method: 'POST', resource: '/webhook/secret', handler: 'rotateWebhookSecret' },
  cancelJob: { method: 'POST', resource: '/jobs/{id}/cancel', handler: 'cancelJob' },
  getLogs: { method: 'GET', resource: '/jobs/{id}/logs', handler: 'getLogs' },
  getMe: { method: 'GET', resource: '/me', handler: 'getMe' },
};

const KEY_A = 'key-a-0001';
const KEY_B = 'key-b-0002';

const openapi = loadOpenApi();
const observed = new Set<string>();
let aws: LocalAws;
let h: Handlers;

type Call = Omit<ApiRequest, 'method' | 'resource'> & { id?: string };

/** Calls a route's real handler and checks the response against the OpenAPI document. */
async function api(route: keyof typeof ROUTES, call: Call = {}, handlers: Handlers = h): Promise<ApiResponse> {
  const { method, resource, handler } = ROUTES[route]!;
  const { id, ...rest } = call;
  const response = await callApi(handlers[handler], {
    method,
    resource,
    apiKeyId: route === 'health' ? null : KEY_A,
    ...(id !== undefined ? { pathParameters: { id } } : {}),
    ...rest,
  });
  expect(checkResponse(openapi, method, resource, response), `${method} ${resource} ${response.statusCode}`).toEqual([]);
  observed.add(`${method} ${resource} ${response.statusCode}`);
  if (response.statusCode >= 400) {
    expect(ErrorEnvelopeSchema.safeParse(response.json).success).toBe(true);
    expect(response.json.error.requestId).toMatch(/^api-request-/);
  }
  return response;
}

async function createJob(body: unknown = { filename: 'KNIME_single_csv.knwf' }, apiKeyId = KEY_A, handlers = h) {
  const response = await api('createJob', { body, apiKeyId }, handlers);
  expect(response.statusCode).toBe(201);
  return CreateJobResponseSchema.parse(response.json);
}

/** Upload through the presigned POST and deliver the S3 event s3rver emitted to the validate handler. */
async function uploadAndValidate(created: Awaited<ReturnType<typeof createJob>>, bytes = sampleBundle()) {
  const upload = await uploadBundle(created.upload!, bytes);
  expect(upload.status).toBe(204);
  const event = await aws.nextCreated(s3Keys.bundle(created.job.jobId));
  return h.validateUpload(event, lambdaContext());
}

async function ledger(pk: string): Promise<{ inFlight: number; holders: string[] }> {
  const item = (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk }, ConsistentRead: true }))).Item;
  return { inFlight: Number(item?.inFlight ?? 0), holders: item?.holders ? [...(item.holders as Set<string>)] : [] };
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  aws = await startLocalAws();
  // Generous limits for the file; the admission tests load handlers with their own.
  applyEnv({ ...aws.env, LIMIT_GLOBAL_IN_FLIGHT: '1000', LIMIT_PER_KEY_IN_FLIGHT: '1000' });
  h = await loadHandlers(API_HANDLERS);
});

afterAll(async () => {
  await aws?.stop();
});

describe('GET /health', () => {
  it('answers without an API key with the service and converter versions', async () => {
    const response = await api('health');
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({
      status: 'ok',
      version: '0.1.0-test',
      converter: { image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11', version: '0.1.11' },
    });
  });
});

describe('POST /jobs', () => {
  it('creates a job awaiting its upload and returns a presigned POST fixing key, type, size and expiry', async () => {
    const before = Date.now();
    const response = await api('createJob', { body: { filename: 'My Flow.knwf', sizeBytes: 2048, options: { workbook: 'py' } } });
    expect(response.statusCode).toBe(201);
    const { job, upload } = CreateJobResponseSchema.parse(response.json);
    expect(response.headers.Location).toBe(`/jobs/${job.jobId}`);
    expect(job).toMatchObject({
      status: 'AWAITING_UPLOAD',
      terminal: false,
      workflowName: 'My Flow',
      filename: 'My Flow.knwf',
      options: { workbook: 'py', graph: 'both' },
    });
    expect(upload!.maxBytes).toBe(50 * 1024 * 1024);
    expect(upload!.url).toBe(`${aws.endpoints.s3}/${aws.bucket}`);
    expect(upload!.fields.key).toBe(s3Keys.bundle(job.jobId));
    expect(upload!.fields['Content-Type']).toBe('application/zip');
    const policy = JSON.parse(Buffer.from(upload!.fields.Policy!, 'base64').toString('utf8')) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, 50 * 1024 * 1024]);
    expect(policy.conditions).toContainEqual(['eq', '$Content-Type', 'application/zip']);
    expect(policy.conditions).toContainEqual({ key: s3Keys.bundle(job.jobId) });
    const expiresIn = Date.parse(policy.expiration) - before;
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000 + 2000);
    expect(Date.parse(upload!.expiresAt)).toBeCloseTo(Date.parse(policy.expiration), -4);
    expect(job.uploadExpiresAt).toBe(upload!.expiresAt);
  });

  it('accepts an empty body with default options and a default workflow name', async () => {
    const response = await api('createJob', {});
    expect(response.statusCode).toBe(201);
    expect(response.json.job).toMatchObject({ workflowName: 'workflow', options: { workbook: 'both', graph: 'both' } });
  });

  it.each([
    ['an unknown field', { filename: 'x.zip', colour: 'red' }, ''],
    ['an unknown workbook option', { options: { workbook: 'xlsx' } }, 'options.workbook'],
    ['a negative size', { sizeBytes: -1 }, 'sizeBytes'],
    ['an empty filename', { filename: '' }, 'filename'],
    ['a non-object body', [1, 2], ''],
  ])('rejects %s with 400 INVALID_REQUEST naming the field', async (_name, body, path) => {
    const response = await api('createJob', { body });
    expect(response.statusCode).toBe(400);
    expect(response.json.error.code).toBe('INVALID_REQUEST');
    expect(response.json.error.details.issues.map((issue: { path: string }) => issue.path)).toContain(path);
  });

  it('rejects malformed JSON with 400 INVALID_REQUEST', async () => {
    const response = await api('createJob', { body: '{"filename": ' });
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'The request body is not valid JSON.' });
  });

  it('refuses a declared size over the upload limit before creating anything', async () => {
    const response = await api('createJob', { body: { sizeBytes: 60 * 1024 * 1024 } });
    expect(response.statusCode).toBe(422);
    expect(response.json.error).toMatchObject({ code: 'BUNDLE_TOO_LARGE', details: { maxBytes: 50 * 1024 * 1024 } });
  });

  it('answers 401 UNAUTHORIZED when the gateway passed no API key id', async () => {
    const response = await api('createJob', { body: {}, apiKeyId: null });
    expect(response.statusCode).toBe(401);
    expect(response.json.error.code).toBe('UNAUTHORIZED');
  });

  it('rejects a malformed Idempotency-Key header', async () => {
    const response = await api('createJob', { body: {}, headers: { 'Idempotency-Key': 'has spaces in it' } });
    expect(response.statusCode).toBe(400);
    expect(response.json.error.details).toEqual({ header: 'Idempotency-Key' });
  });
});

describe('presigned upload (policy enforced by the proxy in front of s3rver)', () => {
  it('accepts the bundle and the validate handler queues the job and starts its execution named by the job id', async () => {
    const created = await createJob();
    const result = await uploadAndValidate(created);
    expect(result).toEqual({ outcomes: ['queued'] });
    const view = JobViewSchema.parse((await api('getJob', { id: created.job.jobId })).json);
    expect(view.status).toBe('QUEUED');
    expect(view.bundle).toMatchObject({ files: 2, nodes: 1 });
    expect(view.durationsMs.validation).toBeGreaterThanOrEqual(0);
    const start = aws.sfn.calls.find((call) => call.action === 'StartExecution' && call.body.name === created.job.jobId);
    expect(start?.body).toMatchObject({ stateMachineArn: aws.env.STATE_MACHINE_ARN, input: JSON.stringify({ jobId: created.job.jobId }) });
  });

  it('refuses an upload over the size range (EntityTooLarge) and nothing reaches the bucket', async () => {
    const limited = await loadHandlers(['createJob'] as const, { LIMIT_MAX_UPLOAD_BYTES: '1024' });
    const response = await callApi(limited.createJob, { method: 'POST', resource: '/jobs', apiKeyId: KEY_A, body: {} });
    expect(response.statusCode).toBe(201);
    const { job, upload } = CreateJobResponseSchema.parse(response.json);
    const result = await uploadBundle(upload!, new Uint8Array(1025));
    expect(result.status).toBe(400);
    expect(result.body).toContain('EntityTooLarge');
    expect(await objectExists(s3Keys.bundle(job.jobId))).toBe(false);
  });

  it('refuses another content type, another key and a tampered policy', async () => {
    const { job, upload } = await createJob();
    const bytes = sampleBundle();
    const wrongType = await uploadBundle(upload!, bytes, { fields: { 'Content-Type': 'text/plain' } });
    expect(wrongType.status).toBe(403);
    const otherKey = await uploadBundle(upload!, bytes, { fields: { key: 'bundles/someoneelse1234/bundle.zip' } });
    expect(otherKey.status).toBe(403);
    const policy = JSON.parse(Buffer.from(upload!.fields.Policy!, 'base64').toString('utf8')) as { conditions: unknown[] };
    policy.conditions = policy.conditions.map((c) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 1, 10 ** 12] : c,
    );
    const tampered = await uploadBundle(upload!, bytes, { fields: { Policy: Buffer.from(JSON.stringify(policy)).toString('base64') } });
    expect(tampered.status).toBe(403);
    expect(tampered.body).toContain('SignatureDoesNotMatch');
    expect(await objectExists(s3Keys.bundle(job.jobId))).toBe(false);
  });

  it('rejects an invalid bundle: REJECTED with the code and entry, bundle deleted, slot released', async () => {
    const created = await createJob();
    const { bundleWithDataFile } = await import('../support/job-fixtures');
    const before = await ledger(ownerCapacityPk(KEY_A));
    expect(before.holders).toContain(created.job.jobId);
    expect(await uploadAndValidate(created, bundleWithDataFile())).toEqual({ outcomes: ['rejected'] });
    const view = (await api('getJob', { id: created.job.jobId })).json;
    expect(view).toMatchObject({
      status: 'REJECTED',
      terminal: true,
      error: { code: 'ZIP_DISALLOWED_FILE', details: { entry: 'data/customers.csv' } },
    });
    expect(view.error.hint).toContain('workflow.knime');
    expect(await objectExists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect((await ledger(ownerCapacityPk(KEY_A))).holders).not.toContain(created.job.jobId);
    expect((await ledger(globalCapacityPk())).holders).not.toContain(created.job.jobId);
  });
});

describe('GET /jobs/{id}', () => {
  it('shows the job with Retry-After while it is not terminal', async () => {
    const { job } = await createJob();
    const response = await api('getJob', { id: job.jobId });
    expect(response.statusCode).toBe(200);
    expect(response.headers['Retry-After']).toBe('5');
    expect(response.json).toMatchObject({ jobId: job.jobId, status: 'AWAITING_UPLOAD', retryAfterSeconds: 5 });
    expect(response.json).not.toHaveProperty('owner');
  });

  it('answers 404 for an unknown id, a malformed id and another key’s job alike', async () => {
    const { job } = await createJob();
    const unknown = await api('getJob', { id: 'zzzzzzzzzzzzzzzzzzzzzzzzz' });
    const malformed = await api('getJob', { id: '../etc' });
    const foreign = await api('getJob', { id: job.jobId, apiKeyId: KEY_B });
    for (const response of [unknown, malformed, foreign]) {
      expect(response.statusCode).toBe(404);
      expect(response.json.error.code).toBe('NOT_FOUND');
    }
    expect(foreign.json.error.message).toBe(unknown.json.error.message);
  });
});

describe('GET /jobs/{id}?waitSeconds (long poll)', () => {
  const store = () => new JobStore(aws.ddb, aws.tableName);

  async function timedGet(id: string, waitSeconds: string) {
    const started = performance.now();
    const response = await api('getJob', { id, query: { waitSeconds } });
    return { response, ms: performance.now() - started };
  }

  it('answers as soon as the status changes during the wait (measured), not at the end of it', async () => {
    const { job } = await createJob();
    const change = new Promise((resolve) => setTimeout(resolve, 1000)).then(() => store().transition(job.jobId, 'VALIDATING'));
    const { response, ms } = await timedGet(job.jobId, '15');
    expect((await change).ok).toBe(true);
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ status: 'VALIDATING', retryAfterSeconds: 2 });
    expect(response.headers['Retry-After']).toBe('2');
    expect(response.headers['K2p-Waited-Seconds']).toBe('15');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(8000);
  });

  it('without a change answers after the wait with the same state', async () => {
    const { job } = await createJob();
    const { response, ms } = await timedGet(job.jobId, '2');
    expect(response.json).toMatchObject({ status: 'AWAITING_UPLOAD' });
    expect(response.headers['Retry-After']).toBe('5');
    expect(ms).toBeGreaterThanOrEqual(1950);
    expect(ms).toBeLessThan(8000);
  });

  it('answers a terminal job at once, and waitSeconds=0 like a plain GET', async () => {
    const { job } = await createJob();
    expect((await api('deleteJob', { id: job.jobId })).statusCode).toBe(200);
    const terminal = await timedGet(job.jobId, '20');
    expect(terminal.response.json).toMatchObject({ status: 'DELETED', terminal: true });
    expect(terminal.response.headers['Retry-After']).toBeUndefined();
    expect(terminal.ms).toBeLessThan(5000);
    const { job: moving } = await createJob();
    const zero = await timedGet(moving.jobId, '0');
    expect(zero.response.json).toMatchObject({ status: 'AWAITING_UPLOAD' });
    expect(zero.ms).toBeLessThan(5000);
  });

  it('refuses a wait that is not a whole number of seconds from 0 to 20 with 400 INVALID_REQUEST, and 404s other keys’ jobs', async () => {
    const { job } = await createJob();
    for (const waitSeconds of ['abc', '-1', '21', '1.5', '1e9']) {
      const response = await api('getJob', { id: job.jobId, query: { waitSeconds } });
      expect(response.statusCode, waitSeconds).toBe(400);
      expect(response.json.error.code).toBe('INVALID_REQUEST');
      expect(JSON.stringify(response.json.error.details)).toContain('waitSeconds');
    }
    expect((await api('getJob', { id: job.jobId, query: { wait: '5' } })).statusCode).toBe(400);
    const foreign = await api('getJob', { id: job.jobId, apiKeyId: KEY_B, query: { waitSeconds: '5' } });
    expect(foreign.statusCode).toBe(404);
  });

  it('lets ApiClient.followJob notice a change within a fraction of a second, in one held request per change', async () => {
    const { job } = await createJob();
    const requests: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      requests.push(url.search);
      const id = decodeURIComponent(url.pathname.split('/').pop() ?? '');
      callApi(h.getJob, {
        method: 'GET',
        resource: '/jobs/{id}',
        pathParameters: { id },
        query: Object.fromEntries(url.searchParams),
        apiKeyId: KEY_A,
      }).then(
        (answer) => res.writeHead(answer.statusCode, answer.headers).end(answer.body),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new ApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'unused' });
      const seen: { status: string; at: number }[] = [];
      const following = client.followJob(job.jobId, { onUpdate: (j) => seen.push({ status: j.status, at: performance.now() }) });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const changes: number[] = [];
      for (const to of ['VALIDATING', 'QUEUED', 'RUNNING', 'FAILED'] as const) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        changes.push(performance.now());
        expect((await store().transition(job.jobId, to)).ok).toBe(true);
      }
      const final = await following;
      expect(final.status).toBe('FAILED');
      // A first request for the state as it is, then one held request per change, each answered by it.
      expect(seen.map((s) => s.status)).toEqual(['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'RUNNING', 'FAILED']);
      expect(requests).toEqual(['?waitSeconds=0', ...Array(4).fill('?waitSeconds=20')]);
      // Each change was seen before the next one was made (700 ms later).
      const noticed = seen.slice(1);
      noticed.forEach((update, i) => expect(update.at).toBeGreaterThan(changes[i]!));
      noticed.slice(0, -1).forEach((update, i) => expect(update.at).toBeLessThan(changes[i + 1]!));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('GET /jobs/{id}/logs', () => {
  /** A job moved on to `to` through the legal steps, as the pipeline would. */
  async function jobThatRan(to: 'RUNNING' | 'FAILED') {
    const { job } = await createJob();
    const store = new JobStore(aws.ddb, aws.tableName);
    const steps: JobStatus[] = ['VALIDATING', 'QUEUED', 'RUNNING', ...(to === 'FAILED' ? (['FAILED'] as const) : [])];
    for (const status of steps) {
      expect((await store.transition(job.jobId, status)).ok).toBe(true);
    }
    return job.jobId;
  }

  it('answers the log as UTF-8 text to its owner only', async () => {
    const jobId = await jobThatRan('FAILED');
    const text = 'k2p-web conversion log: job x, workflow Übersicht\n== knime2py exited with code 3 after 12 ms ==\n';
    await aws.s3.send(
      new PutObjectCommand({ Bucket: aws.bucket, Key: s3Keys.log(jobId), Body: text, ContentType: 'text/plain; charset=utf-8' }),
    );
    const response = await api('getLogs', { id: jobId });
    expect(response.statusCode).toBe(200);
    expect(response.headers['Content-Type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toBe(text);
    const foreign = await api('getLogs', { id: jobId, apiKeyId: KEY_B });
    expect([foreign.statusCode, foreign.json.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('is 409 LOG_NOT_AVAILABLE before the job ran (Retry-After), while it runs, and for a job that ended without one', async () => {
    const { job } = await createJob();
    const waiting = await api('getLogs', { id: job.jobId });
    expect([waiting.statusCode, waiting.json.error.code, waiting.json.error.details]).toEqual([
      409,
      'LOG_NOT_AVAILABLE',
      { status: 'AWAITING_UPLOAD' },
    ]);
    expect(waiting.headers['Retry-After']).toBe('5');
    const running = await api('getLogs', { id: await jobThatRan('RUNNING') });
    expect([running.statusCode, running.json.error.details, running.headers['Retry-After']]).toEqual([409, { status: 'RUNNING' }, '5']);
    const ended = await api('getLogs', { id: await jobThatRan('FAILED') });
    expect([ended.statusCode, ended.json.error.code, ended.headers['Retry-After']]).toEqual([409, 'LOG_NOT_AVAILABLE', undefined]);
  });
});

describe('GET /jobs', () => {
  it('lists only the caller’s jobs, newest first, page by page', async () => {
    const owner = 'key-list-0003';
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await createJob({ filename: `flow-${i}.zip` }, owner)).job.jobId);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await createJob({}, 'key-other-0004');
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const response = await api('listJobs', { apiKeyId: owner, query: { limit: '2', ...(nextToken ? { nextToken } : {}) } });
      expect(response.statusCode).toBe(200);
      const page = ListJobsResponseSchema.parse(response.json);
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((job) => job.jobId));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken && pages < 10);
    expect(seen).toEqual([...ids].reverse());
  });

  it('rejects a bad limit, a garbage token and a token from another key', async () => {
    const owner = 'key-tokens-0005';
    await createJob({}, owner);
    await createJob({}, owner);
    const first = await api('listJobs', { apiKeyId: owner, query: { limit: '1' } });
    const token = first.json.nextToken as string;
    expect(token).toBeTruthy();
    expect((await api('listJobs', { apiKeyId: owner, query: { limit: '0' } })).statusCode).toBe(400);
    expect((await api('listJobs', { apiKeyId: owner, query: { limit: '101' } })).statusCode).toBe(400);
    expect((await api('listJobs', { apiKeyId: owner, query: { nextToken: 'not-a-token' } })).statusCode).toBe(400);
    // Hand-made keys DynamoDB itself would refuse (ValidationException → 500 before): empty key fields, a non-job pk.
    const handMade = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const key of [
      { pk: '', owner, createdAt: '' },
      { pk: 'JOB#', owner, createdAt: '2025-01-01T00:00:00.000Z' },
      { pk: 'CAP#GLOBAL', owner, createdAt: '2025-01-01T00:00:00.000Z' },
    ]) {
      const refused = await api('listJobs', { apiKeyId: owner, query: { nextToken: handMade(key) } });
      expect(refused.statusCode).toBe(400);
      expect(refused.json.error.code).toBe('INVALID_REQUEST');
    }
    const stolen = await api('listJobs', { apiKeyId: KEY_B, query: { nextToken: token } });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json.error.details).toEqual({ field: 'nextToken' });
  });

  it('answers an empty list for a key without jobs', async () => {
    const response = await api('listJobs', { apiKeyId: 'key-empty-0006' });
    expect(response.json).toEqual({ jobs: [] });
  });
});

describe('GET /jobs/{id}/result', () => {
  it('answers 409 RESULT_NOT_READY with Retry-After while the job runs, and for a job that ended without a result', async () => {
    const created = await createJob();
    const notReady = await api('getResult', { id: created.job.jobId });
    expect(notReady.statusCode).toBe(409);
    expect(notReady.headers['Retry-After']).toBe('5');
    expect(notReady.json.error).toMatchObject({ code: 'RESULT_NOT_READY', details: { status: 'AWAITING_UPLOAD' } });

    const { bundleWithDataFile } = await import('../support/job-fixtures');
    const rejected = await createJob();
    await uploadAndValidate(rejected, bundleWithDataFile());
    const none = await api('getResult', { id: rejected.job.jobId });
    expect(none.statusCode).toBe(409);
    expect(none.headers['Retry-After']).toBeUndefined();
    expect(none.json.error.message).toContain('REJECTED');
  });

  it('answers 404 for another key’s job', async () => {
    const { job } = await createJob();
    expect((await api('getResult', { id: job.jobId, apiKeyId: KEY_B })).statusCode).toBe(404);
  });

  it('rejects an unknown redirect value', async () => {
    const { job } = await createJob();
    expect((await api('getResult', { id: job.jobId, query: { redirect: 'maybe' } })).statusCode).toBe(400);
  });
});

describe('DELETE /jobs/{id}', () => {
  it('marks the job DELETED, deletes its bundle, frees its slot, and is idempotent', async () => {
    const created = await createJob();
    await uploadAndValidate(created);
    expect(await objectExists(s3Keys.bundle(created.job.jobId))).toBe(true);
    expect((await ledger(globalCapacityPk())).holders).toContain(created.job.jobId);

    const first = await api('deleteJob', { id: created.job.jobId });
    expect(first.statusCode).toBe(200);
    expect(first.json).toMatchObject({ status: 'DELETED', terminal: true });
    expect(await objectExists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect((await ledger(globalCapacityPk())).holders).not.toContain(created.job.jobId);
    expect((await ledger(ownerCapacityPk(KEY_A))).holders).not.toContain(created.job.jobId);

    const globalBefore = await ledger(globalCapacityPk());
    const second = await api('deleteJob', { id: created.job.jobId });
    expect(second.statusCode).toBe(200);
    expect(second.json.status).toBe('DELETED');
    expect((await ledger(globalCapacityPk())).inFlight).toBe(globalBefore.inFlight);

    const gone = await api('getResult', { id: created.job.jobId });
    expect(gone.statusCode).toBe(410);
    expect(gone.json.error.code).toBe('RESULT_GONE');
  });

  it('does not let another key delete (or learn about) a job', async () => {
    const { job } = await createJob();
    const response = await api('deleteJob', { id: job.jobId, apiKeyId: KEY_B });
    expect(response.statusCode).toBe(404);
    expect((await api('getJob', { id: job.jobId })).json.status).toBe('AWAITING_UPLOAD');
  });

  it('deletes the upload that arrives after the job was deleted (late S3 event)', async () => {
    const created = await createJob();
    await api('deleteJob', { id: created.job.jobId });
    const upload = await uploadBundle(created.upload!, sampleBundle());
    expect(upload.status).toBe(204);
    const event = await aws.nextCreated(s3Keys.bundle(created.job.jobId));
    expect(await h.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['ignored-job-ended'] });
    expect(await objectExists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect((await api('getJob', { id: created.job.jobId })).json.status).toBe('DELETED');
  });
});

describe('cancel, and DELETE of a running job', () => {
  it('cancels a job awaiting its upload at once (200 CANCELLED, slot freed); a running one answers 202 CANCELLING, as does its DELETE', async () => {
    const waiting = await createJob();
    const cancelled = await api('cancelJob', { id: waiting.job.jobId });
    expect([cancelled.statusCode, cancelled.json.status]).toEqual([200, 'CANCELLED']);
    expect((await ledger(globalCapacityPk())).holders).not.toContain(waiting.job.jobId);

    const running = await createJob();
    await uploadAndValidate(running);
    expect(await h.prepareRun({ jobId: running.job.jobId }, lambdaContext())).toMatchObject({ skip: false });
    aws.taskScheduled(running.job.jobId);
    const stopping = await api('cancelJob', { id: running.job.jobId });
    expect([stopping.statusCode, stopping.json.status]).toEqual([202, 'CANCELLING']);
    const deleting = await api('deleteJob', { id: running.job.jobId });
    expect([deleting.statusCode, deleting.json.status]).toEqual([202, 'CANCELLING']);
    // The task has not been reported stopped: the slot is still held.
    expect((await ledger(globalCapacityPk())).holders).toContain(running.job.jobId);
  });
});

describe('idempotency', () => {
  it('returns the same job for the same key and API key, without taking a second slot', async () => {
    const owner = 'key-idem-0007';
    const headers = { 'Idempotency-Key': 'order-42' };
    const first = await api('createJob', { apiKeyId: owner, headers, body: { filename: 'a.zip' } });
    const second = await api('createJob', { apiKeyId: owner, headers: { 'idempotency-key': 'order-42' }, body: { filename: 'a.zip' } });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json.job.jobId).toBe(first.json.job.jobId);
    expect(first.headers['Idempotent-Replayed']).toBeUndefined();
    expect(second.headers['Idempotent-Replayed']).toBe('true');
    expect(second.json.upload.fields.key).toBe(first.json.upload.fields.key);
    expect((await ledger(ownerCapacityPk(owner))).inFlight).toBe(1);
  });

  it('keeps keys apart per API key, and refuses a key reused for a different request', async () => {
    const headers = { 'Idempotency-Key': 'shared-key' };
    const a = await api('createJob', { apiKeyId: 'key-idem-0008', headers, body: {} });
    const b = await api('createJob', { apiKeyId: 'key-idem-0009', headers, body: {} });
    expect(a.json.job.jobId).not.toBe(b.json.job.jobId);
    const reused = await api('createJob', { apiKeyId: 'key-idem-0008', headers, body: { filename: 'other.zip' } });
    expect(reused.statusCode).toBe(400);
    expect(reused.json.error.details).toEqual({ header: 'Idempotency-Key' });
  });

  it('creates exactly one job for concurrent requests with one key', async () => {
    const owner = 'key-idem-0010';
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => api('createJob', { apiKeyId: owner, headers: { 'Idempotency-Key': 'burst' }, body: {} })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    expect(new Set(responses.map((r) => r.json.job.jobId)).size).toBe(1);
    expect((await ledger(ownerCapacityPk(owner))).inFlight).toBe(1);
  });

  it('forgets a key after 24 hours', async () => {
    const owner = 'key-idem-0012';
    const headers = { 'Idempotency-Key': 'daily-run' };
    const first = await api('createJob', { apiKeyId: owner, headers, body: {} });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date(Date.now() + 23 * 3600_000));
      const sameDay = await api('createJob', { apiKeyId: owner, headers, body: {} });
      expect(sameDay.json.job.jobId).toBe(first.json.job.jobId);
      expect(sameDay.json.upload).toBeUndefined(); // its upload window is long over
      vi.setSystemTime(new Date(Date.now() + 2 * 3600_000));
      const nextDay = await api('createJob', { apiKeyId: owner, headers, body: {} });
      expect(nextDay.json.job.jobId).not.toBe(first.json.job.jobId);
      expect(nextDay.headers['Idempotent-Replayed']).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets a key be retried after its first request was refused by admission', async () => {
    const limited = await loadHandlers(['createJob'] as const, { LIMIT_PER_KEY_IN_FLIGHT: '1' });
    const owner = 'key-idem-0011';
    const call = (key: string) =>
      callApi(limited.createJob, { method: 'POST', resource: '/jobs', apiKeyId: owner, headers: { 'Idempotency-Key': key }, body: {} });
    expect((await call('first')).statusCode).toBe(201);
    const refused = await call('second');
    expect(refused.statusCode).toBe(429);
    const firstJob = (
      await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk: ownerCapacityPk(owner) }, ConsistentRead: true }))
    ).Item!;
    const [held] = [...(firstJob.holders as Set<string>)];
    await api('deleteJob', { id: held!, apiKeyId: owner });
    expect((await call('second')).statusCode).toBe(201);
  });
});

describe('admission control', () => {
  it('admits exactly 10 of 50 concurrent POST /jobs against a global limit of 10', async () => {
    applyEnv({ JOBS_TABLE_NAME: await aws.freshTable() });
    const limited = (await loadHandlers(API_HANDLERS, { LIMIT_GLOBAL_IN_FLIGHT: '10', LIMIT_PER_KEY_IN_FLIGHT: '100' })) as Handlers;
    const owners = Array.from({ length: 50 }, (_, i) => `key-burst-${i % 7}`);
    const responses = await Promise.all(
      owners.map((apiKeyId, i) => api('createJob', { apiKeyId, body: { filename: `f${i}.zip` } }, limited)),
    );
    const created = responses.filter((r) => r.statusCode === 201);
    const busy = responses.filter((r) => r.statusCode === 503);
    expect(created).toHaveLength(10);
    expect(busy).toHaveLength(40);
    for (const response of busy) {
      expect(response.json.error.code).toBe('SERVER_BUSY');
      expect(Number(response.headers['Retry-After'])).toBeGreaterThan(0);
    }
    const global = await ledger(globalCapacityPk());
    expect(global.inFlight).toBe(10);
    expect(global.holders.sort()).toEqual(created.map((r) => r.json.job.jobId as string).sort());
    // Refused requests left nothing behind in the per-key ledgers either.
    let perKey = 0;
    for (let i = 0; i < 7; i++) perKey += (await ledger(ownerCapacityPk(`key-burst-${i}`))).inFlight;
    expect(perKey).toBe(10);

    // A finished job frees its slot for the next request.
    const first = responses.findIndex((r) => r.statusCode === 201);
    expect((await api('deleteJob', { id: responses[first]!.json.job.jobId, apiKeyId: owners[first] }, limited)).statusCode).toBe(200);
    expect((await api('createJob', { apiKeyId: 'key-burst-late', body: {} }, limited)).statusCode).toBe(201);
    expect((await api('createJob', { apiKeyId: 'key-burst-late', body: {} }, limited)).statusCode).toBe(503);
  });

  it('limits one API key with 429 RATE_LIMITED and never lets it consume global capacity', async () => {
    applyEnv({ JOBS_TABLE_NAME: await aws.freshTable() });
    const limited = (await loadHandlers(API_HANDLERS, { LIMIT_GLOBAL_IN_FLIGHT: '20', LIMIT_PER_KEY_IN_FLIGHT: '3' })) as Handlers;
    const responses = await Promise.all(Array.from({ length: 9 }, () => api('createJob', { apiKeyId: 'key-greedy', body: {} }, limited)));
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(3);
    const limitedOnes = responses.filter((r) => r.statusCode === 429);
    expect(limitedOnes).toHaveLength(6);
    expect(limitedOnes[0]!.json.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 3 } });
    expect(Number(limitedOnes[0]!.headers['Retry-After'])).toBeGreaterThan(0);
    expect((await ledger(globalCapacityPk())).inFlight).toBe(3);
    expect((await api('createJob', { apiKeyId: 'key-modest', body: {} }, limited)).statusCode).toBe(201);
  });
});

describe('validate-upload event filtering', () => {
  it('ignores objects outside bundles/, other buckets, other event types and unknown jobs', async () => {
    const ctx = lambdaContext();
    expect(await h.validateUpload(s3Event(aws.bucket, 'results/abcdefgh1234/result.zip'), ctx)).toEqual({ outcomes: ['ignored-key'] });
    expect(await h.validateUpload(s3Event(aws.bucket, 'bundles/../x/bundle.zip'), ctx)).toEqual({ outcomes: ['ignored-key'] });
    expect(await h.validateUpload(s3Event('someone-elses-bucket', 'bundles/abcdefgh1234/bundle.zip'), ctx)).toEqual({
      outcomes: ['ignored-bucket'],
    });
    expect(await h.validateUpload(s3Event(aws.bucket, 'bundles/abcdefgh1234/bundle.zip', {}, 'ObjectRemoved:Delete'), ctx)).toEqual({
      outcomes: ['ignored-event-type'],
    });
    expect(await h.validateUpload(s3Event(aws.bucket, 'bundles/abcdefgh1234/bundle.zip'), ctx)).toEqual({
      outcomes: ['ignored-unknown-job'],
    });
  });
});

describe('CORS', () => {
  it('lets allowed browser origins read responses, errors included, and no one else', async () => {
    const withCors = await loadHandlers(['getJob', 'health'] as const, {
      CORS_ALLOW_ORIGINS: 'https://site.example, http://127.0.0.1:5173',
    });
    const call = (handler: AnyHandler, origin: string) =>
      callApi(handler, {
        method: 'GET',
        resource: '/jobs/{id}',
        apiKeyId: KEY_A,
        pathParameters: { id: 'abcdefgh1234' },
        headers: { Origin: origin },
      });
    const allowed = await call(withCors.getJob, 'http://127.0.0.1:5173');
    expect(allowed.statusCode).toBe(404);
    expect(allowed.headers['Access-Control-Allow-Origin']).toBe('http://127.0.0.1:5173');
    expect(allowed.headers['Access-Control-Expose-Headers']).toContain('Retry-After');
    expect(allowed.headers['Access-Control-Expose-Headers']).toContain('K2p-Waited-Seconds');
    const other = await call(withCors.getJob, 'https://evil.example');
    expect(other.headers['Access-Control-Allow-Origin']).toBeUndefined();
    const healthy = await callApi(withCors.health, {
      method: 'GET',
      resource: '/health',
      apiKeyId: null,
      headers: { Origin: 'https://site.example' },
    });
    expect(healthy.headers['Access-Control-Allow-Origin']).toBe('https://site.example');
  });
});

describe('webhook settings (deliveries: test/integration/webhooks.test.ts)', () => {
  it('creates and rotates the signing secret, sets and clears the default URL, per API key', async () => {
    expect((await api('getWebhook')).json).toEqual({ url: null, secretCreatedAt: null });
    const first = await api('rotateWebhookSecret');
    expect(first.statusCode).toBe(201);
    const second = await api('rotateWebhookSecret');
    expect(second.json.secret).not.toBe(first.json.secret);
    const settings = (await api('getWebhook')).json;
    expect(settings).toMatchObject({ url: null, secretCreatedAt: second.json.createdAt });
    expect(Date.parse(settings.previousSecretValidUntil) - Date.parse(second.json.createdAt)).toBe(24 * 3_600_000);
    // Public receivers only (this file runs without the local allow-list): an IP literal needs no DNS.
    const put = await api('putWebhook', { body: { url: 'https://93.184.216.34/k2p' } });
    expect([put.statusCode, put.json.url]).toEqual([200, 'https://93.184.216.34/k2p']);
    expect((await api('getWebhook', { apiKeyId: KEY_B })).json).toEqual({ url: null, secretCreatedAt: null });
    expect((await api('putWebhook', { body: { url: null } })).json.url).toBeNull();
  });
});

describe('GET /me', () => {
  it("answers the caller's principal, a person or a program, with its role", async () => {
    const person = { id: 'oidc:https://idp.example#u-1', name: 'Ada', kind: 'person' as const, role: 'admin' as const };
    expect((await api('getMe', { principal: person })).json).toEqual(person);
    expect((await api('getMe')).json).toEqual({ id: KEY_A, name: KEY_A, kind: 'program', role: 'user' });
    const anonymous = await api('getMe', { apiKeyId: null, principal: null });
    expect([anonymous.statusCode, anonymous.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });
});

describe('OpenAPI document', () => {
  it('documents every success response the handlers produced, and the handlers produced every documented success', () => {
    const successes = documentedResponses(openapi).filter((entry) => /\s(2\d\d|3\d\d)$/.test(entry));
    for (const entry of successes) {
      if (entry === 'GET /jobs/{id}/result 302' || entry === 'GET /jobs/{id}/result 200') continue; // exercised in the pipeline test
      if (entry.includes(' /admin/')) continue; // the admin routes: test/integration/api-contract.test.ts and admin-api.test.ts
      expect(observed, entry).toContain(entry);
    }
  });
});
