/**
 * Local mode end to end with the knime2py CONTRACT DOUBLE as the converter,
 * for what the real knime2py cannot be made to do on demand: every exit code,
 * a hang, a stdout flood, oversized output, a runner killed mid-job and an
 * execution stopped mid-run.
 */
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadToPresignedPost } from '../../core/node/upload';
import { bundleFiles, zipFiles } from '../support/samples';
import { SAMPLES_DIR } from '../support/zip-builder';
import { bundleWithMode, E2E_SERVICE_LIMITS, expectApiError, startE2e, submit, type E2e } from './support';

let e2e: E2e;

beforeAll(async () => {
  e2e = await startE2e();
}, 600_000);

afterAll(async () => {
  await e2e?.close();
});

describe('conversion failures (contract double)', () => {
  it.each([
    ['exit-2', 'FAILED', 'CONVERTER_INPUT_ERROR'],
    ['exit-3', 'FAILED', 'CONVERTER_PARSE_ERROR'],
    ['exit-4', 'FAILED', 'CONVERTER_NO_NODES'],
    ['exit-1', 'FAILED', 'CONVERTER_FAILED'],
    ['hang', 'TIMED_OUT', 'CONVERTER_TIMEOUT'],
    ['flood-stdout', 'FAILED', 'CONVERTER_FAILED'],
    ['huge-output', 'FAILED', 'CONVERTER_FAILED'],
  ])(
    'contract double mode %s ends %s with %s',
    async (mode, status, code) => {
      const { jobId, job } = await submit(e2e, bundleWithMode(mode), `mode-${mode}.zip`);
      expect(job.status).toBe(status);
      expect(job.error?.code).toBe(code);
      // The user sees what the converter printed.
      if (mode.startsWith('exit-')) expect(String(job.error?.details?.stderrTail)).toContain('simulated failure');
      expect((await expectApiError(e2e.client.getResultUrl(jobId))).code).toMatch(/RESULT_GONE|RESULT_NOT_READY/);
    },
    90_000,
  );

  it('records RUNNER_FAILED when the runner is killed mid-job (contract double hanging)', async () => {
    const bundle = bundleWithMode('hang');
    const { job, upload } = await e2e.client.createJob({ filename: 'killed.zip' });
    await uploadToPresignedPost(upload!, bundle);
    let task;
    for (let i = 0; i < 200 && !task; i++) {
      task = e2e.stack.tasks().find((t) => t.jobId === job.jobId);
      if (!task) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(task, 'the runner never started').toBeDefined();
    process.kill(task!.pid, 'SIGKILL');
    const done = await e2e.client.followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 60_000 });
    expect(done.status).toBe('FAILED');
    expect(done.error?.code).toBe('RUNNER_FAILED');
  }, 90_000);
  it('lets the reaper finish a job whose execution was stopped mid-run (an orphan; contract double hanging)', async () => {
    const { job, upload } = await e2e.client.createJob({ filename: 'orphan.zip' });
    await uploadToPresignedPost(upload!, bundleWithMode('hang'));
    let running;
    for (let i = 0; i < 200 && running?.status !== 'RUNNING'; i++) {
      running = await e2e.client.getJob(job.jobId);
      if (running.status !== 'RUNNING') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(running?.status).toBe('RUNNING');
    const sfn = new SFNClient({
      endpoint: e2e.stack.urls.sfn,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const machine = e2e.stack.model.stateMachines[0]!.arn;
    await sfn.send(new StopExecutionCommand({ executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${job.jobId}` }));
    expect((await e2e.client.getJob(job.jobId)).status).toBe('RUNNING');
    const later = (E2E_SERVICE_LIMITS.converterTimeoutSeconds + 31 * 60) * 1000;
    e2e.stack.clock.advance(later);
    try {
      await e2e.stack.triggerReaper();
    } finally {
      e2e.stack.clock.advance(-later);
    }
    const finished = await e2e.client.getJob(job.jobId);
    expect(finished.terminal).toBe(true);
    expect(finished.status).toBe('FAILED');
  }, 60_000);
});

describe('local S3 refuses what is not signed with the stack’s key pair', () => {
  it('serves a presigned result link as issued, and refuses it tampered, and every unsigned or foreign-signed request', async () => {
    const { jobId, job } = await submit(e2e, zipFiles(bundleFiles(join(SAMPLES_DIR, 'KNIME_single_csv'))), 'signed.zip');
    expect(job.status).toBe('SUCCEEDED');
    const link = new URL((await e2e.client.getResultUrl(jobId)).url);
    const original = await fetch(link);
    expect(original.status).toBe(200);
    const bytes = new Uint8Array(await original.arrayBuffer());
    const [, bucket, ...key] = link.pathname.split('/');

    const codeOf = async (response: Response) => ({ status: response.status, code: /<Code>([^<]+)</.exec(await response.text())?.[1] });
    const tamper = (change: (u: URL) => void) => {
      const copy = new URL(link);
      change(copy);
      return copy;
    };
    const signature = link.searchParams.get('X-Amz-Signature')!;
    for (const bad of [
      tamper((u) => u.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('a') ? 'b' : 'a'}`)),
      tamper((u) => (u.pathname = `/${bucket}/${key.join('/').replace('result', 'report')}`)),
      tamper((u) => u.searchParams.set('X-Amz-Expires', '604800')),
    ]) {
      expect(await codeOf(await fetch(bad))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    }

    const objectUrl = `${e2e.stack.urls.s3}/${bucket}/${key.join('/')}`;
    for (const [url, method] of [
      [`${e2e.stack.urls.s3}/${bucket}?list-type=2`, 'GET'],
      [objectUrl, 'GET'],
      [objectUrl, 'PUT'],
      [objectUrl, 'DELETE'],
    ] as const) {
      const response = await fetch(url, { method, ...(method === 'PUT' ? { body: 'replaced' } : {}) });
      expect(await codeOf(response), `${method} ${url}`).toEqual({ status: 403, code: 'AccessDenied' });
    }
    // The pair every checkout knows is not the stack's.
    const wellKnown = new S3Client({
      endpoint: e2e.stack.urls.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    await expect(wellKnown.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    wellKnown.destroy();
    const own = new S3Client({
      endpoint: e2e.stack.urls.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: e2e.stack.credentials,
    });
    expect((await own.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key.slice(0, -1).join('/') }))).KeyCount).toBeGreaterThan(0);
    own.destroy();

    const again = await fetch(link);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(bytes);
  }, 90_000);
});
