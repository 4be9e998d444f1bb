/**
 * Webhooks through the real handlers on dynalite and s3rver, delivered over
 * HTTP to a receiver on 127.0.0.1: the settings routes, a signed delivery the
 * documented Node and Python snippets verify, retries while the receiver is
 * down (the sender driven with an injected clock), redirects not followed,
 * refused URLs at creation and, after DNS rebinding, at delivery (no
 * connection made), concurrent senders, secret rotation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebhookEventSchema, type CreateJobResponse } from '../../core/api-schemas';
import { STRICT_CALLBACK_POLICY, type CallbackPolicy } from '../../core/callback-url';
import { bundleLimitsFromEnv, serviceLimitsFromEnv } from '../../core/limits';
import { s3Keys } from '../../core/service-env';
import { Capacity } from '../../lambdas/storage/capacity';
import { postCallback, type Resolver } from '../../lambdas/storage/callback-http';
import { IdempotencyStore } from '../../lambdas/storage/idempotency';
import { JobObjects } from '../../lambdas/storage/job-objects';
import { JobStore } from '../../lambdas/storage/job-store';
import { WebhookSettingsStore } from '../../lambdas/storage/webhook-settings';
import type { PrepareRunOutput } from '../../lambdas/use-cases/conversion-steps';
import { createJob } from '../../lambdas/use-cases/job-creation';
import { deliverDueWebhooks, deliverJobWebhook, type DeliveryDeps } from '../../lambdas/use-cases/webhooks';
import { putObject, resultZip, runnerReport, sampleBundle, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandlers, type AnyHandler, type ApiRequest } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';
import { answerWith, nodeVerifier, pythonVerify, startReceiver, type Receiver } from '../support/webhook-receiver';

// The use-cases imported below log through a logger built at import time, before beforeAll sets the env.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = process.env.K2P_TEST_LOG_LEVEL ?? 'SILENT';
});

const HANDLERS = ['createJob', 'getJob', 'deleteJob', 'getWebhook', 'putWebhook', 'rotateWebhookSecret', 'deliverWebhooks'] as const;
const PIPELINE = ['validateUpload', 'prepareRun', 'recordOutcome'] as const;
/** What the deployment sets for local receivers: loopback allow-listed, http allowed. */
const LOCAL_POLICY = { WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8', WEBHOOK_ALLOW_HTTP: 'true' };
const LOCAL: CallbackPolicy = { allowCidrs: ['127.0.0.0/8'], allowHttp: true };

let aws: LocalAws;
let api: Record<(typeof HANDLERS)[number], AnyHandler>;
let strictApi: Record<'createJob' | 'putWebhook', AnyHandler>;
let pipeline: Record<(typeof PIPELINE)[number], AnyHandler>;
let receiver: Receiver;
let store: JobStore;
let settings: WebhookSettingsStore;
let principal = 0;
let owner: string;

const call = (handler: AnyHandler, request: Omit<ApiRequest, 'apiKeyId'>, key: string = owner) =>
  callApi(handler, { ...request, apiKeyId: key });
const rotate = async (key: string = owner) =>
  (await call(api.rotateWebhookSecret, { method: 'POST', resource: '/webhook/secret' }, key)).json as { secret: string; createdAt: string };

async function newJob(body: object): Promise<CreateJobResponse> {
  const response = await call(api.createJob, { method: 'POST', resource: '/jobs', body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json as CreateJobResponse;
}

/** A job with a callback that ends DELETED (a terminal state) right away. */
async function finishedJob(url: string = `${receiver.origin}/hook`): Promise<string> {
  const { job } = await newJob({ filename: 'flow.knwf', callbackUrl: url });
  expect((await call(api.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: job.jobId } })).statusCode).toBe(200);
  return job.jobId;
}

function deliveryDeps(overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  return { store, settings, policy: LOCAL, userAgent: 'k2p-web-webhooks/0.1.0-test', ...overrides };
}

async function webhookOf(jobId: string) {
  const view = await call(api.getJob, { method: 'GET', resource: '/jobs/{id}', pathParameters: { id: jobId } });
  return view.json.webhook;
}

beforeAll(async () => {
  aws = await startLocalAws();
  applyEnv({ ...aws.env, ...LOCAL_POLICY, LIMIT_GLOBAL_IN_FLIGHT: '1000', LIMIT_PER_KEY_IN_FLIGHT: '1000' });
  api = await loadHandlers(HANDLERS);
  strictApi = await loadHandlers(['createJob', 'putWebhook'] as const, { WEBHOOK_ALLOW_CIDRS: '', WEBHOOK_ALLOW_HTTP: 'false' });
  pipeline = await loadHandlers(PIPELINE);
  store = new JobStore(aws.ddb, aws.tableName);
  settings = new WebhookSettingsStore(aws.ddb, aws.tableName);
  receiver = await startReceiver();
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await aws?.stop();
});

beforeEach(() => {
  owner = `webhook-key-${++principal}`;
  receiver.requests.length = 0;
  receiver.connections = 0;
  receiver.answer = answerWith(200);
});

describe('settings', () => {
  it('needs a secret before any callback (409), shows the secret once, and keeps the default URL', async () => {
    const none = await call(api.getWebhook, { method: 'GET', resource: '/webhook' });
    expect(none.json).toEqual({ url: null, secretCreatedAt: null });
    const early = await call(api.createJob, { method: 'POST', resource: '/jobs', body: { callbackUrl: `${receiver.origin}/hook` } });
    expect([early.statusCode, early.json.error.code, early.json.error.details]).toEqual([
      409,
      'WEBHOOK_NOT_CONFIGURED',
      { hint: 'POST /webhook/secret first' },
    ]);

    const created = await call(api.rotateWebhookSecret, { method: 'POST', resource: '/webhook/secret' });
    expect(created.statusCode).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const shown = await call(api.getWebhook, { method: 'GET', resource: '/webhook' });
    expect(shown.json).toEqual({ url: null, secretCreatedAt: created.json.createdAt });
    expect(shown.body).not.toContain(created.json.secret);

    const put = await call(api.putWebhook, { method: 'PUT', resource: '/webhook', body: { url: `${receiver.origin}/default` } });
    expect(put.json).toEqual({ url: `${receiver.origin}/default`, secretCreatedAt: created.json.createdAt });
    // A job naming no callback gets the default one.
    const { job } = await newJob({});
    expect(job.webhook).toEqual({
      url: `${receiver.origin}/default`,
      status: 'PENDING',
      attempts: 0,
      lastAttemptAt: null,
      lastResponseCode: null,
      lastError: null,
      nextAttemptAt: null,
    });
    const cleared = await call(api.putWebhook, { method: 'PUT', resource: '/webhook', body: { url: null } });
    expect(cleared.json.url).toBeNull();
    expect((await newJob({})).job.webhook).toBeUndefined();
    // Another key sees none of it.
    expect((await call(api.getWebhook, { method: 'GET', resource: '/webhook' }, `${owner}-other`)).json).toEqual({
      url: null,
      secretCreatedAt: null,
    });
  });

  it('refuses, with the reason, URLs that are not https, carry credentials, or resolve to private, loopback or metadata addresses', async () => {
    await rotate();
    const refused: [string, RegExp][] = [
      ['http://hooks.example.com/k2p', /only https URLs are accepted/],
      ['https://user:pw@hooks.example.com/k2p', /user name or password/],
      ['https://169.254.169.254/latest/meta-data/', /cloud metadata address/],
      ['https://[::ffff:169.254.169.254]/', /cloud metadata address/],
      ['https://10.0.0.8/hook', /private \(RFC 1918\)/],
      ['https://localhost/hook', /localhost resolves to .*loopback/],
      ['https://no-such-host.invalid/hook', /could not be resolved/],
    ];
    for (const [url, why] of refused) {
      for (const response of [
        await call(strictApi.createJob, { method: 'POST', resource: '/jobs', body: { callbackUrl: url } }),
        await call(strictApi.putWebhook, { method: 'PUT', resource: '/webhook', body: { url } }),
      ]) {
        expect([response.statusCode, response.json.error.code], url).toEqual([422, 'CALLBACK_URL_REFUSED']);
        expect(response.json.error.message, url).toMatch(why);
      }
    }
  });

  it('keeps the previous secret signing for 24 hours after a rotation, then only the new one', async () => {
    const old = await rotate();
    const current = await rotate();
    expect((await call(api.getWebhook, { method: 'GET', resource: '/webhook' })).json.previousSecretValidUntil).toBeDefined();
    const verify = await nodeVerifier();
    const jobId = await finishedJob();
    await deliverJobWebhook(deliveryDeps(), jobId);
    const [request] = receiver.requests;
    const header = String(request!.headers['k2p-signature']);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verify(request!.body, header, current.secret)).toBe(true);
    expect(verify(request!.body, header, old.secret)).toBe(true);

    const later = await finishedJob();
    const dayLater = Date.now() + 24 * 3_600_000 + 60_000;
    await deliverJobWebhook(deliveryDeps({ now: () => dayLater }), later);
    const laterHeader = String(receiver.requests[1]!.headers['k2p-signature']);
    expect(laterHeader.match(/v1=/g)).toHaveLength(1);
    expect(laterHeader.split(',v1=')[1]).not.toBe(header.split(',v1=')[2]);
  });
});

describe('delivery', () => {
  it('POSTs a signed job.finished event for a conversion that SUCCEEDED; the documented Node and Python snippets verify it', async () => {
    const { secret } = await rotate();
    const created = await newJob({ filename: 'KNIME two graphs.knwf', callbackUrl: `${receiver.origin}/hook?source=k2p` });
    const jobId = created.job.jobId;
    expect((await uploadBundle(created.upload!, sampleBundle('KNIME_two_graphs'))).status).toBe(204);
    expect(await pipeline.validateUpload(await aws.nextCreated(s3Keys.bundle(jobId)), lambdaContext())).toEqual({ outcomes: ['queued'] });
    const run = (await pipeline.prepareRun({ jobId }, lambdaContext())) as PrepareRunOutput;
    await putObject(run.resultUrl, resultZip('KNIME two graphs'));
    await putObject(
      run.reportUrl,
      JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0, workflow: 'KNIME two graphs' })),
    );
    await pipeline.recordOutcome({ jobId }, lambdaContext());

    // What the state machine's NotifyFinished step sends the sender.
    expect(await api.deliverWebhooks({ jobId }, lambdaContext())).toMatchObject({ attempted: 1, delivered: 1 });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/hook?source=k2p');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('k2p-web-webhooks/0.1.0-test');
    const event = WebhookEventSchema.parse(JSON.parse(request!.body.toString('utf8')));
    expect(request!.headers['k2p-event-id']).toBe(event.id);
    const view = (await call(api.getJob, { method: 'GET', resource: '/jobs/{id}', pathParameters: { id: jobId } })).json;
    expect(event.job).toEqual({
      jobId,
      status: 'SUCCEEDED',
      code: null,
      workflowName: 'KNIME two graphs',
      resultExpiresAt: view.result.expiresAt,
      finishedAt: view.finishedAt,
    });
    expect(request!.body.toString('utf8')).not.toMatch(/X-Amz|whsec_|\/result/);

    const header = String(request!.headers['k2p-signature']);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const verify = await nodeVerifier();
    const tampered = Buffer.from(request!.body.toString('utf8').replace('SUCCEEDED', 'FAILED'));
    expect([verify(request!.body, header, secret), verify(tampered, header, secret), verify(request!.body, header, 'whsec_wrong')]).toEqual(
      [true, false, false],
    );
    expect(
      pythonVerify([
        { rawBody: request!.body, header, secret },
        { rawBody: tampered, header, secret },
        { rawBody: request!.body, header, secret: 'whsec_wrong' },
      ]),
    ).toEqual([true, false, false]);

    expect(view.webhook).toMatchObject({ status: 'DELIVERED', attempts: 1, lastResponseCode: 200, lastError: null, nextAttemptAt: null });
    // Delivered once: later sweeps and later terminal moves do not send again.
    await api.deliverWebhooks({}, lambdaContext());
    await call(api.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: jobId } });
    expect(await deliverDueWebhooks(deliveryDeps({ now: () => Date.now() + 3_600_000 }))).toMatchObject({ attempted: 0 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries with back-off while the receiver is down and delivers once it is up (the sender on an injected clock)', async () => {
    await rotate();
    receiver.answer = answerWith(503);
    const jobId = await finishedJob();
    let now = Date.now();
    const deps = deliveryDeps({ now: () => now, random: () => 0 });

    expect(await deliverDueWebhooks(deps)).toMatchObject({ attempted: 1, retrying: 1 });
    let webhook = await webhookOf(jobId);
    expect(webhook).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      lastResponseCode: 503,
      lastError: 'HTTP 503',
      nextAttemptAt: new Date(now + 30_000).toISOString(),
    });

    // Not due yet: nothing is sent.
    now += 20_000;
    expect(await deliverDueWebhooks(deps)).toMatchObject({ attempted: 0 });

    await receiver.down();
    now += 11_000;
    expect(await deliverDueWebhooks(deps)).toMatchObject({ attempted: 1, retrying: 1 });
    webhook = await webhookOf(jobId);
    expect(webhook).toMatchObject({
      status: 'PENDING',
      attempts: 2,
      lastResponseCode: null,
      nextAttemptAt: new Date(now + 60_000).toISOString(),
    });
    expect(webhook.lastError).toMatch(/ECONNREFUSED/);

    await receiver.up();
    receiver.answer = answerWith(204);
    now += 60_000;
    expect(await deliverDueWebhooks(deps)).toMatchObject({ attempted: 1, delivered: 1 });
    expect(await webhookOf(jobId)).toMatchObject({ status: 'DELIVERED', attempts: 3, lastResponseCode: 204, lastError: null });
    // Both requests that reached the receiver carried the same event.
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]!.headers['k2p-event-id']).toBe(receiver.requests[1]!.headers['k2p-event-id']);
  });

  it('gives up after the retry window: FAILED, out of the queue', async () => {
    await rotate();
    receiver.answer = answerWith(500);
    const jobId = await finishedJob();
    await deliverDueWebhooks(deliveryDeps());
    const dayLater = Date.now() + 24 * 3_600_000 + 1000;
    await deliverDueWebhooks(deliveryDeps({ now: () => dayLater }));
    expect(await webhookOf(jobId)).toMatchObject({ status: 'FAILED', attempts: 2, lastResponseCode: 500, nextAttemptAt: null });
    expect(await deliverDueWebhooks(deliveryDeps({ now: () => dayLater + 7 * 24 * 3_600_000 }))).toMatchObject({ attempted: 0 });
  });

  it('never follows a redirect: the target is not hit and the attempt is recorded as failed', async () => {
    await rotate();
    receiver.answer = (request, res) => {
      if (request.path === '/hook') res.writeHead(302, { Location: `${receiver.origin}/target` }).end();
      else res.writeHead(200).end();
    };
    const jobId = await finishedJob();
    expect(await deliverJobWebhook(deliveryDeps(), jobId)).toMatchObject({ attempted: 1, retrying: 1 });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
    const webhook = await webhookOf(jobId);
    expect(webhook).toMatchObject({ status: 'PENDING', attempts: 1, lastResponseCode: 302 });
    expect(webhook.lastError).toContain(`redirect (HTTP 302 to ${receiver.origin}/target) not followed`);
  });

  it('lets exactly one of several concurrent senders make an attempt', async () => {
    await rotate();
    const jobId = await finishedJob();
    const summaries = await Promise.all([
      deliverJobWebhook(deliveryDeps(), jobId),
      deliverJobWebhook(deliveryDeps(), jobId),
      deliverDueWebhooks(deliveryDeps()),
      deliverDueWebhooks(deliveryDeps()),
    ]);
    expect(summaries.reduce((n, s) => n + s.attempted, 0)).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    expect(await webhookOf(jobId)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });

  it('queues only jobs with a callback, and only once they are terminal', async () => {
    await rotate();
    const { job: plain } = await newJob({});
    await call(api.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: plain.jobId } });
    const { job: waiting } = await newJob({ callbackUrl: `${receiver.origin}/hook` });
    const due = await store.listWebhookDue(new Date(Date.now() + 86_400_000).toISOString(), 100);
    expect(due.map((j) => j.jobId)).not.toContain(plain.jobId);
    expect(due.map((j) => j.jobId)).not.toContain(waiting.jobId);
  });
});

describe('SSRF at delivery', () => {
  it('refuses a name that resolved publicly at creation and to the metadata address at delivery (DNS rebinding): failed attempt, no connection', async () => {
    await rotate();
    let lookups = 0;
    // Public first, then the metadata address: what a rebinding DNS server answers.
    const rebinding: Resolver = async () => [{ address: ++lookups === 1 ? '93.184.216.34' : '169.254.169.254', family: 4 }];
    const env = process.env;
    const { job } = await createJob(
      {
        store,
        capacity: new Capacity(aws.ddb, aws.tableName),
        objects: new JobObjects(aws.s3, aws.bucket),
        idempotency: new IdempotencyStore(aws.ddb, aws.tableName),
        s3: aws.s3,
        bucket: aws.bucket,
        limits: serviceLimitsFromEnv(env),
        bundleLimits: bundleLimitsFromEnv(env),
        webhooks: { settings, policy: STRICT_CALLBACK_POLICY, resolver: rebinding },
      },
      { owner, request: { callbackUrl: 'https://hooks.rebind.example/k2p' } },
    );
    expect(job.callback).toEqual({ url: 'https://hooks.rebind.example/k2p' });
    await call(api.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: job.jobId } });

    expect(await deliverJobWebhook(deliveryDeps({ policy: STRICT_CALLBACK_POLICY, resolver: rebinding }), job.jobId)).toMatchObject({
      attempted: 1,
      retrying: 1,
    });
    expect(lookups).toBe(2);
    const webhook = await webhookOf(job.jobId);
    expect(webhook).toMatchObject({ status: 'PENDING', attempts: 1, lastResponseCode: null });
    expect(webhook.lastError).toBe(
      'refused before connecting: hooks.rebind.example resolves to 169.254.169.254, the cloud metadata address; only public addresses are reachable',
    );
  });

  it('checks the address in the connection’s own lookup: a name rebound to loopback opens no connection unless allow-listed', async () => {
    const toLoopback: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const request = {
      url: `http://receiver.rebind.example:${receiver.port}/hook`,
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    };
    const refused = await postCallback(request, { allowCidrs: [], allowHttp: true }, { resolver: toLoopback, timeoutMs: 5000 });
    expect(refused).toEqual({
      error:
        'refused before connecting: receiver.rebind.example resolves to 127.0.0.1, a loopback address; only public addresses are reachable',
    });
    expect(receiver.connections).toBe(0);
    // The same request with loopback allow-listed connects: the refusal above came from the address check alone.
    expect(await postCallback(request, LOCAL, { resolver: toLoopback, timeoutMs: 5000 })).toEqual({ status: 200 });
    expect(receiver.connections).toBe(1);
  });
});
