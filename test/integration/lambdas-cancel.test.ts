/**
 * Cancel and delete-while-running against the local services (dynalite,
 * s3rver, the Step Functions API stand-in): every state a cancel can meet,
 * idempotency, 409 for a job that ended otherwise, and the slot held by a
 * CANCELLING job until something that knows the task has stopped (its STOPPED
 * event, RecordOutcome, the reaper past the cancel deadline) finishes it.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateJobResponseSchema, type CreateJobResponse } from '../../core/api-schemas';
import { RUNNER_ENV, s3Keys } from '../../core/service-env';
import { executionArnFor } from '../../lambdas/storage/executions';
import { JobStore } from '../../lambdas/storage/job-store';
import { globalCapacityPk, jobPk, ownerCapacityPk } from '../../lambdas/storage/table-keys';
import type { PrepareRunOutput } from '../../lambdas/use-cases/conversion-steps';
import { CANCEL_MARGIN_SECONDS, cancelDeadline, TASK_STOP_TIMEOUT_SECONDS } from '../../lambdas/decisions/deadlines';
import type { ReaperSummary } from '../../lambdas/use-cases/reaping';
import { putObject, resultZip, runnerReport, sampleBundle, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandlers, type AnyHandler, type ApiResponse } from '../support/lambda-harness';
import { startLocalAws, TEST_STATE_MACHINE_ARN, type LocalAws } from '../support/local-aws';

const NAMES = [
  'createJob',
  'getJob',
  'cancelJob',
  'deleteJob',
  'validateUpload',
  'prepareRun',
  'recordOutcome',
  'taskStopped',
  'reaper',
] as const;
type Handlers = Record<(typeof NAMES)[number], AnyHandler>;

const OWNER = 'key-cancel-01';
const CANCEL_DEADLINE_MS = (TASK_STOP_TIMEOUT_SECONDS + CANCEL_MARGIN_SECONDS) * 1000;

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

afterAll(async () => {
  await aws?.stop();
});

const route = (handler: 'cancelJob' | 'deleteJob' | 'getJob', jobId: string, owner = OWNER): Promise<ApiResponse> =>
  callApi(h[handler], {
    method: handler === 'cancelJob' ? 'POST' : handler === 'deleteJob' ? 'DELETE' : 'GET',
    resource: handler === 'cancelJob' ? '/jobs/{id}/cancel' : '/jobs/{id}',
    pathParameters: { id: jobId },
    apiKeyId: owner,
  });
const cancel = (jobId: string, owner?: string) => route('cancelJob', jobId, owner);

async function create(): Promise<CreateJobResponse> {
  const response = await callApi(h.createJob, { method: 'POST', resource: '/jobs', apiKeyId: OWNER, body: { filename: 'flow.zip' } });
  expect(response.statusCode).toBe(201);
  return CreateJobResponseSchema.parse(response.json);
}

async function upload(created: CreateJobResponse): Promise<S3Event> {
  expect((await uploadBundle(created.upload!, sampleBundle())).status).toBe(204);
  return aws.nextCreated(s3Keys.bundle(created.job.jobId));
}

async function queued(): Promise<string> {
  const created = await create();
  expect(await h.validateUpload(await upload(created), lambdaContext())).toEqual({ outcomes: ['queued'] });
  return created.job.jobId;
}

/** PrepareRun has moved the job to RUNNING; `taskRequested`: the state machine has also asked ECS for its task. */
async function running(taskRequested = true): Promise<{ jobId: string; run: PrepareRunOutput }> {
  const jobId = await queued();
  const run = (await h.prepareRun({ jobId }, lambdaContext())) as PrepareRunOutput;
  expect(run.skip).toBe(false);
  if (taskRequested) aws.taskScheduled(jobId);
  return { jobId, run };
}

/** What the runner uploads when the converter succeeded. */
async function convertedSuccessfully(run: PrepareRunOutput): Promise<void> {
  await putObject(run.resultUrl, resultZip('flow'));
  await putObject(run.reportUrl, JSON.stringify(runnerReport({ jobId: run.jobId, outcome: 'SUCCEEDED', exitCode: 0, workflow: 'flow' })));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function stored(jobId: string): Promise<Record<string, any>> {
  return (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk: jobPk(jobId) }, ConsistentRead: true }))).Item!;
}

async function holdsSlot(jobId: string): Promise<boolean> {
  const holders = async (pk: string) => {
    const item = (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk }, ConsistentRead: true }))).Item;
    return item?.holders ? [...(item.holders as Set<string>)] : [];
  };
  const [global, owner] = [(await holders(globalCapacityPk())).includes(jobId), (await holders(ownerCapacityPk(OWNER))).includes(jobId)];
  expect(owner).toBe(global);
  return global;
}

async function exists(key: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

const execution = (jobId: string) => aws.sfn.executions.get(executionArnFor(TEST_STATE_MACHINE_ARN, jobId));

/** ECS's "ECS Task State Change" event for the job's stopped task, as EventBridge delivers it. */
function taskStoppedEvent(jobId: string, lastStatus = 'STOPPED') {
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:ecs:us-east-1:000000000000:task/c/abc'],
    detail: {
      clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/c',
      taskArn: 'arn:aws:ecs:us-east-1:000000000000:task/c/abc',
      lastStatus,
      stopCode: 'UserInitiated',
      stoppedReason: 'Task stopped by user',
      overrides: {
        containerOverrides: [
          {
            name: 'Runner',
            environment: [
              { name: RUNNER_ENV.JOB_ID, value: jobId },
              { name: 'INPUT_URL', value: 'x' },
            ],
          },
        ],
      },
      containers: [{ name: 'Runner', exitCode: 143 }],
    },
  };
}

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

describe('POST /jobs/{id}/cancel before the task starts', () => {
  it('AWAITING_UPLOAD: 200 CANCELLED at once, slot freed, idempotent; then deletable', async () => {
    const { job } = await create();
    expect(await holdsSlot(job.jobId)).toBe(true);
    const first = await cancel(job.jobId);
    expect([first.statusCode, first.json.status, first.json.terminal]).toEqual([200, 'CANCELLED', true]);
    expect(first.json.retryAfterSeconds).toBeUndefined();
    expect(await holdsSlot(job.jobId)).toBe(false);
    const again = await cancel(job.jobId);
    expect([again.statusCode, again.json.status]).toEqual([200, 'CANCELLED']);
    const deleted = await route('deleteJob', job.jobId);
    expect([deleted.statusCode, deleted.json.status]).toEqual([200, 'DELETED']);
  });

  it('VALIDATING: 200 CANCELLED; the validation that comes later leaves it alone', async () => {
    const created = await create();
    const jobId = created.job.jobId;
    const event = await upload(created);
    expect((await new JobStore(aws.ddb, aws.tableName).transition(jobId, 'VALIDATING', { from: ['AWAITING_UPLOAD'] })).ok).toBe(true);
    const response = await cancel(jobId);
    expect([response.statusCode, response.json.status]).toEqual([200, 'CANCELLED']);
    expect(await holdsSlot(jobId)).toBe(false);
    await h.validateUpload(event, lambdaContext());
    expect((await stored(jobId)).status).toBe('CANCELLED');
    expect(execution(jobId)).toBeUndefined();
  });

  it('QUEUED: 200 CANCELLED, slot freed, bundle deleted, execution stopped, and PrepareRun never starts the task', async () => {
    const jobId = await queued();
    expect(execution(jobId)?.status).toBe('RUNNING');
    const response = await cancel(jobId);
    expect([response.statusCode, response.json.status]).toEqual([200, 'CANCELLED']);
    expect(await holdsSlot(jobId)).toBe(false);
    expect(await exists(s3Keys.bundle(jobId))).toBe(false);
    expect(execution(jobId)).toMatchObject({ status: 'ABORTED', cause: 'Cancelled by the owner' });
    expect(await h.prepareRun({ jobId }, lambdaContext())).toMatchObject({ skip: true });
    expect((await stored(jobId)).status).toBe('CANCELLED');
  });
});

describe('POST /jobs/{id}/cancel while the task runs', () => {
  it('RUNNING: 202 CANCELLING, slot held, execution stopped; repeated 202; the STOPPED event ends it CANCELLED and frees the slot', async () => {
    const { jobId } = await running();
    const first = await cancel(jobId);
    expect([first.statusCode, first.json.status, first.json.terminal]).toEqual([202, 'CANCELLING', false]);
    expect(Number(first.headers['Retry-After'])).toBeGreaterThan(0);
    expect(execution(jobId)).toMatchObject({ status: 'ABORTED', cause: 'Cancelled by the owner' });
    expect(await holdsSlot(jobId)).toBe(true);
    expect((await cancel(jobId)).statusCode).toBe(202);
    expect((await route('getJob', jobId)).json.status).toBe('CANCELLING');

    // Events that are not this task's STOPPED change nothing.
    expect(await h.taskStopped(taskStoppedEvent(jobId, 'DEPROVISIONING'), lambdaContext())).toMatchObject({ action: 'ignored' });
    expect(await holdsSlot(jobId)).toBe(true);

    expect(await h.taskStopped(taskStoppedEvent(jobId), lambdaContext())).toEqual({ jobId, status: 'CANCELLED', action: 'finished' });
    expect(await holdsSlot(jobId)).toBe(false);
    expect(await exists(s3Keys.bundle(jobId))).toBe(false);
    const done = await cancel(jobId);
    expect([done.statusCode, done.json.status, done.json.terminal]).toEqual([200, 'CANCELLED', true]);
    // A duplicate event is harmless.
    expect(await h.taskStopped(taskStoppedEvent(jobId), lambdaContext())).toMatchObject({ action: 'ignored', status: 'CANCELLED' });
  });

  it('RUNNING, stopped before its task was requested (between PrepareRun and RunTask): 200 CANCELLED at once, slot freed — no STOPPED event will come', async () => {
    const { jobId } = await running(false);
    expect(await holdsSlot(jobId)).toBe(true);
    const response = await cancel(jobId);
    expect([response.statusCode, response.json.status, response.json.terminal]).toEqual([200, 'CANCELLED', true]);
    expect(execution(jobId)).toMatchObject({ status: 'ABORTED' });
    expect(execution(jobId)!.history.map((event) => event.type)).toEqual(['ExecutionStarted', 'ExecutionAborted']);
    expect(await holdsSlot(jobId)).toBe(false);
    expect(await exists(s3Keys.bundle(jobId))).toBe(false);
    // Nothing is left for the reaper.
    expect((await reapAfter(CANCEL_DEADLINE_MS + 1000)).finishedCancels).toBe(0);

    // A DELETE meeting the same moment ends DELETED at once.
    const other = await running(false);
    const deleted = await route('deleteJob', other.jobId);
    expect([deleted.statusCode, deleted.json.status]).toEqual([200, 'DELETED']);
    expect(await holdsSlot(other.jobId)).toBe(false);
  });

  it("leaves a RUNNING job's natural stop to RecordOutcome", async () => {
    const { jobId } = await running();
    expect(await h.taskStopped(taskStoppedEvent(jobId), lambdaContext())).toMatchObject({ action: 'ignored', status: 'RUNNING' });
    expect(await holdsSlot(jobId)).toBe(true);
  });

  it('RecordOutcome finds the job CANCELLING (the task finished anyway): CANCELLED, the result deleted, the slot freed', async () => {
    const { jobId, run } = await running();
    expect((await cancel(jobId)).statusCode).toBe(202);
    await convertedSuccessfully(run);
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'CANCELLED' });
    expect(await holdsSlot(jobId)).toBe(false);
    expect(await exists(s3Keys.result(jobId))).toBe(false);
    expect(await exists(s3Keys.report(jobId))).toBe(false);
  });

  it('409 JOB_ALREADY_ENDED with the status when the job ended otherwise', async () => {
    const { jobId, run } = await running();
    await convertedSuccessfully(run);
    await h.recordOutcome({ jobId }, lambdaContext());
    const response = await cancel(jobId);
    expect([response.statusCode, response.json.error.code, response.json.error.details]).toEqual([
      409,
      'JOB_ALREADY_ENDED',
      { status: 'SUCCEEDED' },
    ]);
    expect((await cancel(jobId, 'key-someone-else')).statusCode).toBe(404);
  });

  it('a cancel racing the natural finish leaves exactly one terminal state, and the slot freed once (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const { jobId, run } = await running();
      await convertedSuccessfully(run);
      const [response, outcome] = await Promise.all([
        cancel(jobId),
        h.recordOutcome({ jobId }, lambdaContext()) as Promise<{ status: string }>,
      ]);
      const job = await stored(jobId);
      if (response.statusCode === 409) {
        expect([job.status, outcome.status, response.json.error.details.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      } else {
        expect([response.statusCode, response.json.status]).toEqual([202, 'CANCELLING']);
        expect([job.status, outcome.status]).toEqual(['CANCELLED', 'CANCELLED']);
      }
      expect(await holdsSlot(jobId)).toBe(false);
    }
  });
});

describe('DELETE /jobs/{id} on a running job', () => {
  it('cancels first: 202 CANCELLING with the slot held, DELETED with its data gone once the task stopped', async () => {
    const { jobId, run } = await running();
    await putObject(run.reportUrl, '{}');
    const response = await route('deleteJob', jobId);
    expect([response.statusCode, response.json.status]).toEqual([202, 'CANCELLING']);
    expect((await stored(jobId)).deleteRequested).toBe(true);
    expect(execution(jobId)?.status).toBe('ABORTED');
    expect(await holdsSlot(jobId)).toBe(true);
    expect((await route('deleteJob', jobId)).statusCode).toBe(202);
    expect(await h.taskStopped(taskStoppedEvent(jobId), lambdaContext())).toMatchObject({ status: 'DELETED', action: 'finished' });
    expect(await holdsSlot(jobId)).toBe(false);
    expect(await exists(s3Keys.report(jobId))).toBe(false);
    expect(await exists(s3Keys.bundle(jobId))).toBe(false);
    expect((await route('deleteJob', jobId)).json.status).toBe('DELETED');
  });

  it('a DELETE of a CANCELLING job makes it end DELETED instead of CANCELLED', async () => {
    const { jobId } = await running();
    expect((await cancel(jobId)).statusCode).toBe(202);
    const response = await route('deleteJob', jobId);
    expect([response.statusCode, response.json.status]).toEqual([202, 'CANCELLING']);
    expect(await h.recordOutcome({ jobId }, lambdaContext())).toEqual({ jobId, status: 'DELETED' });
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it('deletes a CANCELLED job at once', async () => {
    const { job } = await create();
    await cancel(job.jobId);
    expect((await route('deleteJob', job.jobId)).json.status).toBe('DELETED');
  });
});

describe('the reaper and CANCELLING jobs', () => {
  it('leaves one within its deadline alone (slot held); past it, with the execution ended, finishes it CANCELLED', async () => {
    const { jobId } = await running();
    expect((await cancel(jobId)).statusCode).toBe(202);
    expect(await reapAfter(0)).toMatchObject({ finishedCancels: 0, inFlight: 1 });
    expect(await holdsSlot(jobId)).toBe(true);
    expect(await reapAfter(CANCEL_DEADLINE_MS + 60_000)).toMatchObject({ finishedCancels: 1, inFlight: 0 });
    expect((await stored(jobId)).status).toBe('CANCELLED');
    expect(await holdsSlot(jobId)).toBe(false);
  });

  it('stops an execution still running past the deadline (the cancel could not stop it), then finishes the job', async () => {
    const { jobId } = await running();
    // A cancel that died between its write and StopExecution.
    const store = new JobStore(aws.ddb, aws.tableName);
    expect((await store.transition(jobId, 'CANCELLING', { from: ['RUNNING'], set: { deadlineAt: cancelDeadline(Date.now()) } })).ok).toBe(
      true,
    );
    expect(execution(jobId)?.status).toBe('RUNNING');
    expect(await reapAfter(CANCEL_DEADLINE_MS + 60_000)).toMatchObject({ finishedCancels: 0, inFlight: 1 });
    expect(execution(jobId)?.status).toBe('ABORTED');
    expect(await holdsSlot(jobId)).toBe(true);
    expect(await reapAfter(CANCEL_DEADLINE_MS + 60_000)).toMatchObject({ finishedCancels: 1 });
    expect(await holdsSlot(jobId)).toBe(false);
  });
});
