import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Executions } from '../../../lambdas/storage/executions';
import { afterEach, describe, expect, it } from 'vitest';
import { startSfnServer, type SfnServer } from '../../../local/stand-ins/step-functions/api-server';
import { attachStateMachine, type LocalTaskHandlers } from '../../../local/stand-ins/step-functions/state-machine-runner';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:conversion';
const PREPARE = 'arn:aws:lambda:us-east-1:000000000000:function:prepare';
const RECORD = 'arn:aws:lambda:us-east-1:000000000000:function:record';

/** The shape of the synthesized conversion machine: prepare → run task → record, every failure caught into record. */
const definition = {
  StartAt: 'PrepareRun',
  States: {
    PrepareRun: {
      Type: 'Task',
      Resource: PREPARE,
      Parameters: { 'jobId.$': '$.jobId' },
      ResultPath: '$.run',
      Next: 'SkipRun',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.taskError', Next: 'RecordOutcome' }],
    },
    SkipRun: { Type: 'Choice', Choices: [{ Variable: '$.run.skip', BooleanEquals: true, Next: 'Skipped' }], Default: 'RunConverter' },
    RunConverter: {
      Type: 'Task',
      Resource: 'arn:aws:states:::ecs:runTask.sync',
      TimeoutSeconds: 1,
      ResultPath: null,
      Next: 'ConverterFinished',
      Parameters: {
        Cluster: 'c',
        Overrides: { ContainerOverrides: [{ Name: 'Runner', Environment: [{ Name: 'JOB_ID', 'Value.$': '$.jobId' }] }] },
      },
      Retry: [{ ErrorEquals: ['ECS.AmazonECSException'], IntervalSeconds: 0, MaxAttempts: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.taskError', Next: 'RecordOutcome' }],
    },
    ConverterFinished: { Type: 'Pass', Result: {}, ResultPath: '$.taskError', Next: 'RecordOutcome' },
    RecordOutcome: { Type: 'Task', Resource: RECORD, Parameters: { 'jobId.$': '$.jobId', 'taskError.$': '$.taskError' }, End: true },
    Skipped: { Type: 'Succeed' },
  },
};

let server: SfnServer;
let detach: { close(): Promise<void> } | undefined;
const sfn = () =>
  new SFNClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

async function setUp(tasks: LocalTaskHandlers) {
  server = await startSfnServer({ stateMachineArns: [ARN] });
  detach = attachStateMachine(server, [{ arn: ARN, definition }], tasks);
}

async function waitForEnd(executionArn: string) {
  // Generous: the machine may be busy; a passing run returns as soon as the execution ends.
  for (let i = 0; i < 1200; i++) {
    const execution = await sfn().send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('execution did not end');
}

async function waitUntil(condition: () => boolean) {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!condition()) throw new Error('condition never held');
}

afterEach(async () => {
  await detach?.close();
  await server?.close();
});

describe('attachStateMachine', () => {
  it('runs an execution started through the SFN API: Lambda tasks, the ECS task with its overrides, and the output', async () => {
    const calls: string[] = [];
    await setUp({
      invokeFunction: async (arn, payload) => {
        calls.push(`${arn.split(':').pop()} ${JSON.stringify(payload)}`);
        return arn === PREPARE ? { skip: false } : { recorded: true };
      },
      runEcsTask: async (parameters) => {
        calls.push(`ecs ${JSON.stringify((parameters.Overrides as { ContainerOverrides: unknown[] }).ContainerOverrides)}`);
        return { Containers: [{ ExitCode: 0 }] };
      },
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job1', input: JSON.stringify({ jobId: 'job1' }) }),
    );
    const execution = await waitForEnd(executionArn!);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({ recorded: true });
    expect(calls).toEqual([
      'prepare {"jobId":"job1"}',
      'ecs [{"Name":"Runner","Environment":[{"Name":"JOB_ID","Value":"job1"}]}]',
      'record {"jobId":"job1","taskError":{}}',
    ]);
  });

  it('retries launch errors, catches a failed task into RecordOutcome with its error and cause', async () => {
    const recorded: unknown[] = [];
    let attempts = 0;
    await setUp({
      invokeFunction: async (arn, payload) => (arn === PREPARE ? { skip: false } : recorded.push(payload)),
      runEcsTask: async () => {
        attempts++;
        const error = new Error(attempts === 1 ? 'capacity' : JSON.stringify({ Containers: [{ ExitCode: 3 }] }));
        error.name = attempts === 1 ? 'ECS.AmazonECSException' : 'States.TaskFailed';
        throw error;
      },
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job2', input: JSON.stringify({ jobId: 'job2' }) }),
    );
    expect((await waitForEnd(executionArn!)).status).toBe('SUCCEEDED');
    expect(attempts).toBe(2);
    expect(recorded).toEqual([
      { jobId: 'job2', taskError: { Error: 'States.TaskFailed', Cause: JSON.stringify({ Containers: [{ ExitCode: 3 }] }) } },
    ]);
  });

  it('stops a task that outlives its TimeoutSeconds and records States.Timeout', async () => {
    const recorded: unknown[] = [];
    let aborted = false;
    await setUp({
      invokeFunction: async (arn, payload) => (arn === PREPARE ? { skip: false } : recorded.push(payload)),
      runEcsTask: (_parameters, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('stopped'));
          });
        }),
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job3', input: JSON.stringify({ jobId: 'job3' }) }),
    );
    expect((await waitForEnd(executionArn!)).status).toBe('SUCCEEDED');
    expect(aborted).toBe(true);
    expect(recorded).toEqual([{ jobId: 'job3', taskError: { Error: 'States.Timeout', Cause: expect.any(String) } }]);
  });

  it('fails the execution when a Lambda task fails and nothing catches it', async () => {
    await setUp({
      invokeFunction: async (arn) => {
        const error = new Error(`boom in ${arn.split(':').pop()}`);
        error.name = 'Error';
        throw error;
      },
      runEcsTask: async () => ({}),
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job4', input: JSON.stringify({ jobId: 'job4' }) }),
    );
    const execution = await waitForEnd(executionArn!);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Error', cause: 'boom in record' });
  });

  it('aborts the running task on StopExecution', async () => {
    let aborted = false;
    await setUp({
      invokeFunction: async () => ({ skip: false }),
      runEcsTask: (_parameters, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('stopped'))))),
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job5', input: JSON.stringify({ jobId: 'job5' }) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sfn().send(new StopExecutionCommand({ executionArn }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(aborted).toBe(true);
    expect((await sfn().send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
  });

  it('records the ECS task in the execution history (GetExecutionHistory, paged); a stop before RunConverter schedules no task', async () => {
    let releasePrepare!: () => void;
    let ecsCalls = 0;
    await setUp({
      invokeFunction: (arn) =>
        arn === PREPARE && !releasePrepare
          ? new Promise((resolve) => (releasePrepare = () => resolve({ skip: false })))
          : Promise.resolve({ skip: false }),
      runEcsTask: async () => {
        ecsCalls++;
        return {};
      },
    });
    const executions = new Executions(sfn(), ARN);
    // Held in PrepareRun, then stopped: the machine never asks ECS for the task.
    await sfn().send(new StartExecutionCommand({ stateMachineArn: ARN, name: 'job6', input: JSON.stringify({ jobId: 'job6' }) }));
    await waitUntil(() => releasePrepare !== undefined);
    expect(await executions.ecsTaskRequested('job6')).toBe('unknown');
    await executions.stop('job6', 'test');
    releasePrepare();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ecsCalls).toBe(0);
    expect(await executions.ecsTaskRequested('job6')).toBe('never');

    // Run to the end: the TaskScheduled is there, in the service's shape, and pages follow nextToken.
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job7', input: JSON.stringify({ jobId: 'job7' }) }),
    );
    await waitForEnd(executionArn!);
    expect(ecsCalls).toBe(1);
    expect(await executions.ecsTaskRequested('job7')).toBe('requested');
    const first = await sfn().send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2 }));
    expect(first.events!.map((event) => event.type)).toEqual(['ExecutionStarted', 'TaskScheduled']);
    expect(first.events![1]!.taskScheduledEventDetails).toMatchObject({
      resourceType: 'ecs',
      resource: 'runTask.sync',
      region: 'us-east-1',
    });
    const rest = await sfn().send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2, nextToken: first.nextToken }));
    expect(rest.events!.map((event) => event.type)).toEqual(['ExecutionSucceeded']);
    expect(rest.nextToken).toBeUndefined();
  });

  it('refuses at start-up a Task it cannot run locally', async () => {
    server = await startSfnServer({ stateMachineArns: [ARN] });
    const bad = { StartAt: 'Q', States: { Q: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } } };
    expect(() =>
      attachStateMachine(server, [{ arn: ARN, definition: bad }], { invokeFunction: async () => null, runEcsTask: async () => null }),
    ).toThrow(/cannot run Task state "Q"/);
  });
});

describe('lambda:invoke with InvocationType Event', () => {
  const NOTIFY = 'arn:aws:lambda:us-east-1:000000000000:function:notify';
  const eventDefinition = {
    StartAt: 'NotifyFinished',
    States: {
      NotifyFinished: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: NOTIFY, InvocationType: 'Event', 'Payload.$': '$' },
        ResultPath: '$.notified',
        End: true,
      },
    },
  };

  it('hands the payload to the async invoker and goes on at once with Lambda’s 202, never invoking synchronously', async () => {
    const queued: [string, unknown][] = [];
    const sync: string[] = [];
    server = await startSfnServer({ stateMachineArns: [ARN] });
    detach = attachStateMachine(server, [{ arn: ARN, definition: eventDefinition }], {
      invokeFunction: async (arn) => {
        sync.push(arn);
        return {};
      },
      invokeFunctionAsync: (arn, payload) => queued.push([arn, payload]),
      runEcsTask: async () => ({}),
    });
    const { executionArn } = await sfn().send(
      new StartExecutionCommand({ stateMachineArn: ARN, name: 'job-event', input: JSON.stringify({ jobId: 'job-event' }) }),
    );
    const execution = await waitForEnd(executionArn!);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({ jobId: 'job-event', notified: { StatusCode: 202, Payload: '' } });
    expect(queued).toEqual([[NOTIFY, { jobId: 'job-event' }]]);
    expect(sync).toEqual([]);
  });
});
