/**
 * Runs an `ecs:runTask.sync` task as a local process: the task definition's
 * container (its image's ENTRYPOINT and ENV from the staged Dockerfile, the
 * container Environment from the template, the state's overrides), with the
 * task's volume mapped to a fresh scratch folder and K2P_COMMAND pointing at
 * the discovered converter. When bubblewrap works here, the container runs in
 * a Fargate-like sandbox built from the task definition (sandbox.ts): its
 * volume is then a capped tmpfs at the real mount point, not a host folder.
 * Resolves like Step Functions does when the task stops: the task
 * description; rejects with States.TaskFailed (Cause = the
 * description JSON) when the essential container exited non-zero.
 * When a task has stopped, and only once every process it started is gone,
 * it emits ECS's "ECS Task State Change" event (lastStatus STOPPED) in
 * EventBridge's shape to `onTaskStopped` (local mode's event bus).
 * No task outlives local mode: a sandboxed one dies with it (bwrap
 * --die-with-parent, its own PID namespace), a plain one and its converter get
 * SIGKILL when their parent dies (PR_SET_PDEATHSIG through setpriv); each
 * running task leaves a record in `recordDir`, so a task that local mode was
 * killed under is stopped and reported STOPPED at the next start (recoverTasks).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants, tmpdir } from 'node:os';
import type { Writable } from 'node:stream';
import { RUNNER_LOCAL_ENV } from '../../../core/runner-contract';
import { RUNNER_ENV } from '../../../core/service-env';
import { joinCommand, which, type ConverterSetup } from './converter';
import { endpointsOf, relayedCommand, startHostRelays } from './network';
import {
  converterPrefix,
  IMAGE_DEFAULT_PATH,
  sandboxArgv,
  TaskCgroup,
  taskBinds,
  type SandboxSupport,
  type TaskResources,
} from './sandbox';
import { children, descendants, processesWithEnv, signal as sendSignal, signalTree, waitUntilGone } from '../../host/processes';
import type { ContainerModel, TaskDefinitionModel } from '../../model/stack-model';

/**
 * Set in every task's environment and inherited by whatever it starts, so that
 * nothing outlives its task (a container's processes all die with it), even a
 * converter orphaned when the runner was killed.
 */
export const TASK_MARKER_ENV = 'K2P_LOCAL_TASK_ID';

/** ECS waits this long between SIGTERM and SIGKILL when the container sets no StopTimeout. */
const ECS_DEFAULT_STOP_TIMEOUT_SECONDS = 30;

export interface EcsTaskRunnerOptions {
  taskDefinitions: TaskDefinitionModel[];
  converter: ConverterSetup;
  /** Every task gets a folder below this one for its volumes. */
  scratchRoot: string;
  region: string;
  accountId: string;
  /** Where the container's stdout/stderr go (its log stream). */
  logSink?: Writable;
  /** The host's PATH, so the runner can find the converter and its interpreter. */
  path?: string;
  /** SIGTERM → SIGKILL delay when the task is stopped. @default the container's StopTimeout, else 30 s */
  stopTimeoutSeconds?: number;
  /** What this machine supports (detectSandbox); without it, or when unavailable, tasks run as plain processes. */
  sandbox?: SandboxSupport;
  /** Replaces task-definition values (tests: a small memory or storage limit). */
  resources?: Partial<TaskResources>;
  /** URLs a sandboxed task may reach (local S3); nothing else answers in its network namespace. */
  endpoints?: string[];
  /** Receives the STOPPED task state change event once the task's processes are all gone (EventBridge shape). */
  onTaskStopped?: (event: TaskStateChangeEvent) => void;
  /** Where each running task keeps a record until its stop is reported (recoverTasks reads what a crash left). */
  recordDir?: string;
}

/** What a running task leaves in the record folder: enough to stop what is left of it and report it stopped. */
interface TaskRecord {
  taskId: string;
  pid: number;
  /** Its STOPPED event, to be completed with the stop's time and reason. */
  event: TaskStateChangeEvent;
}

/** ECS's stop code when the task's host went away under it (the task did not exit by itself; no exit code). */
const HOST_LOST_STOP_CODE = 'TerminationNotice';

/**
 * Stops what tasks recorded in `recordDir` left running (a crashed local mode's) and reports each STOPPED,
 * as ECS reports a task whose host was lost. Returns the tasks reported.
 */
export async function recoverTasks(
  recordDir: string,
  onTaskStopped: (event: TaskStateChangeEvent) => void,
  log?: Writable,
): Promise<TaskStateChangeEvent[]> {
  let names: string[];
  try {
    names = readdirSync(recordDir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const reported: TaskStateChangeEvent[] = [];
  for (const name of names) {
    const file = join(recordDir, name);
    let record: TaskRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as TaskRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    // Only processes carrying the task's marker: its pid may have been reused since.
    const left = () => processesWithEnv(TASK_MARKER_ENV, record.taskId);
    for (const pid of left()) signalTree(pid, 'SIGKILL');
    await waitUntilGone(left, GONE_TIMEOUT_MS).catch((error: Error) => log?.write(`task-runner: ${error.message}\n`));
    rmSync(join(tmpdir(), `k2p-relay-${record.taskId}`), { recursive: true, force: true });
    const stoppedAt = new Date();
    const event: TaskStateChangeEvent = {
      ...record.event,
      id: randomUUID(),
      time: stoppedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      detail: {
        ...record.event.detail,
        stopCode: HOST_LOST_STOP_CODE,
        stoppedReason: 'Local mode ended while the task was running (its processes were stopped when local mode started again)',
        stoppedAt: stoppedAt.toISOString(),
        containers: record.event.detail.containers.map(({ name: container }) => ({ name: container, lastStatus: 'STOPPED' as const })),
      },
    };
    rmSync(file, { force: true });
    try {
      onTaskStopped(event);
    } catch (error) {
      log?.write(`task-runner: the task-stopped event could not be delivered: ${(error as Error).message}\n`);
    }
    reported.push(event);
  }
  return reported;
}

let pdeathsigPrefix: string[] | undefined;
/** `setpriv --pdeathsig KILL --` when this machine has it (Linux, util-linux ≥ 2.33), else nothing. */
export function dieWithParentPrefix(): string[] {
  if (pdeathsigPrefix) return pdeathsigPrefix;
  const prefix = ['setpriv', '--pdeathsig', 'KILL', '--'];
  try {
    execFileSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore', timeout: 5000 });
    pdeathsigPrefix = prefix;
  } catch {
    pdeathsigPrefix = [];
  }
  return pdeathsigPrefix;
}

/** EventBridge's "ECS Task State Change" event, as far as local mode fills it. */
export interface TaskStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'ECS Task State Change';
  source: 'aws.ecs';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    clusterArn: string;
    taskArn: string;
    taskDefinitionArn: string;
    launchType: string;
    lastStatus: 'STOPPED';
    desiredStatus: 'STOPPED';
    stopCode: string;
    stoppedReason: string;
    startedAt: string;
    stoppedAt: string;
    overrides: { containerOverrides: { name: string; environment?: { name: string; value: string }[]; command?: string[] }[] };
    containers: { name: string; lastStatus: 'STOPPED'; exitCode?: number }[];
  };
}

/** How long a stopped task's processes may take to vanish after SIGKILL before the stop is reported anyway. */
const GONE_TIMEOUT_MS = 10_000;

export interface RunningTask {
  taskArn: string;
  /** JOB_ID of the task's environment (the runner's job). */
  jobId?: string;
  pid: number;
  startedAt: Date;
}

type EnvOverride = { Name: string; Value: string };
type ContainerOverride = { Name: string; Environment?: EnvOverride[]; Command?: string[] };

class TaskFailedError extends Error {
  constructor(description: object) {
    super(JSON.stringify(description));
    this.name = 'States.TaskFailed';
  }
}

/** What RunTask itself answers (the task never starts): Step Functions names it ECS.<exception>. */
class EcsApiError extends Error {
  constructor(exception: string, message: string) {
    super(message);
    this.name = `ECS.${exception}`;
  }
}

/**
 * report.json names the image and version the converter came from: the image's own values are true only when the
 * converter runs in that image, so they become the converter found here (its version as read at start-up; unknown:
 * the runner asks it each job).
 */
function converterIdentity(env: Record<string, string>, converter: ConverterSetup): void {
  if (converter.image) env[RUNNER_ENV.CONVERTER_IMAGE] = converter.image;
  else delete env[RUNNER_ENV.CONVERTER_IMAGE];
  if (converter.version) env[RUNNER_ENV.CONVERTER_VERSION] = converter.version;
  else delete env[RUNNER_ENV.CONVERTER_VERSION];
}

function findTaskDefinition(definitions: TaskDefinitionModel[], reference: string): TaskDefinitionModel {
  // TaskDefinition may be the family, family:revision or the ARN.
  const family = reference.split('/').pop()!.replace(/:\d+$/, '');
  const found = definitions.find((d) => d.arn === reference || d.family === family);
  if (!found) throw new EcsApiError('ClientException', `Unable to find task definition ${reference}`);
  return found;
}

/** Replaces a container path (a mount point) at the start of `value` with its host folder. */
function mapPaths(value: string, mounts: [containerPath: string, hostPath: string][]): string {
  for (const [containerPath, hostPath] of mounts) {
    if (value === containerPath) return hostPath;
    if (value.startsWith(`${containerPath}/`)) return hostPath + value.slice(containerPath.length);
  }
  return value;
}

export class EcsTaskRunner {
  private readonly running = new Map<
    string,
    RunningTask & { stop: () => void; terminate: (sig: NodeJS.Signals) => void; done: Promise<unknown> }
  >();
  private closed = false;

  constructor(private readonly options: EcsTaskRunnerOptions) {}

  /** Tasks running now (tests use this to kill a runner mid-job). */
  tasks(): RunningTask[] {
    return [...this.running.values()].map(({ taskArn, jobId, pid, startedAt }) => ({ taskArn, jobId, pid, startedAt }));
  }

  /** The environment and argv the container would get, with local paths. */
  containerLaunch(
    container: ContainerModel,
    overrides: ContainerOverride | undefined,
    taskDir: string,
    taskId: string,
  ): { argv: string[]; env: Record<string, string>; cwd: string } {
    const image = container.image;
    if (!image)
      throw new TaskFailedError({
        StopCode: 'TaskFailedToStart',
        StoppedReason: `Container ${container.name} does not use an image asset of this assembly`,
      });
    const mounts: [string, string][] = container.mountPoints.map((m) => [m.containerPath, join(taskDir, m.sourceVolume)]);
    for (const [, host] of mounts) mkdirSync(host, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {};
    const layers = [image.env, container.environment, Object.fromEntries((overrides?.Environment ?? []).map((e) => [e.Name, e.Value]))];
    for (const layer of layers) for (const [name, value] of Object.entries(layer)) env[name] = mapPaths(value, mounts);
    // The converter dies with the runner, as the runner dies with local mode.
    const dieWithParent = dieWithParentPrefix();
    env[RUNNER_ENV.K2P_COMMAND] = [...(dieWithParent.length ? [joinCommand(dieWithParent)] : []), this.options.converter.command].join(' ');
    env[RUNNER_LOCAL_ENV.K2P_VERSION_COMMAND] = this.options.converter.versionCommand;
    converterIdentity(env, this.options.converter);
    env[TASK_MARKER_ENV] = taskId;
    // The image's PATH is not the host's: the runner needs the host's to find node, the converter and its interpreter.
    env.PATH = this.options.path ?? process.env.PATH ?? '/usr/bin:/bin';
    const entry = [...image.entrypoint, ...(overrides?.Command ?? image.cmd)];
    const argv = entry.map((arg, index) => {
      if (index === 0 && arg === 'node') return process.execPath;
      return image.copies.get(arg) ?? mapPaths(arg, mounts);
    });
    const cwd = mounts[0]?.[1] ?? taskDir;
    return { argv, env, cwd };
  }

  /** Whether tasks run in the bubblewrap sandbox (a Docker converter cannot run inside it). */
  get sandboxed(): boolean {
    return Boolean(this.options.sandbox?.available && this.options.converter.argv);
  }

  /** The container as the sandbox starts it: container paths as they are, the image's PATH, the converter in its own sandbox. */
  sandboxLaunch(
    definition: TaskDefinitionModel,
    container: ContainerModel,
    overrides: ContainerOverride | undefined,
    cgroup: TaskCgroup | undefined,
    relayDir: string,
  ): { argv: string[]; env: Record<string, string> } {
    const image = container.image;
    if (!image)
      throw new TaskFailedError({ StopCode: 'TaskFailedToStart', StoppedReason: `Container ${container.name} has no local image` });
    const support = this.options.sandbox!;
    const resources: TaskResources = {
      memoryMiB: definition.memoryMiB,
      cpuUnits: definition.cpuUnits,
      ephemeralStorageGiB: definition.ephemeralStorageGiB,
      user: container.user,
      ...this.options.resources,
    };
    const converterArgv = [...this.options.converter.argv!];
    const hostEnv = { PATH: this.options.path ?? process.env.PATH };
    converterArgv[0] = which(converterArgv[0]!, hostEnv) ?? converterArgv[0]!;
    const env: Record<string, string> = { PATH: IMAGE_DEFAULT_PATH };
    for (const layer of [
      image.env,
      container.environment,
      Object.fromEntries((overrides?.Environment ?? []).map((e) => [e.Name, e.Value])),
    ])
      Object.assign(env, layer);
    env[RUNNER_ENV.K2P_COMMAND] = joinCommand([...converterPrefix(support, resources), ...converterArgv]);
    env[RUNNER_LOCAL_ENV.K2P_VERSION_COMMAND] = this.options.converter.versionCommand;
    converterIdentity(env, this.options.converter);
    const node = realpathSync(process.execPath);
    const command = [...image.entrypoint, ...(overrides?.Command ?? image.cmd)].map((arg, index) =>
      index === 0 && arg === 'node' ? node : arg,
    );
    const entry = relayedCommand(node, endpointsOf(this.options.endpoints ?? []), command);
    const binds = taskBinds(converterArgv, hostEnv);
    const mount = container.mountPoints[0];
    const argv = sandboxArgv({
      support,
      argv: entry,
      env,
      copies: image.copies,
      scratchPath: mount?.containerPath ?? '/scratch',
      resources,
      binds,
      cgroup,
      relayDir,
    });
    return { argv, env };
  }

  run(parameters: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    try {
      return this.start(parameters, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async start(parameters: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    if (this.closed) throw new EcsApiError('ServerException', 'local mode is shutting down');
    const definition = findTaskDefinition(this.options.taskDefinitions, String(parameters.TaskDefinition ?? ''));
    if (definition.containers.length !== 1) throw new EcsApiError('ClientException', 'Local mode runs single-container tasks only');
    const container = definition.containers[0]!;
    const overridesList = ((parameters.Overrides as { ContainerOverrides?: ContainerOverride[] } | undefined)?.ContainerOverrides ??
      []) as ContainerOverride[];
    const overrides = overridesList.find((o) => o.Name === container.name);
    const taskId = randomUUID().replace(/-/g, '');
    const taskArn = `arn:aws:ecs:${this.options.region}:${this.options.accountId}:task/${String(parameters.Cluster ?? 'default')
      .split('/')
      .pop()}/${taskId}`;
    const taskDir = join(this.options.scratchRoot, `task-${taskId}`);
    const startedAt = new Date();

    const description = (exitCode: number | null, stopCode: string, stoppedReason: string, reason?: string) => ({
      TaskArn: taskArn,
      ClusterArn: parameters.Cluster,
      TaskDefinitionArn: definition.arn,
      LaunchType: parameters.LaunchType ?? 'FARGATE',
      LastStatus: 'STOPPED',
      DesiredStatus: 'STOPPED',
      StartedAt: startedAt.toISOString(),
      StoppedAt: new Date().toISOString(),
      StopCode: stopCode,
      StoppedReason: stoppedReason,
      Containers: [
        {
          Name: container.name,
          LastStatus: 'STOPPED',
          ...(exitCode === null ? {} : { ExitCode: exitCode }),
          ...(reason ? { Reason: reason } : {}),
        },
      ],
      Overrides: parameters.Overrides,
    });

    const stoppedEvent = (exitCode: number | null, stopCode: string, stoppedReason: string): TaskStateChangeEvent => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: this.options.accountId,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: [taskArn],
      detail: {
        clusterArn: String(parameters.Cluster ?? ''),
        taskArn,
        taskDefinitionArn: definition.arn,
        launchType: String(parameters.LaunchType ?? 'FARGATE'),
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode,
        stoppedReason,
        startedAt: startedAt.toISOString(),
        stoppedAt: new Date().toISOString(),
        overrides: {
          containerOverrides: overridesList.map((o) => ({
            name: o.Name,
            ...(o.Environment ? { environment: o.Environment.map((e) => ({ name: e.Name, value: e.Value })) } : {}),
            ...(o.Command ? { command: o.Command } : {}),
          })),
        },
        containers: [{ name: container.name, lastStatus: 'STOPPED', ...(exitCode === null ? {} : { exitCode }) }],
      },
    });
    const recordFile = this.options.recordDir ? join(this.options.recordDir, `${taskId}.json`) : undefined;
    const emitStopped = (event: TaskStateChangeEvent) => {
      if (recordFile) rmSync(recordFile, { force: true });
      try {
        this.options.onTaskStopped?.(event);
      } catch (error) {
        log?.write(`task-runner: the task-stopped event could not be delivered: ${(error as Error).message}\n`);
      }
    };

    let launch: { argv: string[]; env: Record<string, string>; cwd: string };
    let cgroup: TaskCgroup | undefined;
    let relays: { close(): Promise<void> } | undefined;
    const sandboxed = this.sandboxed;
    // Outside the data dir (private to you): the sandbox's user must reach the relay sockets.
    const relayDir = join(tmpdir(), `k2p-relay-${taskId}`);
    const log = this.options.logSink;
    const cleanUp = async () => {
      await relays?.close();
      await cgroup?.destroy();
      rmSync(relayDir, { recursive: true, force: true });
      rmSync(taskDir, { recursive: true, force: true });
    };
    try {
      if (sandboxed) {
        const limits = this.options.sandbox!.limits;
        if (limits === 'cgroup-v1' || limits === 'cgroup-v2') {
          cgroup = TaskCgroup.create(`k2p-task-${taskId}`, {
            memoryMiB: definition.memoryMiB,
            cpuUnits: definition.cpuUnits,
            ...this.options.resources,
          });
          if (!cgroup) throw new TaskFailedError(description(null, 'TaskFailedToStart', 'CannotCreateContainerError: the task cgroup'));
        }
        // The sandbox gets an empty environment of its own (--clearenv); the wrapper needs only a PATH.
        launch = { ...this.sandboxLaunch(definition, container, overrides, cgroup, relayDir), cwd: '/' };
        relays = await startHostRelays(relayDir, endpointsOf(this.options.endpoints ?? []));
        // close() may have run while the relays started: this task was not yet there to stop.
        if (this.closed) throw new EcsApiError('ServerException', 'local mode is shutting down');
      } else {
        launch = this.containerLaunch(container, overrides, taskDir, taskId);
      }
    } catch (error) {
      await cleanUp();
      throw error;
    }

    const [file, ...args] = (sandboxed ? launch.argv : [...dieWithParentPrefix(), ...launch.argv]) as [string, ...string[]];
    const spawnEnv = sandboxed ? { PATH: IMAGE_DEFAULT_PATH } : launch.env;
    const child = spawn(file, args, { cwd: launch.cwd, env: spawnEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => log?.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => log?.write(chunk));

    const stopTimeoutMs = (this.options.stopTimeoutSeconds ?? container.stopTimeoutSeconds ?? ECS_DEFAULT_STOP_TIMEOUT_SECONDS) * 1000;
    let stopRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    // The container's init passes SIGTERM to its process (bwrap's init does not: signal the runner below it);
    // SIGKILL takes bwrap, and with it the whole PID namespace.
    // Every process seen in the task's tree: a stop is reported only once they are all gone.
    const seen = new Set<number>();
    const remember = () => {
      if (child.pid !== undefined) for (const pid of [child.pid, ...descendants(child.pid)]) seen.add(pid);
    };
    const terminate = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      remember();
      if (!sandboxed || sig === 'SIGKILL') return signalTree(child.pid, sig);
      for (const init of children(child.pid)) for (const main of children(init)) sendSignal(main, sig);
    };
    // Like `ecs stop-task`: SIGTERM to the container, SIGKILL to whatever is left after the stop timeout.
    const stop = () => {
      if (stopRequested || child.pid === undefined || child.exitCode !== null) return;
      stopRequested = true;
      terminate('SIGTERM');
      killTimer = setTimeout(() => terminate('SIGKILL'), stopTimeoutMs);
    };

    const done = new Promise<unknown>((resolve, reject) => {
      child.once('error', (error) => {
        clearTimeout(killTimer);
        const reason = `CannotStartContainerError: ${error.message}`;
        void cleanUp().then(() => {
          emitStopped(stoppedEvent(null, 'TaskFailedToStart', reason));
          reject(new TaskFailedError(description(null, 'TaskFailedToStart', reason)));
        });
      });
      child.once('exit', (code, sig) => {
        clearTimeout(killTimer);
        // The container is gone, and so is everything it started (no process outlives a task).
        if (child.pid !== undefined) signalTree(child.pid, 'SIGKILL');
        for (const pid of processesWithEnv(TASK_MARKER_ENV, taskId)) sendSignal(pid, 'SIGKILL');
        const exitCode = code ?? 128 + (sig ? (osConstants.signals[sig] ?? 9) : 9);
        const stoppedReason = stopRequested ? 'Task stopped by user' : 'Essential container in task exited';
        const stopCode = stopRequested ? 'UserInitiated' : 'EssentialContainerExited';
        const result = description(exitCode, stopCode, stoppedReason);
        // The processes and the task's cgroup go before the task is reported stopped.
        const gone = waitUntilGone(() => [...seen, ...processesWithEnv(TASK_MARKER_ENV, taskId)], GONE_TIMEOUT_MS).catch((error: Error) =>
          log?.write(`task-runner: ${error.message}\n`),
        );
        void gone.then(cleanUp).then(() => {
          emitStopped(stoppedEvent(exitCode, stopCode, stoppedReason));
          if (exitCode === 0) resolve(result);
          else reject(new TaskFailedError(result));
        });
      });
    });

    if (child.pid !== undefined) {
      if (recordFile) {
        mkdirSync(this.options.recordDir!, { recursive: true, mode: 0o700 });
        const record: TaskRecord = { taskId, pid: child.pid, event: stoppedEvent(null, '', '') };
        writeFileSync(recordFile, JSON.stringify(record), { mode: 0o600 });
      }
      const jobId = launch.env[RUNNER_ENV.JOB_ID];
      this.running.set(taskArn, { taskArn, jobId, pid: child.pid, startedAt, stop, terminate, done });
    }
    const onAbort = () => stop();
    if (signal.aborted) stop();
    else signal.addEventListener('abort', onAbort, { once: true });
    return done.finally(() => {
      signal.removeEventListener('abort', onAbort);
      this.running.delete(taskArn);
    });
  }

  /** Stops every running task (SIGTERM, then SIGKILL after `graceMs`) and waits for them. */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    const tasks = [...this.running.values()];
    for (const task of tasks) task.terminate('SIGTERM');
    const killer = setTimeout(() => tasks.forEach((task) => task.terminate('SIGKILL')), graceMs);
    await Promise.allSettled(tasks.map((t) => t.done));
    clearTimeout(killer);
  }
}
