/**
 * Webhooks through local mode with the real knime2py and a receiver on
 * 127.0.0.1: a finished conversion's event arrives without the schedule (the
 * state machine nudges the sender) and verifies with the documented snippet;
 * a delivery pending while the receiver is down survives a restart of the
 * local stack on the same data directory and completes after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient } from '../../core/api-client';
import { WebhookEventSchema } from '../../core/api-schemas';
import { uploadToPresignedPost } from '../../core/node/upload';
import { startLocalStack, type LocalStack } from '../../local/host/local-stack';
import { describeWithRealConverter, findRealConverter, type RealConverter } from '../support/real-converter';
import { nodeVerifier, startReceiver, type Receiver } from '../support/webhook-receiver';
import { bundleOfSample, STACK_NAME, synthE2e } from './support';

const real = await findRealConverter();

describeWithRealConverter('webhooks through local mode', real, (converter: RealConverter) => {
  let dataDir: string;
  let cdkOut: string;
  let stack: LocalStack;
  let receiver: Receiver;

  const start = (fresh: boolean) =>
    startLocalStack({
      cdkOut,
      synth: 'never',
      stackName: STACK_NAME,
      dataDir,
      fresh,
      portBase: 0,
      controllableClock: true,
      // Deliveries happen only through the state machine's nudge or when a test fires the schedules.
      schedules: false,
      asyncRetryDelaysMs: [200, 400],
      taskStopTimeoutSeconds: 2,
      converterEnv: converter.localModeEnv,
    });
  const client = () => new ApiClient({ baseUrl: stack.urls.api, apiKey: stack.keys.cli.value });
  const api = (method: string, path: string) =>
    fetch(`${stack.urls.api}${path}`, { method, headers: { 'x-api-key': stack.keys.cli.value } }).then((r) => r.json());

  beforeAll(async () => {
    cdkOut = await synthE2e();
    dataDir = mkdtempSync(join(tmpdir(), 'k2p-e2e-webhooks-'));
    receiver = await startReceiver();
    stack = await start(true);
  }, 600_000);

  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a finished conversion’s signed event at once, without waiting for the schedule', async () => {
    const { secret } = (await api('POST', '/webhook/secret')) as { secret: string };
    const bundle = await bundleOfSample('KNIME_single_csv');
    const { job, upload } = await client().createJob({
      filename: 'KNIME_single_csv.zip',
      sizeBytes: bundle.length,
      callbackUrl: `${receiver.origin}/hook`,
    });
    await uploadToPresignedPost(upload!, bundle);
    const done = await client().followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 60_000 });
    expect(done.status).toBe('SUCCEEDED');
    const deadline = Date.now() + 30_000;
    while (receiver.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    const event = WebhookEventSchema.parse(JSON.parse(request!.body.toString('utf8')));
    expect(event.job).toMatchObject({ jobId: job.jobId, status: 'SUCCEEDED', code: null, workflowName: 'KNIME_single_csv' });
    expect((await nodeVerifier())(request!.body, String(request!.headers['k2p-signature']), secret)).toBe(true);
    expect((await client().getJob(job.jobId)).webhook).toMatchObject({ status: 'DELIVERED', attempts: 1, lastResponseCode: 200 });
  }, 120_000);

  it('completes a delivery pending across a restart of the local stack on the same data directory', async () => {
    receiver.requests.length = 0;
    await receiver.down();
    const { job } = await client().createJob({ filename: 'restart.zip', callbackUrl: `${receiver.origin}/hook` });
    await client().deleteJob(job.jobId);
    await stack.triggerReaper();
    const pending = (await client().getJob(job.jobId)).webhook;
    expect(pending).toMatchObject({ status: 'PENDING', attempts: 1, lastResponseCode: null });
    expect(pending!.lastError).toMatch(/ECONNREFUSED/);

    const key = stack.keys.cli.value;
    await stack.close();
    await receiver.up();
    stack = await start(false);
    expect(stack.keys.cli.value).toBe(key);
    // Past the back-off (30 s at most for the second attempt), then the sweep runs.
    stack.clock.advance(2 * 60_000);
    await stack.triggerReaper();

    expect(receiver.requests).toHaveLength(1);
    const event = WebhookEventSchema.parse(JSON.parse(receiver.requests[0]!.body.toString('utf8')));
    expect(event.job).toMatchObject({ jobId: job.jobId, status: 'DELETED' });
    expect((await client().getJob(job.jobId)).webhook).toMatchObject({
      status: 'DELIVERED',
      attempts: 2,
      lastResponseCode: 200,
      lastError: null,
    });
  }, 600_000);
});
