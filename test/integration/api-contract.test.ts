/**
 * The API contract: real responses checked against docs/openapi.yaml with ajv,
 * for every route and every status the document lists for it (the last test
 * insists). Requests go over HTTP through the local API Gateway built from
 * the synthesized template (stage, keys, usage plans, the gateway's error
 * responses) to the real handlers on dynalite, s3rver and the Step Functions
 * stand-in. Only 401 is called on the handlers directly: the gateway answers
 * 403 before a request without a key could reach them.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_HANDLERS, API_ROUTES, PUBLIC_HANDLERS, type ApiHandlerName, type ApiRoute } from '../../core/api-routes';
import { CreateJobResponseSchema, DEFAULT_LIST_LIMIT, type CreateJobResponse } from '../../core/api-schemas';
import { LAMBDA_ENV, s3Keys } from '../../core/service-env';
import { KeyRegistry } from '../../lambdas/storage/key-registry';
import type { PrepareRunOutput } from '../../lambdas/use-cases/conversion-steps';
import { startApiGateway, type LocalApiGateway } from '../../local/stand-ins/api-gateway/gateway';
import type { LocalApiKey } from '../../local/stand-ins/api-gateway/usage-plans';
import type { StackModel } from '../../local/model/stack-model';
import { realModel, SYNTH_TIMEOUT_MS } from '../local/helpers';
import { putObject, resultZip, runnerReport, sampleBundle, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandler, loadHandlers, withEnv, type AnyHandler } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';
import { checkResponse, documentedResponses, loadOpenApi } from '../support/openapi-check';

const PIPELINE = ['validateUpload', 'prepareRun', 'recordOutcome'] as const;
type Handlers = Record<ApiHandlerName, AnyHandler>;

const DEAD_ENDPOINT = 'http://127.0.0.1:9'; // discard port: nothing listens
const UNKNOWN_ID = 'zzzzzzzzzzzzzzzzzzzzzzzzz';
/** A registered key naming an API Gateway key that is in no usage plan. */
const REGISTERED_ONLY = 'k2p_registered-but-in-no-usage-plan-0000000000000';

const doc = loadOpenApi();
const observed = new Set<string>();

let aws: LocalAws;
let model: StackModel;
let handlers: Handlers;
let pipeline: Record<(typeof PIPELINE)[number], AnyHandler>;
/** The handlers the gateways invoke (a test may swap in differently configured ones). */
let active: Partial<Handlers>;
let keys: LocalApiKey[];
let cliKey: LocalApiKey;
let webKey: LocalApiKey;
/** A program key with the admin role, in the programs' usage plan like any key made for a program. */
let adminKey: LocalApiKey;
let authorizer: AnyHandler;
const gateways: LocalApiGateway[] = [];
let gateway: LocalApiGateway;

const routeOf = (handler: ApiHandlerName): ApiRoute => API_ROUTES.find((r) => r.handler === handler)!;
/** A body each route's handler accepts: POST /admin/keys a name, other POSTs an empty one, PUT /webhook a cleared URL, PUT /admin/people/… a standing. */
const bodyFor = (route: ApiRoute): { body?: object } =>
  route.handler === 'adminCreateKey'
    ? { body: { name: 'contract' } }
    : route.handler === 'adminPutPerson'
      ? { body: { enabled: true } }
      : route.method === 'POST'
        ? { body: {} }
        : route.method === 'PUT'
          ? { body: { url: null } }
          : {};
const KEYED = API_ROUTES.filter((r) => !PUBLIC_HANDLERS.has(r.handler));

function handlerForArn(arn: string): ApiHandlerName {
  const routed = model.api.routes.find((r) => r.functionArn === arn)!;
  return API_ROUTES.find((r) => r.method === routed.method && r.path === routed.path)!.handler;
}

/** A gateway over the template's API model; by default its clock runs fast so usage-plan throttling never gets in the way. */
async function startGateway(
  options: { invoke?: (event: APIGatewayProxyEvent, handler: ApiHandlerName) => Promise<unknown> } & Partial<
    Parameters<typeof startApiGateway>[0]
  > = {},
): Promise<LocalApiGateway> {
  const { invoke, ...rest } = options;
  const started = await startApiGateway({
    api: model.api,
    keys,
    accountId: '000000000000',
    monotonicNow: () => performance.now() * 1000,
    invoke: (arn, event) => {
      // The template's authorizer runs for real, on the key registry the keys are registered in.
      if (arn === model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn) return authorizer(event, lambdaContext());
      const name = handlerForArn(arn);
      return invoke ? invoke(event, name) : active[name]!(event, lambdaContext());
    },
    ...rest,
  });
  gateways.push(started);
  return started;
}

interface Call {
  id?: string;
  /** The `{keyId}` of a key route (default: a well-formed id of no key). */
  keyId?: string;
  /** The `{principalId}` of PUT /admin/people/{principalId}. */
  principalId?: string;
  query?: Record<string, string>;
  /** The key to send: the CLI key unless given (null: none). */
  key?: LocalApiKey | string | null;
  body?: string | object;
  headers?: Record<string, string>;
  via?: LocalApiGateway;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One request through a gateway; its response must conform to the document. */
async function call(handler: ApiHandlerName, options: Call = {}): Promise<Answer> {
  const route = routeOf(handler);
  const params: Record<string, string> = {
    id: options.id ?? UNKNOWN_ID,
    keyId: options.keyId ?? '0'.repeat(64),
    principalId: options.principalId ?? 'oidc:https://idp.example.com#contract',
  };
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
  const url = new URL(path.slice(1) + (options.query ? `?${new URLSearchParams(options.query)}` : ''), (options.via ?? gateway).url);
  const key =
    options.key === undefined ? cliKey.value : typeof options.key === 'string' || options.key === null ? options.key : options.key.value;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await fetch(url, {
    method: route.method,
    redirect: 'manual',
    headers: {
      ...(key !== null && !PUBLIC_HANDLERS.has(handler) ? { 'x-api-key': key } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    body,
  });
  const text = await response.text();
  const headers = Object.fromEntries(response.headers.entries());
  const answer: Answer = { status: response.status, headers, text, json: text ? safeJson(text) : undefined };
  expect(
    checkResponse(doc, route.method, route.path, { statusCode: answer.status, headers, body: text }),
    `${route.method} ${route.path} ${answer.status} ${text}`,
  ).toEqual([]);
  observed.add(`${route.method} ${route.path} ${answer.status}`);
  return answer;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function createJob(body: object = { filename: 'KNIME_single_csv.knwf' }, key: LocalApiKey = cliKey): Promise<CreateJobResponse> {
  const response = await call('createJob', { body, key });
  expect(response.status).toBe(201);
  return CreateJobResponseSchema.parse(response.json);
}

/** A job taken all the way to SUCCEEDED by the real pipeline handlers (the test plays S3's event and the runner). */
async function succeededJob(): Promise<string> {
  const created = await createJob({ filename: 'KNIME two graphs.knwf' });
  const jobId = created.job.jobId;
  expect((await uploadBundle(created.upload!, sampleBundle('KNIME_two_graphs'))).status).toBe(204);
  expect(await pipeline.validateUpload(await aws.nextCreated(s3Keys.bundle(jobId)), lambdaContext())).toEqual({ outcomes: ['queued'] });
  const run = (await pipeline.prepareRun({ jobId }, lambdaContext())) as PrepareRunOutput;
  await putObject(run.resultUrl, resultZip('KNIME two graphs'));
  await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0, workflow: 'KNIME two graphs' })));
  await putObject(run.logUrl, `k2p-web conversion log: job ${jobId}, workflow KNIME two graphs\n`);
  await pipeline.recordOutcome({ jobId }, lambdaContext());
  return jobId;
}

/** Runs `fn` with POST /jobs admitting under `limits`, on a fresh table. */
async function withAdmission(limits: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const JOBS_TABLE_NAME = await aws.freshTable();
  active = { ...handlers, ...(await loadHandlers(['createJob'] as const, { ...limits, JOBS_TABLE_NAME })) };
  try {
    await fn();
  } finally {
    active = handlers;
  }
}

beforeAll(async () => {
  // Anonymous access on: the template then has the page's shared key too, whose plan blocks listing.
  model = await realModel(undefined, { anonymousAccess: true });
  keys = model.api.apiKeys.map((k, i) => ({
    logicalId: k.logicalId,
    id: `keyid${i}contract`,
    value: `value-${i}-${'k'.repeat(32)}`,
    enabled: true,
  }));
  const byOutput = (name: string) => keys.find((k) => k.logicalId === model.api.apiKeys.find((m) => m.outputName === name)!.logicalId)!;
  cliKey = byOutput('ClientApiKeyId');
  webKey = byOutput('WebApiKeyId');
  adminKey = { logicalId: cliKey.logicalId, id: 'keyidadmincontract', value: `value-admin-${'k'.repeat(32)}`, enabled: true };
  keys.push(adminKey);
  aws = await startLocalAws();
  applyEnv({
    ...aws.env,
    LIMIT_GLOBAL_IN_FLIGHT: '1000',
    LIMIT_PER_KEY_IN_FLIGHT: '1000',
    AWS_MAX_ATTEMPTS: '1',
    // As local mode runs it: callbacks to 127.0.0.1 allowed.
    WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    WEBHOOK_ALLOW_HTTP: 'true',
  });
  handlers = await loadHandlers(API_ROUTES.map((r) => r.handler));
  // Keys registered from API Gateway keys keep the key id as principal id, and their own usage plans.
  const registry = new KeyRegistry(aws.ddb, aws.keyTableName);
  for (const [key, name] of [
    [cliKey, 'cli'],
    [webKey, 'web-page'],
  ] as const) {
    await registry.register(key.value, {
      principalId: key.id,
      name,
      kind: 'program',
      role: 'user',
      enabled: true,
      createdAt: new Date().toISOString(),
      apiGatewayKeyId: key.id,
    });
  }
  await registry.register(adminKey.value, {
    principalId: adminKey.id,
    name: 'ops',
    kind: 'program',
    role: 'admin',
    enabled: true,
    createdAt: new Date().toISOString(),
    apiGatewayKeyId: adminKey.id,
  });
  await registry.register(REGISTERED_ONLY, {
    principalId: 'registered-only',
    name: 'no-plan',
    kind: 'program',
    role: 'user',
    enabled: true,
    createdAt: new Date().toISOString(),
    apiGatewayKeyId: 'keyid-in-no-usage-plan',
  });
  // As the template configures it: keys without an API Gateway key of their own go to the Programs key.
  const programsKey = keys.find((k) => k.logicalId === model.api.apiKeys.find((m) => m.logicalId.includes('ProgramsApiKey'))!.logicalId)!;
  authorizer = await loadHandler('authorizer', {
    [LAMBDA_ENV.KEY_TABLE_NAME]: aws.keyTableName,
    [LAMBDA_ENV.PROGRAMS_USAGE_KEY]: programsKey.value,
  });
  pipeline = await loadHandlers(PIPELINE);
  active = handlers;
  gateway = await startGateway();
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.close()));
  await aws?.stop();
});

describe('successes', () => {
  it('GET /health: 200 without a key', async () => {
    const response = await call('health');
    expect(response.json).toMatchObject({ status: 'ok', version: '0.1.0-test' });
  });

  it("GET /me: 200 with the key's principal and role", async () => {
    const response = await call('getMe');
    expect([response.status, response.json]).toEqual([200, { id: cliKey.id, name: 'cli', kind: 'program', role: 'user' }]);
  });

  it('POST /jobs: 201 with Location, and again with Idempotent-Replayed for the same Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': 'contract-1' };
    const first = await call('createJob', { body: { filename: 'a.knwf', sizeBytes: 2048, options: { graph: 'off' } }, headers });
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`/jobs/${first.json.job.jobId}`);
    const replay = await call('createJob', { body: { filename: 'a.knwf', sizeBytes: 2048, options: { graph: 'off' } }, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const empty = await call('createJob', {});
    expect(empty.status).toBe(201);
  });

  it(`GET /jobs: 200 pages of ${DEFAULT_LIST_LIMIT} by default, followed by nextToken`, async () => {
    const before = (await call('listJobs', { query: { limit: '100' } })).json.jobs.length as number;
    for (let i = before; i < DEFAULT_LIST_LIMIT + 1; i++) await createJob({ filename: `flow-${i}.zip` });
    const first = await call('listJobs');
    expect(first.status).toBe(200);
    expect(first.json.jobs).toHaveLength(DEFAULT_LIST_LIMIT);
    const second = await call('listJobs', { query: { nextToken: first.json.nextToken } });
    expect(second.status).toBe(200);
    expect(second.json.jobs.length).toBeGreaterThan(0);
  });

  it('GET /jobs/{id}: 200 with Retry-After while the job moves, without once it is done', async () => {
    const { job } = await createJob();
    const moving = await call('getJob', { id: job.jobId });
    expect(moving.status).toBe(200);
    expect(Number(moving.headers['retry-after'])).toBeGreaterThan(0);
    const done = await call('getJob', { id: await succeededJob() });
    expect(done.json.status).toBe('SUCCEEDED');
    expect(done.headers['retry-after']).toBeUndefined();
  });

  it('GET /jobs/{id}?waitSeconds: 200 after the wait, with K2p-Waited-Seconds', async () => {
    const { job } = await createJob();
    const held = await call('getJob', { id: job.jobId, query: { waitSeconds: '1' } });
    expect(held.status).toBe(200);
    expect(held.json.status).toBe('AWAITING_UPLOAD');
    expect(held.headers['k2p-waited-seconds']).toBe('1');
  });

  it('GET /jobs/{id}/result: 302 to a download that works, 200 with the link for redirect=false', async () => {
    const jobId = await succeededJob();
    const redirect = await call('getResult', { id: jobId });
    expect(redirect.status).toBe(302);
    const download = await fetch(redirect.headers.location!);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="KNIME two graphs-k2p.zip"');
    await download.arrayBuffer();
    const link = await call('getResult', { id: jobId, query: { redirect: 'false' } });
    expect(link.status).toBe(200);
    expect(link.json.filename).toBe('KNIME two graphs-k2p.zip');
  });

  it('webhook settings: POST /webhook/secret 201 (the secret, once), PUT /webhook 200, GET /webhook 200; a job with a callback shows its delivery', async () => {
    const secret = await call('rotateWebhookSecret');
    expect(secret.status).toBe(201);
    expect(secret.json.secret).toMatch(/^whsec_/);
    const put = await call('putWebhook', { body: { url: 'http://127.0.0.1:9/k2p' } });
    expect([put.status, put.json.url]).toEqual([200, 'http://127.0.0.1:9/k2p']);
    const get = await call('getWebhook');
    expect([get.status, get.json.secretCreatedAt]).toEqual([200, secret.json.createdAt]);
    const { job } = await createJob({ filename: 'hooked.knwf' });
    expect(job.webhook).toMatchObject({ url: 'http://127.0.0.1:9/k2p', status: 'PENDING', attempts: 0 });
    expect((await call('getJob', { id: job.jobId })).json.webhook).toMatchObject({ status: 'PENDING' });
    expect((await call('putWebhook', { body: { url: null } })).json.url).toBeNull();
  });

  it('GET /jobs/{id}/logs: 200 with the log as UTF-8 text', async () => {
    const jobId = await succeededJob();
    const log = await call('getLogs', { id: jobId });
    expect(log.status).toBe(200);
    expect(log.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(log.text).toBe(`k2p-web conversion log: job ${jobId}, workflow KNIME two graphs\n`);
    // Deleted with the job, like the report.
    await call('deleteJob', { id: jobId });
    expect((await call('getLogs', { id: jobId })).status).toBe(409);
    await expect(aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: s3Keys.log(jobId) }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('DELETE /jobs/{id}: 200 with the DELETED job, twice; 202 CANCELLING for a running job', async () => {
    const { job } = await createJob();
    for (let i = 0; i < 2; i++) {
      const response = await call('deleteJob', { id: job.jobId });
      expect(response.status).toBe(200);
      expect(response.json.status).toBe('DELETED');
    }
    const running = await runningJob();
    const stopping = await call('deleteJob', { id: running });
    expect([stopping.status, stopping.json.status]).toEqual([202, 'CANCELLING']);
  });

  it('POST /jobs/{id}/cancel: 200 CANCELLED before the task starts, 202 CANCELLING (again) while it stops', async () => {
    const { job } = await createJob();
    const cancelled = await call('cancelJob', { id: job.jobId });
    expect([cancelled.status, cancelled.json.status, cancelled.json.terminal]).toEqual([200, 'CANCELLED', true]);
    expect((await call('cancelJob', { id: job.jobId })).status).toBe(200);
    const running = await runningJob();
    for (let i = 0; i < 2; i++) {
      const stopping = await call('cancelJob', { id: running });
      expect([stopping.status, stopping.json.status, Number(stopping.headers['retry-after']) > 0]).toEqual([202, 'CANCELLING', true]);
    }
  });
});

describe('admin routes (role admin)', () => {
  const asAdmin = (options: Call = {}): Call => ({ key: adminKey, ...options });

  it('GET /admin/jobs and /admin/jobs/counts: 200 (every owner); 400 for a bad filter, range or token', async () => {
    const { job } = await createJob({}, webKey);
    const listed = await call('adminListJobs', asAdmin({ query: { owner: webKey.id } }));
    expect([listed.status, listed.json.jobs.map((j: { jobId: string }) => j.jobId)]).toEqual([200, expect.arrayContaining([job.jobId])]);
    const counts = await call('adminJobCounts', asAdmin({ query: { since: '1h' } }));
    expect([counts.status, counts.json.total > 0]).toEqual([200, true]);
    for (const query of [{ state: 'LOST' }, { since: 'last week' }, { nextToken: 'x' }, { limit: '101' }] as Record<string, string>[]) {
      const bad = await call('adminListJobs', asAdmin({ query }));
      expect([bad.status, bad.json.error.code], JSON.stringify(query)).toEqual([400, 'INVALID_REQUEST']);
    }
    const badRange = await call('adminJobCounts', asAdmin({ query: { since: '1h', until: '2h' } }));
    expect([badRange.status, badRange.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('GET /admin/jobs/{id}: 200 with the owner and timeline; 404 for an unknown id', async () => {
    const jobId = await succeededJob();
    const detail = await call('adminGetJob', asAdmin({ id: jobId }));
    expect([detail.status, detail.json.job.owner, detail.json.log.available]).toEqual([200, cliKey.id, true]);
    expect(detail.json.history.map((h: { status: string }) => h.status)).toEqual([
      'AWAITING_UPLOAD',
      'VALIDATING',
      'QUEUED',
      'RUNNING',
      'SUCCEEDED',
    ]);
    expect((await call('adminGetJob', asAdmin())).status).toBe(404);
  });

  it('POST /admin/jobs/{id}/cancel 200, 202, 409, 404; DELETE /admin/jobs/{id} 200, 202, 404; GET /admin/audit 200, 400', async () => {
    const { job } = await createJob();
    expect((await call('adminCancelJob', asAdmin({ id: job.jobId, body: {} }))).status).toBe(200);
    const running = await runningJob();
    const stopping = await call('adminCancelJob', asAdmin({ id: running, body: {} }));
    expect([stopping.status, stopping.json.status]).toEqual([202, 'CANCELLING']);
    const ended = await call('adminCancelJob', asAdmin({ id: await succeededJob(), body: {} }));
    expect([ended.status, ended.json.error.code]).toEqual([409, 'JOB_ALREADY_ENDED']);
    expect((await call('adminCancelJob', asAdmin({ body: {} }))).status).toBe(404);
    expect((await call('adminDeleteJob', asAdmin({ id: job.jobId }))).status).toBe(200);
    const deleting = await call('adminDeleteJob', asAdmin({ id: await runningJob() }));
    expect([deleting.status, deleting.json.status]).toEqual([202, 'CANCELLING']);
    expect((await call('adminDeleteJob', asAdmin())).status).toBe(404);
    const audit = await call('adminListAudit', asAdmin({ query: { since: '1h' } }));
    expect([audit.status, audit.json.entries.length]).toEqual([200, 7]);
    expect(audit.json.entries.every((e: { who: { id: string } }) => e.who.id === adminKey.id)).toBe(true);
    const bad = await call('adminListAudit', asAdmin({ query: { until: 'soon' } }));
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('GET /admin/jobs/{id}/logs: 200 with the log, 409 without one, 404 for an unknown id', async () => {
    const log = await call('adminGetJobLog', asAdmin({ id: await succeededJob() }));
    expect([log.status, log.headers['content-type'], log.text]).toEqual([
      200,
      expect.stringMatching(/^text\/plain/),
      expect.stringContaining('conversion log'),
    ]);
    const { job } = await createJob();
    const none = await call('adminGetJobLog', asAdmin({ id: job.jobId }));
    expect([none.status, none.json.error.code]).toEqual([409, 'LOG_NOT_AVAILABLE']);
    expect((await call('adminGetJobLog', asAdmin())).status).toBe(404);
  });

  it('keys: POST 201 (a key that works at once), GET 200 and 400, disable/enable 200, rotate 201, DELETE 200; 404 for an unknown key', async () => {
    const created = await call('adminCreateKey', asAdmin({ body: { name: 'contract-bot' } }));
    expect(created.status).toBe(201);
    const { keyId } = created.json.key as { keyId: string };
    expect((await call('getMe', { key: created.json.value })).json).toMatchObject({ name: 'contract-bot', kind: 'program' });
    const bad = await call('adminCreateKey', asAdmin({ body: { name: '' } }));
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const listed = await call('adminListKeys', asAdmin({ query: { limit: '100' } }));
    expect([listed.status, listed.json.keys.map((k: { keyId: string }) => k.keyId)]).toEqual([200, expect.arrayContaining([keyId])]);
    const badToken = await call('adminListKeys', asAdmin({ query: { nextToken: 'x' } }));
    expect([badToken.status, badToken.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await call('adminDisableKey', asAdmin({ keyId, body: {} }))).json.key.enabled).toBe(false);
    expect((await call('adminEnableKey', asAdmin({ keyId, body: {} }))).json.key.enabled).toBe(true);
    const rotated = await call('adminRotateKey', asAdmin({ keyId, body: {} }));
    expect([rotated.status, rotated.json.key.rotatedFrom]).toEqual([201, keyId]);
    expect((await call('adminDeleteKey', asAdmin({ keyId: rotated.json.key.keyId }))).status).toBe(200);
    for (const handler of ['adminDisableKey', 'adminEnableKey', 'adminRotateKey', 'adminDeleteKey'] as const) {
      const gone = await call(handler, asAdmin({ keyId, ...bodyFor(routeOf(handler)) }));
      expect([gone.status, gone.json.error.code], handler).toEqual([404, 'NOT_FOUND']);
    }
  });

  it('people: PUT 200 and 400, GET 200 and 400; usage: 200 and 400', async () => {
    const put = await call('adminPutPerson', asAdmin({ body: { enabled: false } }));
    expect([put.status, put.json.person.enabled]).toEqual([200, false]);
    const empty = await call('adminPutPerson', asAdmin({ body: {} }));
    expect([empty.status, empty.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const people = await call('adminListPeople', asAdmin());
    expect([people.status, people.json.people.length]).toEqual([200, 1]);
    const badLimit = await call('adminListPeople', asAdmin({ query: { limit: '101' } }));
    expect([badLimit.status, badLimit.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const usage = await call('adminUsage', asAdmin({ query: { since: '1h' } }));
    expect([usage.status, usage.json.principals.length > 0]).toEqual([200, true]);
    const badRange = await call('adminUsage', asAdmin({ query: { since: 'soon' } }));
    expect([badRange.status, badRange.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('403 FORBIDDEN from the handler for a key with role user, on every admin route', async () => {
    for (const handler of ADMIN_HANDLERS) {
      const response = await call(handler, { id: 'abcdefgh1234', ...bodyFor(routeOf(handler)) });
      expect([response.status, response.json.error.code, response.json.error.details], handler).toEqual([
        403,
        'FORBIDDEN',
        { requiredRoles: ['admin'] },
      ]);
    }
  });
});

/** A job the real pipeline handlers took to RUNNING (the test plays S3's event). */
async function runningJob(): Promise<string> {
  const created = await createJob();
  const jobId = created.job.jobId;
  expect((await uploadBundle(created.upload!, sampleBundle())).status).toBe(204);
  expect(await pipeline.validateUpload(await aws.nextCreated(s3Keys.bundle(jobId)), lambdaContext())).toEqual({ outcomes: ['queued'] });
  expect(await pipeline.prepareRun({ jobId }, lambdaContext())).toMatchObject({ skip: false });
  return jobId;
}

describe('errors of the handlers', () => {
  it('400 INVALID_REQUEST: a bad body or Idempotency-Key, a bad limit or nextToken, a bad redirect value', async () => {
    const { job } = await createJob();
    const bad = [
      await call('createJob', { body: { options: { workbook: 'xlsx' } } }),
      await call('createJob', { body: '{"filename": ' }),
      await call('createJob', { body: {}, headers: { 'Idempotency-Key': 'has spaces' } }),
      await call('listJobs', { query: { limit: '0' } }),
      await call('listJobs', { query: { nextToken: 'not-a-token' } }),
      await call('getResult', { id: job.jobId, query: { redirect: 'maybe' } }),
      await call('putWebhook', { body: { url: 'https://hooks.example.com/k2p', extra: true } }),
      await call('putWebhook', { body: {} }),
      await call('getJob', { id: job.jobId, query: { waitSeconds: '21' } }),
    ];
    for (const response of bad) expect([response.status, response.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('404 NOT_FOUND: an unknown id, a malformed id, another key’s job', async () => {
    const { job } = await createJob({}, webKey);
    for (const handler of ['getJob', 'deleteJob', 'getResult', 'cancelJob', 'getLogs'] as const) {
      for (const id of [UNKNOWN_ID, 'no', job.jobId]) {
        const response = await call(handler, { id });
        expect([response.status, response.json.error.code]).toEqual([404, 'NOT_FOUND']);
      }
    }
  });

  it('409 RESULT_NOT_READY while the job moves, 410 RESULT_GONE once it is deleted', async () => {
    const { job } = await createJob();
    const notReady = await call('getResult', { id: job.jobId });
    expect([notReady.status, notReady.json.error.code, Number(notReady.headers['retry-after']) > 0]).toEqual([
      409,
      'RESULT_NOT_READY',
      true,
    ]);
    await call('deleteJob', { id: job.jobId });
    const gone = await call('getResult', { id: job.jobId });
    expect([gone.status, gone.json.error.code]).toEqual([410, 'RESULT_GONE']);
  });

  it('409 JOB_ALREADY_ENDED when cancelling a job that ended otherwise, with its status', async () => {
    const response = await call('cancelJob', { id: await succeededJob() });
    expect([response.status, response.json.error.code, response.json.error.details]).toEqual([
      409,
      'JOB_ALREADY_ENDED',
      { status: 'SUCCEEDED' },
    ]);
  });

  it('409 LOG_NOT_AVAILABLE for a job that has not run, with Retry-After only while it could still get one', async () => {
    const { job } = await createJob();
    const waiting = await call('getLogs', { id: job.jobId });
    expect([waiting.status, waiting.json.error.code, waiting.json.error.details]).toEqual([
      409,
      'LOG_NOT_AVAILABLE',
      { status: 'AWAITING_UPLOAD' },
    ]);
    expect(Number(waiting.headers['retry-after'])).toBeGreaterThan(0);
    await call('deleteJob', { id: job.jobId });
    const deleted = await call('getLogs', { id: job.jobId });
    expect([deleted.status, deleted.json.error.code, deleted.headers['retry-after']]).toEqual([409, 'LOG_NOT_AVAILABLE', undefined]);
  });

  it('422 BUNDLE_TOO_LARGE for a declared size over the upload limit', async () => {
    const response = await call('createJob', { body: { sizeBytes: 60 * 1024 * 1024 } });
    expect([response.status, response.json.error.code]).toEqual([422, 'BUNDLE_TOO_LARGE']);
  });

  it('422 CALLBACK_URL_REFUSED for a callback URL the service will not call; 409 WEBHOOK_NOT_CONFIGURED without a secret', async () => {
    for (const [handler, body] of [
      ['createJob', { callbackUrl: 'https://169.254.169.254/latest/meta-data/' }],
      ['putWebhook', { url: 'ftp://hooks.example.com/k2p' }],
    ] as const) {
      const response = await call(handler, { body });
      expect([response.status, response.json.error.code], handler).toEqual([422, 'CALLBACK_URL_REFUSED']);
    }
    // The page's shared key can never have a secret (its plan blocks the webhook routes).
    const unconfigured = await call('createJob', { body: { callbackUrl: 'http://127.0.0.1:9/k2p' }, key: webKey });
    expect([unconfigured.status, unconfigured.json.error.code]).toEqual([409, 'WEBHOOK_NOT_CONFIGURED']);
  });

  it('429 RATE_LIMITED and 503 SERVER_BUSY from admission control, with Retry-After', async () => {
    await withAdmission({ LIMIT_GLOBAL_IN_FLIGHT: '10', LIMIT_PER_KEY_IN_FLIGHT: '1' }, async () => {
      expect((await call('createJob', { body: {} })).status).toBe(201);
      const limited = await call('createJob', { body: {} });
      expect([limited.status, limited.json.error.code, Number(limited.headers['retry-after']) > 0]).toEqual([429, 'RATE_LIMITED', true]);
    });
    await withAdmission({ LIMIT_GLOBAL_IN_FLIGHT: '1', LIMIT_PER_KEY_IN_FLIGHT: '10' }, async () => {
      expect((await call('createJob', { body: {} })).status).toBe(201);
      const busy = await call('createJob', { body: {}, key: webKey });
      expect([busy.status, busy.json.error.code, Number(busy.headers['retry-after']) > 0]).toEqual([503, 'SERVER_BUSY', true]);
    });
  });

  it('500 INTERNAL_ERROR when DynamoDB is unreachable, on every key-protected route that reads it', async () => {
    await withEnv({ AWS_ENDPOINT_URL_DYNAMODB: DEAD_ENDPOINT }, async () => {
      active = await loadHandlers(KEYED.map((r) => r.handler));
      try {
        // GET /me reads nothing but the authorizer's answer.
        for (const route of KEYED.filter((r) => r.handler !== 'getMe')) {
          const key = ADMIN_HANDLERS.has(route.handler) ? adminKey : undefined;
          const response = await call(route.handler, { id: 'abcdefgh1234', key, ...bodyFor(route) });
          expect([response.status, response.json.error.code], route.handler).toEqual([500, 'INTERNAL_ERROR']);
        }
      } finally {
        active = handlers;
      }
    });
  });

  it('401 UNAUTHORIZED from every key-protected handler reached without an API key id', async () => {
    for (const route of KEYED) {
      const response = await callApi(handlers[route.handler], {
        method: route.method,
        resource: route.path,
        apiKeyId: null,
        pathParameters: { id: 'abcdefgh1234' },
        ...bodyFor(route),
      });
      expect(checkResponse(doc, route.method, route.path, response)).toEqual([]);
      expect([response.statusCode, response.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
      observed.add(`${route.method} ${route.path} ${response.statusCode}`);
    }
  });
});

describe('errors of the gateway', () => {
  it('401 UNAUTHORIZED without a key or with an unknown one, on every key-protected route', async () => {
    for (const route of KEYED) {
      for (const key of [null, 'not-a-key']) {
        const response = await call(route.handler, { key, ...bodyFor(route) });
        expect([response.status, response.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
      }
    }
  });

  it('503 AUTH_UNAVAILABLE with Retry-After when the authorizer cannot decide, on every key-protected route', async () => {
    const authorizerArn = model.api.routes.find((r) => r.authorizer)!.authorizer!.functionArn;
    const failing = await startApiGateway({
      api: model.api,
      keys,
      accountId: '000000000000',
      invoke: (arn, event) => {
        // The identity provider is unreachable: the function fails with another error than "Unauthorized".
        if (arn === authorizerArn) return Promise.reject(new Error('Authorizer unavailable'));
        return active[handlerForArn(arn)]!(event, lambdaContext());
      },
    });
    gateways.push(failing);
    for (const route of KEYED) {
      const response = await call(route.handler, { via: failing, ...bodyFor(route) });
      expect([response.status, response.json.error.code], route.handler).toEqual([503, 'AUTH_UNAVAILABLE']);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('403 FORBIDDEN for a registered key that is in no usage plan, on every key-protected route', async () => {
    for (const route of KEYED) {
      const response = await call(route.handler, { key: REGISTERED_ONLY, ...bodyFor(route) });
      expect([response.status, response.json.error.code]).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('413 for a request body over 10 MB', async () => {
    const response = await call('createJob', { body: JSON.stringify({ filename: 'x'.repeat(10 * 1024 * 1024) }) });
    expect([response.status, response.json.error.code]).toEqual([413, 'INVALID_REQUEST']);
  });

  it('429 RATE_LIMITED once a usage plan or the stage is throttled, on every route; the web key may not list jobs', async () => {
    const blocked = await call('listJobs', { key: webKey });
    expect([blocked.status, blocked.json.error.code]).toEqual([429, 'RATE_LIMITED']);
    // Whoever set the shared key's default URL would receive everyone's events: its plan blocks the webhook routes.
    for (const handler of ['getWebhook', 'putWebhook', 'rotateWebhookSecret'] as const) {
      const refused = await call(handler, { key: webKey, ...bodyFor(routeOf(handler)) });
      expect([refused.status, refused.json.error.code], handler).toEqual([429, 'RATE_LIMITED']);
    }
    // A frozen clock: buckets never refill, so each one runs dry.
    const frozen = await startGateway({ monotonicNow: () => 1000 });
    for (const route of API_ROUTES) {
      let response: Answer;
      let attempts = 0;
      do {
        response = await call(route.handler, {
          via: frozen,
          id: UNKNOWN_ID,
          ...(route.method === 'POST' ? { body: { sizeBytes: 10 ** 12 } } : bodyFor(route)),
        });
      } while (response.status !== 429 && ++attempts < 500);
      expect([response.status, response.json.error.code], route.handler).toEqual([429, 'RATE_LIMITED']);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('502 when the function crashes, 504 when it does not answer in time, on every route', async () => {
    const crashing = await startGateway({ invoke: () => Promise.reject(new Error('Runtime.ExitError')) });
    const slow = await startGateway({ integrationTimeoutMs: 50, invoke: () => new Promise((resolve) => setTimeout(resolve, 1000)) });
    for (const route of API_ROUTES) {
      const body = bodyFor(route);
      const crashed = await call(route.handler, { via: crashing, ...body });
      expect([crashed.status, crashed.json.error.code], route.handler).toEqual([502, 'INTERNAL_ERROR']);
      const timedOut = await call(route.handler, { via: slow, ...body });
      expect([timedOut.status, timedOut.json.error.code], route.handler).toEqual([504, 'INTERNAL_ERROR']);
    }
  });
});

describe('coverage', () => {
  it('produced every status the document lists for every route, and only those', () => {
    const documented = documentedResponses(doc).sort();
    expect([...observed].sort()).toEqual(documented);
  });
});
