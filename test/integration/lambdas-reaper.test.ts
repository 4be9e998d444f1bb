/**
 * The reaper against the local services: every kind of stuck job is ended,
 * nothing within its deadline is touched, and the capacity ledgers are made
 * to match the jobs actually in flight. Time passes by moving the clock the
 * handlers (and the in-process stand-ins) see.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateJobResponseSchema, type CreateJobResponse } from '../../core/api-schemas';
import { DEFAULT_SERVICE_LIMITS } from '../../core/limits';
import { s3Keys } from '../../core/service-env';
import { Capacity } from '../../lambdas/storage/capacity';
import type { PrepareRunOutput } from '../../lambdas/use-cases/conversion-steps';
import { newJobId } from '../../lambdas/decisions/ids';
import type { ReaperSummary } from '../../lambdas/use-cases/reaping';
import { globalCapacityPk, jobPk, ownerCapacityPk } from '../../lambdas/storage/table-keys';
import { putObject, resultZip, runnerReport, sampleBundle, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandlers, withEnv, type AnyHandler } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';

const NAMES = ['createJob', 'getJob', 'getResult', 'validateUpload', 'prepareRun', 'recordOutcome', 'reaper'] as const;
type Handlers = Record<(typeof NAMES)[number], AnyHandler>;

const OWNER = 'key-reaper-01';
/** A job item as stored (loosely typed: the tests read fields by name). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StoredItem = Record<string, any>;

const DEAD_ENDPOINT = 'http://127.0.0.1:9';
const MINUTE = 60_000;
/** Past every deadline a QUEUED/RUNNING job can have (converter limit 300 s + 30 min margin). */
const RUN_DEADLINE = (DEFAULT_SERVICE_LIMITS.converterTimeoutSeconds + 30 * 60) * 1000;

let aws: LocalAws;
let h: Handlers;

beforeAll(async () => {
  aws = await startLocalAws();
  applyEnv({ ...aws.env, LIMIT_GLOBAL_IN_FLIGHT: '1000', LIMIT_PER_KEY_IN_FLIGHT: '1000', AWS_MAX_ATTEMPTS: '1' });
});

beforeEach(async () => {
  applyEnv({ JOBS_TABLE_NAME: await aws.freshTable() });
  h = await loadHandlers(NAMES);
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await aws?.stop();
});

/** Runs the reaper as if `offsetMs` had passed. */
async function reapAfter(offsetMs: number): Promise<ReaperSummary> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(Date.now() + offsetMs));
  try {
    const summary = (await h.reaper(
      { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
      lambdaContext(),
    )) as ReaperSummary;
    expect(summary.errors).toBe(0);
    return summary;
  } finally {
    vi.useRealTimers();
  }
}

async function create(owner = OWNER): Promise<CreateJobResponse> {
  const response = await callApi(h.createJob, { method: 'POST', resource: '/jobs', apiKeyId: owner, body: { filename: 'flow.zip' } });
  expect(response.statusCode).toBe(201);
  return CreateJobResponseSchema.parse(response.json);
}

async function upload(created: CreateJobResponse): Promise<S3Event> {
  expect((await uploadBundle(created.upload!, sampleBundle())).status).toBe(204);
  return aws.nextCreated(s3Keys.bundle(created.job.jobId));
}

async function queued(): Promise<CreateJobResponse> {
  const created = await create();
  expect(await h.validateUpload(await upload(created), lambdaContext())).toEqual({ outcomes: ['queued'] });
  return created;
}

async function running(): Promise<{ jobId: string; run: PrepareRunOutput }> {
  const created = await queued();
  const run = (await h.prepareRun({ jobId: created.job.jobId }, lambdaContext())) as PrepareRunOutput;
  return { jobId: created.job.jobId, run };
}

async function stored(jobId: string): Promise<StoredItem> {
  return (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk: jobPk(jobId) }, ConsistentRead: true }))).Item!;
}

async function ledger(pk: string): Promise<{ inFlight: number; holders: string[] }> {
  const item = (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk }, ConsistentRead: true }))).Item;
  return { inFlight: Number(item?.inFlight ?? 0), holders: item?.holders ? [...(item.holders as Set<string>)].sort() : [] };
}

async function exists(key: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe('reaper: stuck jobs', () => {
  it('expires a job whose upload never arrived (after the upload window and its short grace), freeing its slot', async () => {
    const { job } = await create();
    const early = await reapAfter(16 * MINUTE);
    expect(early.expiredUploads).toBe(0);
    expect((await stored(job.jobId)).status).toBe('AWAITING_UPLOAD');

    const late = await reapAfter(18 * MINUTE);
    expect(late).toMatchObject({ expiredUploads: 1, inFlight: 0 });
    const after = await stored(job.jobId);
    expect(after).toMatchObject({ status: 'EXPIRED', expiredReason: 'UPLOAD_NOT_RECEIVED' });
    expect((await ledger(globalCapacityPk())).inFlight).toBe(0);
    expect((await ledger(ownerCapacityPk(OWNER))).inFlight).toBe(0);
  });

  it('leaves a job whose bundle arrived (its S3 event late) until the full deadline, then expires it', async () => {
    const created = await create();
    await upload(created);
    expect((await reapAfter(18 * MINUTE)).expiredUploads).toBe(0);
    expect((await stored(created.job.jobId)).status).toBe('AWAITING_UPLOAD');
    expect(await reapAfter(31 * MINUTE)).toMatchObject({ expiredUploads: 1, inFlight: 0 });
    expect(await stored(created.job.jobId)).toMatchObject({ status: 'EXPIRED', expiredReason: 'UPLOAD_NOT_RECEIVED' });
    expect(await exists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect((await ledger(ownerCapacityPk(OWNER))).inFlight).toBe(0);
  });

  it('fails a job whose validation crashed and was never retried (INTERNAL_ERROR, bundle deleted)', async () => {
    const created = await create();
    const event = await upload(created);
    await withEnv({ AWS_ENDPOINT_URL_S3: DEAD_ENDPOINT }, async () => {
      const broken = await loadHandlers(['validateUpload'] as const);
      await expect(broken.validateUpload(event, lambdaContext())).rejects.toThrow();
    });
    expect((await reapAfter(10 * MINUTE)).failedValidations).toBe(0);
    expect((await reapAfter(21 * MINUTE)).failedValidations).toBe(1);
    expect(await stored(created.job.jobId)).toMatchObject({
      status: 'FAILED',
      error: { code: 'INTERNAL_ERROR', details: { stage: 'validation' } },
    });
    expect(await exists(s3Keys.bundle(created.job.jobId))).toBe(false);
    expect((await ledger(globalCapacityPk())).holders).toEqual([]);
  });

  it('starts the missing execution of a queued job once, then fails the job if it goes missing again', async () => {
    const created = await create();
    const event = await upload(created);
    await withEnv({ AWS_ENDPOINT_URL_SFN: DEAD_ENDPOINT }, async () => {
      const broken = await loadHandlers(['validateUpload'] as const);
      await expect(broken.validateUpload(event, lambdaContext())).rejects.toThrow();
    });
    const jobId = created.job.jobId;
    expect(aws.sfn.byName(jobId)).toBeUndefined();
    expect((await reapAfter(RUN_DEADLINE - MINUTE)).restartedExecutions).toBe(0);
    expect((await reapAfter(RUN_DEADLINE + MINUTE)).restartedExecutions).toBe(1);
    const execution = aws.sfn.byName(jobId)!;
    expect(execution.input).toBe(JSON.stringify({ jobId }));
    expect(await stored(jobId)).toMatchObject({ status: 'QUEUED', executionRestarts: 1 });

    aws.sfn.executions.delete(execution.executionArn);
    const summary = await reapAfter(2 * RUN_DEADLINE + 2 * MINUTE);
    expect(summary).toMatchObject({ restartedExecutions: 0, failedRuns: 1 });
    expect(await stored(jobId)).toMatchObject({ status: 'FAILED', error: { code: 'INTERNAL_ERROR', details: { execution: 'missing' } } });
  });

  it('records the outcome of an execution that ended without RecordOutcome (report present)', async () => {
    const { jobId, run } = await running();
    await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'FAILED', exitCode: 3, code: 'CONVERTER_PARSE_ERROR' })));
    aws.sfn.finish(jobId, 'FAILED', { error: 'Lambda.ServiceException', cause: 'RecordOutcome kept failing' });
    // An ended execution is not waited for: the next reaper run records it.
    expect((await reapAfter(MINUTE)).recordedOutcomes).toBe(1);
    expect(await stored(jobId)).toMatchObject({ status: 'FAILED', error: { code: 'CONVERTER_PARSE_ERROR' } });
    expect((await ledger(globalCapacityPk())).holders).toEqual([]);
  });

  it('fails a running job whose execution was stopped within one reaper run (RUNNER_FAILED, slot freed)', async () => {
    const { jobId } = await running();
    aws.sfn.finish(jobId, 'ABORTED', { error: 'States.Aborted', cause: 'stopped by an operator' });
    expect((await reapAfter(MINUTE)).recordedOutcomes).toBe(1);
    expect(await stored(jobId)).toMatchObject({
      status: 'FAILED',
      error: { code: 'RUNNER_FAILED', details: { taskError: 'States.Aborted' } },
    });
    expect((await ledger(globalCapacityPk())).holders).toEqual([]);
  });

  it('fails a running job whose execution no longer exists (its host crashed) within one reaper run', async () => {
    const { jobId } = await running();
    aws.sfn.executions.delete(aws.sfn.byName(jobId)!.executionArn);
    expect((await reapAfter(MINUTE)).recordedOutcomes).toBe(1);
    const job = await stored(jobId);
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'RUNNER_FAILED', details: { taskError: 'Execution.MISSING' } } });
    expect(String(job.error.details.stoppedReason)).toMatch(/no longer exists/);
    expect((await ledger(globalCapacityPk())).holders).toEqual([]);
  });

  it('records TIMED_OUT for an execution that timed out without a report', async () => {
    const { jobId } = await running();
    aws.sfn.finish(jobId, 'TIMED_OUT');
    await reapAfter(RUN_DEADLINE + MINUTE);
    expect(await stored(jobId)).toMatchObject({ status: 'TIMED_OUT', error: { code: 'CONVERTER_TIMEOUT' } });
  });

  it('fails a job whose execution is still running long past the deadline', async () => {
    const { jobId } = await running();
    const summary = await reapAfter(RUN_DEADLINE + MINUTE);
    expect(summary.failedRuns).toBe(1);
    expect(await stored(jobId)).toMatchObject({ status: 'FAILED', error: { code: 'INTERNAL_ERROR', details: { execution: 'RUNNING' } } });
    // A late RecordOutcome from that execution changes nothing.
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'FAILED' });
  });

  it('expires a result past its retention: EXPIRED, objects deleted, download 410', async () => {
    const { jobId, run } = await running();
    await putObject(run.resultUrl, resultZip());
    await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId, outcome: 'SUCCEEDED', exitCode: 0 })));
    await putObject(run.logUrl, 'k2p-web conversion log\n');
    await h.recordOutcome({ jobId }, lambdaContext());
    expect((await reapAfter(6 * 24 * 60 * MINUTE)).expiredResults).toBe(0);
    expect((await reapAfter(7 * 24 * 60 * MINUTE + MINUTE)).expiredResults).toBe(1);
    expect(await stored(jobId)).toMatchObject({ status: 'EXPIRED', expiredReason: 'RESULT_RETENTION' });
    expect(await exists(s3Keys.result(jobId))).toBe(false);
    // The log goes with the result (same retention).
    expect(await exists(s3Keys.log(jobId))).toBe(false);
    const download = await callApi(h.getResult, {
      method: 'GET',
      resource: '/jobs/{id}/result',
      pathParameters: { id: jobId },
      apiKeyId: OWNER,
    });
    expect(download.statusCode).toBe(410);
  });

  it('leaves jobs within their deadlines alone', async () => {
    await create();
    await queued();
    await running();
    const summary = await reapAfter(0);
    expect(summary).toMatchObject({
      scanned: 3,
      expiredUploads: 0,
      failedValidations: 0,
      recordedOutcomes: 0,
      restartedExecutions: 0,
      failedRuns: 0,
      releasedSlots: 0,
      restoredSlots: 0,
      inFlight: 3,
    });
  });
});

describe('reaper: capacity ledgers', () => {
  it('frees slots leaked by crashes, keeps a slot whose admission may still be running, restores missing ones', async () => {
    const capacity = new Capacity(aws.ddb, aws.tableName);
    const limits = { ...DEFAULT_SERVICE_LIMITS, globalInFlight: 1000, perPrincipalInFlight: 1000 };
    const live = await queued();
    // Crash between the ledger update and the job write, long ago and just now.
    const leakedOld = newJobId(Date.now() - 10 * MINUTE);
    const leakedNew = newJobId(Date.now());
    await capacity.acquire(leakedOld, OWNER, limits);
    await capacity.acquire(leakedNew, OWNER, limits);
    // A job that ended without releasing (crash after the terminal write).
    const ended = await create();
    await aws.ddb.send(
      new UpdateCommand({
        TableName: aws.tableName,
        Key: { pk: jobPk(ended.job.jobId) },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'FAILED' },
      }),
    );
    // A job in flight that lost its slot in the global ledger.
    const orphan = await create();
    await capacity.give(globalCapacityPk(), orphan.job.jobId);

    const summary = await reapAfter(0);
    expect(summary).toMatchObject({ releasedSlots: 4, restoredSlots: 1, inFlight: 2 });
    const expected = [live.job.jobId, orphan.job.jobId, leakedNew].sort();
    expect(await ledger(globalCapacityPk())).toEqual({ inFlight: 3, holders: expected });
    expect(await ledger(ownerCapacityPk(OWNER))).toEqual({ inFlight: 3, holders: expected });

    // Once its admission window has passed, the young leak is freed too.
    const later = await reapAfter(6 * MINUTE);
    expect(later.releasedSlots).toBe(2);
    expect((await ledger(globalCapacityPk())).holders).toEqual([live.job.jobId, orphan.job.jobId].sort());
  });

  it('repairs a count that disagrees with its holders', async () => {
    await queued();
    await aws.ddb.send(
      new UpdateCommand({
        TableName: aws.tableName,
        Key: { pk: globalCapacityPk() },
        UpdateExpression: 'SET inFlight = :n',
        ExpressionAttributeValues: { ':n': 7 },
      }),
    );
    await reapAfter(0);
    expect((await ledger(globalCapacityPk())).inFlight).toBe(1);
  });
});
