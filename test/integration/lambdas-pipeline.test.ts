/**
 * Upload validation and the state machine's Lambda steps against the local
 * services: duplicate and reordered S3 events, crashes mid-way, PrepareRun,
 * and RecordOutcome for every converter outcome (the test plays the runner,
 * uploading report.json and result.zip through PrepareRun's presigned URLs).
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateJobResponseSchema, type CreateJobResponse } from '../../core/api-schemas';
import type { ConversionErrorCode } from '../../core/errors';
import { s3Keys } from '../../core/service-env';
import type { PrepareRunOutput } from '../../lambdas/use-cases/conversion-steps';
import { globalCapacityPk, jobPk, ownerCapacityPk } from '../../lambdas/storage/table-keys';
import { putObject, resultZip, runnerReport, sampleBundle, sha256, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandlers, withEnv, type AnyHandler } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';
import { checkResponse, loadOpenApi } from '../support/openapi-check';

const NAMES = ['createJob', 'getJob', 'getResult', 'deleteJob', 'validateUpload', 'prepareRun', 'recordOutcome'] as const;
type Handlers = Record<(typeof NAMES)[number], AnyHandler>;

const OWNER = 'key-pipeline-01';
/** A job item as stored (loosely typed: the tests read fields by name). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StoredItem = Record<string, any>;

const DEAD_ENDPOINT = 'http://127.0.0.1:9'; // discard port: nothing listens

let aws: LocalAws;
let h: Handlers;
const openapi = loadOpenApi();

beforeAll(async () => {
  aws = await startLocalAws();
  applyEnv({ ...aws.env, LIMIT_GLOBAL_IN_FLIGHT: '1000', LIMIT_PER_KEY_IN_FLIGHT: '1000', AWS_MAX_ATTEMPTS: '1' });
  h = await loadHandlers(NAMES);
});

afterAll(async () => {
  await aws?.stop();
});

async function create(filename = 'KNIME_single_csv.knwf', owner = OWNER): Promise<CreateJobResponse> {
  const response = await callApi(h.createJob, { method: 'POST', resource: '/jobs', apiKeyId: owner, body: { filename } });
  expect(response.statusCode).toBe(201);
  return CreateJobResponseSchema.parse(response.json);
}

async function upload(created: CreateJobResponse, bytes = sampleBundle()): Promise<S3Event> {
  expect((await uploadBundle(created.upload!, bytes)).status).toBe(204);
  return aws.nextCreated(s3Keys.bundle(created.job.jobId));
}

async function job(jobId: string): Promise<StoredItem> {
  return (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk: jobPk(jobId) }, ConsistentRead: true }))).Item!;
}

async function holders(pk: string): Promise<string[]> {
  const item = (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk }, ConsistentRead: true }))).Item;
  return item?.holders ? [...(item.holders as Set<string>)] : [];
}

async function holdsSlot(jobId: string, owner = OWNER): Promise<boolean> {
  const [global, own] = await Promise.all([holders(globalCapacityPk()), holders(ownerCapacityPk(owner))]);
  expect(global.includes(jobId)).toBe(own.includes(jobId));
  return global.includes(jobId);
}

async function exists(key: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** A job that went through upload and validation: QUEUED with its execution started. */
async function queuedJob(filename?: string): Promise<CreateJobResponse> {
  const created = await create(filename);
  expect(await h.validateUpload(await upload(created), lambdaContext())).toEqual({ outcomes: ['queued'] });
  return created;
}

/** A QUEUED job moved to RUNNING by PrepareRun; returns the runner's inputs. */
async function runningJob(filename?: string): Promise<{ created: CreateJobResponse; run: PrepareRunOutput }> {
  const created = await queuedJob(filename);
  const run = (await h.prepareRun({ jobId: created.job.jobId }, lambdaContext())) as PrepareRunOutput;
  expect(run.skip).toBe(false);
  return { created, run };
}

const view = async (jobId: string) =>
  (await callApi(h.getJob, { method: 'GET', resource: '/jobs/{id}', pathParameters: { id: jobId }, apiKeyId: OWNER })).json;

describe('validate-upload: duplicate and out-of-order events', () => {
  it('treats a duplicated event as a no-op: one validation, one execution', async () => {
    const created = await create();
    const event = await upload(created);
    const first = await h.validateUpload(event, lambdaContext());
    const again = await h.validateUpload(event, lambdaContext());
    expect(first).toEqual({ outcomes: ['queued'] });
    expect(again).toEqual({ outcomes: ['execution-ensured'] });
    expect([...aws.sfn.executions.values()].filter((e) => e.name === created.job.jobId)).toHaveLength(1);
    expect((await job(created.job.jobId)).validationAttempts).toBe(1);
  });

  it('handles the same event delivered twice at once: exactly one outcome moves the job', async () => {
    const created = await create();
    const event = await upload(created);
    const results = await Promise.all([h.validateUpload(event, lambdaContext()), h.validateUpload(event, lambdaContext())]);
    const outcomes = results.flatMap((r: { outcomes: string[] }) => r.outcomes);
    expect(outcomes.filter((o) => o === 'queued')).toHaveLength(1);
    expect((await job(created.job.jobId)).status).toBe('QUEUED');
  });

  it('ignores a second upload to a queued job (the runner checks the sha256 recorded at validation)', async () => {
    const created = await queuedJob();
    const recorded = (await job(created.job.jobId)).bundle.sha256;
    const second = await upload(created, sampleBundle('KNIME_io_csv'));
    expect(await h.validateUpload(second, lambdaContext())).toEqual({ outcomes: ['ignored-other-upload'] });
    const after = await job(created.job.jobId);
    expect(after.status).toBe('QUEUED');
    expect(after.bundle.sha256).toBe(recorded);
    expect(recorded).toBe(sha256(sampleBundle()));
  });

  it('does nothing when an old event arrives after the job has moved on (RUNNING), and deletes uploads to ended jobs', async () => {
    const { created } = await runningJob();
    const stale = await upload(created, sampleBundle());
    expect(await h.validateUpload(stale, lambdaContext())).toEqual({ outcomes: ['ignored-duplicate'] });
    expect((await job(created.job.jobId)).status).toBe('RUNNING');

    const rejected = await create();
    const { bundleWithDataFile } = await import('../support/job-fixtures');
    expect(await h.validateUpload(await upload(rejected, bundleWithDataFile()), lambdaContext())).toEqual({ outcomes: ['rejected'] });
    const retry = await upload(rejected, sampleBundle());
    expect(await h.validateUpload(retry, lambdaContext())).toEqual({ outcomes: ['ignored-job-ended'] });
    expect(await exists(s3Keys.bundle(rejected.job.jobId))).toBe(false);
    expect((await job(rejected.job.jobId)).status).toBe('REJECTED');
  });

  it('rejects an object larger than the limit that bypassed the POST policy, without reading it', async () => {
    const limited = await loadHandlers(['validateUpload'] as const, { LIMIT_MAX_UPLOAD_BYTES: '100' });
    const created = await create();
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: s3Keys.bundle(created.job.jobId), Body: sampleBundle() }));
    const event = await aws.nextCreated(s3Keys.bundle(created.job.jobId));
    expect(await limited.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['rejected'] });
    expect((await job(created.job.jobId)).error.code).toBe('BUNDLE_TOO_LARGE');
    expect(await holdsSlot(created.job.jobId)).toBe(false);
  });

  it('rejects a corrupt ZIP with ZIP_CORRUPT', async () => {
    const created = await create();
    expect(
      await h.validateUpload(await upload(created, new TextEncoder().encode('PK\u0003\u0004 not really a zip')), lambdaContext()),
    ).toEqual({
      outcomes: ['rejected'],
    });
    expect((await view(created.job.jobId)).error.code).toBe('ZIP_CORRUPT');
  });
});

describe('validate-upload: crashes mid-way never leave a job stuck', () => {
  it('resumes a validation whose invocation died after VALIDATING (S3 unreachable) when the event is retried', async () => {
    const created = await create();
    const event = await upload(created);
    await withEnv({ AWS_ENDPOINT_URL_S3: DEAD_ENDPOINT }, async () => {
      const broken = await loadHandlers(['validateUpload'] as const);
      await expect(broken.validateUpload(event, lambdaContext())).rejects.toThrow();
    });
    expect((await job(created.job.jobId)).status).toBe('VALIDATING');
    expect(await h.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['queued'] });
    const after = await job(created.job.jobId);
    expect(after).toMatchObject({ status: 'QUEUED', validationAttempts: 2 });
    expect(aws.sfn.byName(created.job.jobId)?.status).toBe('RUNNING');
  });

  it('starts the execution on retry when the invocation died after QUEUED (Step Functions unreachable)', async () => {
    const created = await create();
    const event = await upload(created);
    await withEnv({ AWS_ENDPOINT_URL_SFN: DEAD_ENDPOINT }, async () => {
      const broken = await loadHandlers(['validateUpload'] as const);
      await expect(broken.validateUpload(event, lambdaContext())).rejects.toThrow();
    });
    expect((await job(created.job.jobId)).status).toBe('QUEUED');
    expect(aws.sfn.byName(created.job.jobId)).toBeUndefined();
    expect(await h.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['execution-ensured'] });
    expect(aws.sfn.byName(created.job.jobId)?.input).toBe(JSON.stringify({ jobId: created.job.jobId }));
  });

  it('fails the job (INTERNAL_ERROR, bundle deleted, slot freed) once validation has crashed too often', async () => {
    const created = await create();
    const event = await upload(created);
    await withEnv({ AWS_ENDPOINT_URL_S3: DEAD_ENDPOINT }, async () => {
      const broken = await loadHandlers(['validateUpload'] as const);
      for (let attempt = 0; attempt < 3; attempt++) await expect(broken.validateUpload(event, lambdaContext())).rejects.toThrow();
    });
    expect((await job(created.job.jobId)).validationAttempts).toBe(3);
    expect(await h.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['failed'] });
    const failed = await view(created.job.jobId);
    expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'INTERNAL_ERROR', details: { stage: 'validation', attempts: 3 } } });
    expect(await exists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect(await holdsSlot(created.job.jobId)).toBe(false);
  });
});

describe('PrepareRun', () => {
  it('moves QUEUED → RUNNING and returns working presigned URLs for the runner', async () => {
    const created = await queuedJob('My Flow.zip');
    const run = (await h.prepareRun({ jobId: created.job.jobId }, lambdaContext())) as PrepareRunOutput;
    expect(run).toMatchObject({ jobId: created.job.jobId, skip: false, workflowName: 'My Flow', workbook: 'both', graph: 'both' });
    expect(run.inputSha256).toBe(sha256(sampleBundle()));
    const input = new Uint8Array(await (await fetch(run.inputUrl)).arrayBuffer());
    expect(sha256(input)).toBe(run.inputSha256);
    expect(await putObject(run.reportUrl, '{}')).toBe(200);
    expect(await putObject(run.resultUrl, resultZip())).toBe(200);
    const expires = Number(new URL(run.resultUrl).searchParams.get('X-Amz-Expires'));
    expect(expires).toBe(300 + 15 * 60);
    expect(await view(created.job.jobId)).toMatchObject({ status: 'RUNNING' });
  });

  it('is safe to retry: a RUNNING job gets its URLs again', async () => {
    const { created } = await runningJob();
    const again = (await h.prepareRun({ jobId: created.job.jobId }, lambdaContext())) as PrepareRunOutput;
    expect(again.skip).toBe(false);
    expect((await job(created.job.jobId)).status).toBe('RUNNING');
  });

  it('skips a job deleted while queued, and an unknown job', async () => {
    const created = await queuedJob();
    await callApi(h.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: created.job.jobId }, apiKeyId: OWNER });
    expect(await h.prepareRun({ jobId: created.job.jobId }, lambdaContext())).toMatchObject({ skip: true, inputUrl: '' });
    expect(await h.prepareRun({ jobId: 'unknownjob0000000000000000' }, lambdaContext())).toMatchObject({ skip: true });
    await expect(h.prepareRun({ jobId: '../x' }, lambdaContext())).rejects.toThrow();
  });
});

describe('RecordOutcome', () => {
  it('records SUCCEEDED (exit 0): summary, converter version, result retention, bundle deleted, slot freed', async () => {
    const { created, run } = await runningJob();
    const jobId = created.job.jobId;
    expect(await putObject(run.resultUrl, resultZip())).toBe(200);
    expect(await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0 })))).toBe(200);
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'SUCCEEDED' });
    const v = await view(jobId);
    expect(v).toMatchObject({
      status: 'SUCCEEDED',
      terminal: true,
      converter: { version: '0.1.11', image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11' },
      result: { components: 1, nodes: 1, resultBytes: resultZip().length, downloadPath: `/jobs/${jobId}/result` },
    });
    const retentionDays = (Date.parse(v.result.expiresAt) - Date.parse(v.finishedAt)) / 86_400_000;
    expect(retentionDays).toBeCloseTo(7, 3);
    expect(v.durationsMs.conversion).toBeGreaterThanOrEqual(0);
    expect(await exists(s3Keys.bundle(jobId))).toBe(false);
    expect(await exists(s3Keys.result(jobId))).toBe(true);
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it.each<[string, number, ConversionErrorCode]>([
    ['bad path / usage', 2, 'CONVERTER_INPUT_ERROR'],
    ['parse error', 3, 'CONVERTER_PARSE_ERROR'],
    ['no nodes', 4, 'CONVERTER_NO_NODES'],
    ['any other failure', 1, 'CONVERTER_FAILED'],
  ])('records FAILED for a converter %s (exit %i) with %s', async (_name, exitCode, code) => {
    const { created, run } = await runningJob();
    const jobId = created.job.jobId;
    await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'FAILED', exitCode, code })));
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'FAILED' });
    const v = await view(jobId);
    expect(v).toMatchObject({ status: 'FAILED', error: { code, details: { exitCode } } });
    expect(v.error.hint).toBeTruthy();
    expect(v.result).toBeUndefined();
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it('records TIMED_OUT when the runner reports the converter timed out', async () => {
    const { created, run } = await runningJob();
    const jobId = created.job.jobId;
    await putObject(
      run.reportUrl,
      JSON.stringify(runnerReport({ jobId, outcome: 'TIMED_OUT', exitCode: null, code: 'CONVERTER_TIMEOUT' })),
    );
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'TIMED_OUT' });
    expect((await view(jobId)).error.code).toBe('CONVERTER_TIMEOUT');
  });

  it('records TIMED_OUT when the task hit the state timeout without a report', async () => {
    const { created } = await runningJob();
    const jobId = created.job.jobId;
    const result = await h.recordOutcome({ jobId, taskError: { Error: 'States.Timeout', Cause: 'The task timed out.' } }, lambdaContext());
    expect(result).toEqual({ jobId, status: 'TIMED_OUT' });
    expect((await view(jobId)).error).toMatchObject({ code: 'CONVERTER_TIMEOUT', details: { taskError: 'States.Timeout' } });
  });

  it('records RUNNER_FAILED for a task that never started, keeping the reason but not the task’s environment', async () => {
    const { created, run } = await runningJob();
    const jobId = created.job.jobId;
    const cause = JSON.stringify({
      StoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      StopCode: 'TaskFailedToStart',
      Containers: [{ Name: 'runner', Reason: 'CannotPullContainerError' }],
      Overrides: { ContainerOverrides: [{ Environment: [{ Name: 'INPUT_URL', Value: run.inputUrl }] }] },
    });
    const result = await h.recordOutcome({ jobId, taskError: { Error: 'States.TaskFailed', Cause: cause } }, lambdaContext());
    expect(result).toEqual({ jobId, status: 'FAILED' });
    const stored = await job(jobId);
    expect(stored.error).toMatchObject({
      code: 'RUNNER_FAILED',
      details: { stopCode: 'TaskFailedToStart', taskError: 'States.TaskFailed' },
    });
    expect(JSON.stringify(stored)).not.toContain('X-Amz-Signature');
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it('records RUNNER_FAILED when the task failed without a report, or the report claims success without a result', async () => {
    const a = await runningJob();
    const cause = JSON.stringify({ StoppedReason: 'Essential container in task exited', Containers: [{ ExitCode: 137 }] });
    await h.recordOutcome({ jobId: a.created.job.jobId, taskError: { Error: 'States.TaskFailed', Cause: cause } }, lambdaContext());
    expect((await job(a.created.job.jobId)).error).toMatchObject({ code: 'RUNNER_FAILED', details: { exitCode: 137 } });

    const b = await runningJob();
    await putObject(b.run.reportUrl, JSON.stringify(runnerReport({ jobId: b.created.job.jobId, outcome: 'SUCCEEDED', exitCode: 0 })));
    await h.recordOutcome({ jobId: b.created.job.jobId }, lambdaContext());
    expect((await job(b.created.job.jobId)).error.code).toBe('RUNNER_FAILED');

    const c = await runningJob();
    await putObject(c.run.reportUrl, 'not json');
    await h.recordOutcome({ jobId: c.created.job.jobId }, lambdaContext());
    expect((await job(c.created.job.jobId)).error).toMatchObject({ code: 'RUNNER_FAILED', details: { reason: 'report.json is not JSON' } });
  });

  it('records INTERNAL_ERROR when PrepareRun itself failed (the job never left QUEUED)', async () => {
    const created = await queuedJob();
    const jobId = created.job.jobId;
    const result = await h.recordOutcome(
      { jobId, taskError: { Error: 'Lambda.ServiceException', Cause: '{"errorMessage":"boom"}' } },
      lambdaContext(),
    );
    expect(result).toEqual({ jobId, status: 'FAILED' });
    expect((await job(jobId)).error).toMatchObject({ code: 'INTERNAL_ERROR', details: { stage: 'prepare-run' } });
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it('is idempotent on retries: one terminal state, one release, other jobs’ slots untouched', async () => {
    const { created, run } = await runningJob();
    const other = await queuedJob();
    const jobId = created.job.jobId;
    await putObject(run.resultUrl, resultZip());
    await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0 })));
    const results = await Promise.all([h.recordOutcome({ jobId }, lambdaContext()), h.recordOutcome({ jobId }, lambdaContext())]);
    expect(results.map((r: { status: string }) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const globalBefore = (await holders(globalCapacityPk())).length;
    expect(await h.recordOutcome({ jobId, taskError: { Error: 'States.TaskFailed' } }, lambdaContext())).toEqual({
      jobId,
      status: 'SUCCEEDED',
    });
    expect((await holders(globalCapacityPk())).length).toBe(globalBefore);
    expect(await holdsSlot(other.job.jobId)).toBe(true);
  });

  it('keeps a job deleted during its run DELETED and removes what the runner uploaded afterwards', async () => {
    const { created, run } = await runningJob();
    const jobId = created.job.jobId;
    await callApi(h.deleteJob, { method: 'DELETE', resource: '/jobs/{id}', pathParameters: { id: jobId }, apiKeyId: OWNER });
    await putObject(run.resultUrl, resultZip());
    await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0 })));
    await putObject(run.logUrl, 'k2p-web conversion log\n');
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'DELETED' });
    expect(await exists(s3Keys.result(jobId))).toBe(false);
    expect(await exists(s3Keys.report(jobId))).toBe(false);
    expect(await exists(s3Keys.log(jobId))).toBe(false);
  });
});

describe('end to end through the handlers', () => {
  it('create → upload → validate → prepare → runner uploads → record → download with the workflow’s file name', async () => {
    const created = await create('KNIME two graphs.knwf');
    expect(await h.validateUpload(await upload(created, sampleBundle('KNIME_two_graphs')), lambdaContext())).toEqual({
      outcomes: ['queued'],
    });
    const execution = aws.sfn.byName(created.job.jobId)!;
    const { jobId } = JSON.parse(execution.input) as { jobId: string };
    const run = (await h.prepareRun({ jobId }, lambdaContext())) as PrepareRunOutput;
    const zip = resultZip('KNIME two graphs');
    await putObject(run.resultUrl, zip);
    await putObject(
      run.reportUrl,
      JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0, workflow: 'KNIME two graphs' })),
    );
    await h.recordOutcome({ jobId }, lambdaContext());
    aws.sfn.finish(jobId, 'SUCCEEDED');

    const request = { method: 'GET' as const, resource: '/jobs/{id}/result', pathParameters: { id: jobId }, apiKeyId: OWNER };
    const redirect = await callApi(h.getResult, request);
    expect(checkResponse(openapi, 'GET', '/jobs/{id}/result', redirect)).toEqual([]);
    expect(redirect.statusCode).toBe(302);
    const location = redirect.headers.Location!;
    expect(Number(new URL(location).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    const download = await fetch(location);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="KNIME two graphs-k2p.zip"');
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(zip);

    const asJson = await callApi(h.getResult, { ...request, query: { redirect: 'false' } });
    expect(checkResponse(openapi, 'GET', '/jobs/{id}/result', asJson)).toEqual([]);
    expect(asJson.json).toMatchObject({ filename: 'KNIME two graphs-k2p.zip' });
    expect(asJson.json.url).toContain(s3Keys.result(jobId));

    const final = await callApi(h.getJob, { method: 'GET', resource: '/jobs/{id}', pathParameters: { id: jobId }, apiKeyId: OWNER });
    expect(checkResponse(openapi, 'GET', '/jobs/{id}', final)).toEqual([]);
    expect(final.headers['Retry-After']).toBeUndefined();
    expect(final.json).toMatchObject({ status: 'SUCCEEDED', bundle: { nodes: 4 } });
    expect(Object.keys(final.json.durationsMs).sort()).toEqual(['conversion', 'queue', 'total', 'upload', 'validation']);

    // A result removed behind the job's back (lifecycle rule) is gone, not a broken link.
    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: s3Keys.result(jobId) }));
    const gone = await callApi(h.getResult, request);
    expect(checkResponse(openapi, 'GET', '/jobs/{id}/result', gone)).toEqual([]);
    expect(gone.statusCode).toBe(410);
  });
});

describe('logs and metrics', () => {
  beforeEach(() => {
    vi.restoreAllMocks();
  });

  it('logs job and request ids, never presigned URLs, and emits the pipeline metrics', async () => {
    const lines: string[] = [];
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
    const loud = await loadHandlers(NAMES, { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_DISABLED: 'false' });
    let jobId: string;
    try {
      const created = CreateJobResponseSchema.parse(
        (await callApi(loud.createJob, { method: 'POST', resource: '/jobs', apiKeyId: OWNER, body: {} })).json,
      );
      jobId = created.job.jobId;
      await loud.validateUpload(await upload(created), lambdaContext());
      const run = (await loud.prepareRun({ jobId }, lambdaContext())) as PrepareRunOutput;
      await putObject(run.resultUrl, resultZip());
      await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0 })));
      await loud.recordOutcome({ jobId }, lambdaContext());
      await callApi(loud.getResult, { method: 'GET', resource: '/jobs/{id}/result', pathParameters: { id: jobId }, apiKeyId: OWNER });
    } finally {
      vi.restoreAllMocks();
    }
    const output = lines.join('');
    expect(output).not.toMatch(/X-Amz-Signature|X-Amz-Credential|Policy/);
    const records = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const logs = records.filter((r) => typeof r.message === 'string');
    expect(logs.find((r) => r.message === 'Job created')).toMatchObject({ jobId, requestId: expect.stringMatching(/^api-request-/) });
    expect(logs.find((r) => r.message === 'Conversion succeeded')).toMatchObject({ jobId });
    const metricNames = records.flatMap((r) =>
      ((r._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] })?.CloudWatchMetrics ?? []).flatMap((m) =>
        m.Metrics.map((x) => x.Name),
      ),
    );
    expect(metricNames).toEqual(
      expect.arrayContaining(['JobsCreated', 'ValidationDuration', 'JobsQueued', 'JobsSucceeded', 'ConversionDuration']),
    );
    const conversion = records.find((r) => 'ConversionDuration' in r);
    expect(conversion?.ConversionDuration).toBe(1234);
  });
});

describe('ownership of the pipeline objects', () => {
  it('stores nothing in the table that identifies a settings value or URL', async () => {
    const { created } = await runningJob();
    const stored = JSON.stringify(await job(created.job.jobId));
    expect(stored).not.toMatch(/X-Amz-Signature|\/Users\//);
  });

  it('keeps the uploaded bundle readable only through its key (sanity of the S3 layout)', async () => {
    const created = await queuedJob();
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: s3Keys.bundle(created.job.jobId) }));
    expect(object.ContentType).toBe('application/zip');
  });
});
