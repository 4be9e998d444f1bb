import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConverterSetup } from '../../../local/stand-ins/ecs-task/converter';
import { dieWithParentPrefix, EcsTaskRunner, type TaskStateChangeEvent } from '../../../local/stand-ins/ecs-task/task-runner';
import type { TaskDefinitionModel } from '../../../local/model/stack-model';
import { tempDir } from '../helpers';

/** A stand-in container program: reports its env, exits as told, or starts a grandchild and ignores SIGTERM. */
const PROGRAM = `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const mode = process.env.MODE;
writeFileSync(process.env.REPORT_FILE, JSON.stringify({ env: process.env, cwd: process.cwd() }));
if (mode === 'exit') process.exit(Number(process.env.CODE));
if (mode === 'stuck') {
  process.on('SIGTERM', () => {});
  // Like the runner's converter: its own process group.
  const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
  writeFileSync(process.env.REPORT_FILE + '.child', String(child.pid));
  setInterval(() => {}, 1000);
}
`;

const converter: ConverterSetup = {
  source: 'K2P_COMMAND',
  display: 'k2p',
  command: 'unshare -rn k2p',
  versionCommand: 'python3 -c x',
  version: null,
  isolation: { kind: 'unshare', description: 'x', prefix: ['unshare', '-rn'] },
};

function setUp(stopTimeoutSeconds?: number, onTaskStopped?: (event: TaskStateChangeEvent) => void, setup: ConverterSetup = converter) {
  const dir = tempDir('k2p-ecs-');
  writeFileSync(join(dir, 'program.mjs'), PROGRAM);
  const definition: TaskDefinitionModel = {
    logicalId: 'Task',
    family: 'fam',
    arn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/fam:1',
    containers: [
      {
        name: 'Runner',
        environment: { SCRATCH_DIR: '/scratch', CONVERTER_IMAGE: 'img', FROM_TEMPLATE: 'yes' },
        mountPoints: [{ containerPath: '/scratch', sourceVolume: 'scratch', readOnly: false }],
        image: {
          env: {
            HOME: '/scratch',
            TMPDIR: '/scratch/tmp',
            K2P_COMMAND: 'k2p',
            CONVERTER_VERSION: '9.9.9',
            FROM_IMAGE: 'yes',
            FROM_TEMPLATE: 'no',
          },
          entrypoint: ['node', '/opt/app/program.mjs'],
          cmd: [],
          copies: new Map([['/opt/app/program.mjs', join(dir, 'program.mjs')]]),
          volumes: ['/scratch'],
          contextDir: dir,
          buildArgs: {},
        },
      },
    ],
  };
  const runner = new EcsTaskRunner({
    taskDefinitions: [definition],
    converter: setup,
    scratchRoot: join(dir, 'scratch'),
    region: 'us-east-1',
    accountId: '000000000000',
    stopTimeoutSeconds,
    onTaskStopped,
  });
  runners.push(runner);
  const parameters = (env: Record<string, string>) => ({
    Cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/c',
    TaskDefinition: 'fam',
    LaunchType: 'FARGATE',
    Overrides: {
      ContainerOverrides: [
        {
          Name: 'Runner',
          Environment: Object.entries({ REPORT_FILE: join(dir, 'report.json'), ...env }).map(([Name, Value]) => ({ Name, Value })),
        },
      ],
    },
  });
  const report = () => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { env: Record<string, string>; cwd: string };
  return { dir, runner, parameters, report };
}

const runners: EcsTaskRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close(100)));
});

/** Running (a zombie waiting for a reaper that may never come in a container counts as gone). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
};

describe('EcsTaskRunner', () => {
  it("passes the version local mode read from its converter at start-up, not the image's, so the runner need not ask each job", async () => {
    const { runner, parameters, report } = setUp(undefined, undefined, { ...converter, version: '0.1.11' });
    await runner.run(parameters({ MODE: 'exit', CODE: '0', JOB_ID: 'job1' }), new AbortController().signal);
    expect(report().env.CONVERTER_VERSION).toBe('0.1.11');
  });

  it("starts the image's entrypoint with the container's env: image ENV, then the template, then the overrides, volumes mapped to scratch", async () => {
    const { runner, parameters, report, dir } = setUp();
    const description = (await runner.run(parameters({ MODE: 'exit', CODE: '0', JOB_ID: 'job1' }), new AbortController().signal)) as Record<
      string,
      unknown
    >;
    const { env, cwd } = report();
    expect(env).toMatchObject({
      FROM_IMAGE: 'yes',
      FROM_TEMPLATE: 'yes',
      JOB_ID: 'job1',
      // The converter dies with the runner (PR_SET_PDEATHSIG) where setpriv can ask for it.
      K2P_COMMAND: [...dieWithParentPrefix(), 'unshare -rn k2p'].join(' '),
      K2P_VERSION_COMMAND: 'python3 -c x',
    });
    expect(env.SCRATCH_DIR).toMatch(new RegExp(`^${join(dir, 'scratch')}/task-[0-9a-f]+/scratch$`));
    expect(env.HOME).toBe(env.SCRATCH_DIR);
    expect(env.TMPDIR).toBe(`${env.SCRATCH_DIR}/tmp`);
    expect(cwd).toBe(env.SCRATCH_DIR);
    // The converter is not the pinned image here: report.json must not claim it was.
    expect(env.CONVERTER_IMAGE).toBeUndefined();
    // Nor the image's knime2py version: this converter's is unknown, so the runner asks it.
    expect(env.CONVERTER_VERSION).toBeUndefined();
    // The task's scratch is gone with the task.
    expect(existsSync(env.SCRATCH_DIR!)).toBe(false);
    expect(description).toMatchObject({
      LastStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      TaskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/fam:1',
      Containers: [{ Name: 'Runner', ExitCode: 0 }],
    });
  });

  it('fails the state with States.TaskFailed and the task description as cause when the container exits non-zero', async () => {
    const { runner, parameters } = setUp();
    const error = (await runner
      .run(parameters({ MODE: 'exit', CODE: '1' }), new AbortController().signal)
      .catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('States.TaskFailed');
    expect(JSON.parse(error.message)).toMatchObject({
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      Containers: [{ ExitCode: 1 }],
    });
  });

  it('stops a task like ECS: SIGTERM, then SIGKILL for everything it started (its own process groups too) after the stop timeout', async () => {
    const { runner, parameters, report, dir } = setUp(0.3);
    const abort = new AbortController();
    const running = runner.run(parameters({ MODE: 'stuck', JOB_ID: 'job-stuck' }), abort.signal).catch((e: unknown) => e);
    let childPid = 0;
    for (let i = 0; i < 100 && !childPid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(join(dir, 'report.json.child'))) childPid = Number(readFileSync(join(dir, 'report.json.child'), 'utf8'));
    }
    expect(report().env.JOB_ID).toBe('job-stuck');
    expect(runner.tasks()).toMatchObject([{ jobId: 'job-stuck' }]);
    expect(alive(childPid)).toBe(true);
    abort.abort();
    const error = (await running) as Error;
    expect(error.name).toBe('States.TaskFailed');
    expect(JSON.parse(error.message)).toMatchObject({ StopCode: 'UserInitiated', Containers: [{ ExitCode: 137 }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(childPid)).toBe(false);
    expect(runner.tasks()).toEqual([]);
  });

  it('emits the STOPPED task state change event (EventBridge shape) only once every process of the task is gone', async () => {
    const seen: { event: TaskStateChangeEvent; childAlive: boolean }[] = [];
    let childPid = 0;
    const { runner, parameters, dir } = setUp(0.3, (event) => seen.push({ event, childAlive: alive(childPid) }));
    const abort = new AbortController();
    const running = runner.run(parameters({ MODE: 'stuck', JOB_ID: 'job-event' }), abort.signal).catch((e: unknown) => e);
    for (let i = 0; i < 100 && !childPid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(join(dir, 'report.json.child'))) childPid = Number(readFileSync(join(dir, 'report.json.child'), 'utf8'));
    }
    expect(seen).toEqual([]);
    abort.abort();
    await running;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.childAlive).toBe(false);
    const { event } = seen[0]!;
    expect(event).toMatchObject({
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: '000000000000',
      region: 'us-east-1',
      detail: {
        clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/c',
        lastStatus: 'STOPPED',
        stopCode: 'UserInitiated',
        stoppedReason: 'Task stopped by user',
        containers: [{ name: 'Runner', exitCode: 137 }],
      },
    });
    expect(event.resources).toEqual([event.detail.taskArn]);
    expect(event.detail.overrides.containerOverrides[0]!.environment).toContainEqual({ name: 'JOB_ID', value: 'job-event' });
    // A task that ends by itself is reported too.
    await runner.run(parameters({ MODE: 'exit', CODE: '0', JOB_ID: 'job-done' }), new AbortController().signal);
    expect(seen[1]?.event.detail).toMatchObject({ stopCode: 'EssentialContainerExited', containers: [{ exitCode: 0 }] });
  });

  it('reports a container killed from outside (exit 137), and kills what it left behind, orphaned converter included', async () => {
    const { runner, parameters, dir } = setUp(30);
    const running = runner.run(parameters({ MODE: 'stuck', JOB_ID: 'job-killed' }), new AbortController().signal).catch((e: unknown) => e);
    let childPid = 0;
    for (let i = 0; i < 100 && !childPid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(join(dir, 'report.json.child'))) childPid = Number(readFileSync(join(dir, 'report.json.child'), 'utf8'));
    }
    const [task] = runner.tasks();
    process.kill(task!.pid, 'SIGKILL');
    const error = (await running) as Error;
    expect(error.name).toBe('States.TaskFailed');
    expect(JSON.parse(error.message)).toMatchObject({ StopCode: 'EssentialContainerExited', Containers: [{ ExitCode: 137 }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(childPid)).toBe(false);
  });

  it('rejects an unknown task definition like RunTask does, without starting anything', async () => {
    const { runner } = setUp();
    await expect(runner.run({ TaskDefinition: 'other' }, new AbortController().signal)).rejects.toMatchObject({
      name: 'ECS.ClientException',
    });
  });
});
