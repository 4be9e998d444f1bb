/**
 * Runs the synthesized state machine definition for local mode: every
 * execution the SFN API server starts is interpreted by aws-local-stepfunctions
 * (real ASL: Retry, Catch, TimeoutSeconds, JSONPath), with each Task state
 * mapped to a local handler. A Task whose resource local mode cannot run fails
 * the start-up: otherwise the interpreter would call real AWS.
 */
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { Execution, SfnServer } from './api-server';

export interface LocalTaskHandlers {
  /** Invokes a Lambda function by ARN with a payload; resolves with its result, rejects with its error. */
  invokeFunction(functionArn: string, payload: unknown): Promise<unknown>;
  /** Queues an asynchronous invocation (`InvocationType: Event`) and returns at once. */
  invokeFunctionAsync?(functionArn: string, payload: unknown): void;
  /**
   * Runs the ECS task of an `ecs:runTask.sync` state (`parameters`: the state's
   * Parameters after JSONPath resolution). Resolves when the task stopped;
   * rejects with an Error named 'States.TaskFailed' when the container failed.
   * `signal` aborts it (state timeout, StopExecution, shutdown).
   */
  runEcsTask(parameters: Record<string, unknown>, signal: AbortSignal): Promise<unknown>;
}

export interface LocalStateMachine {
  arn: string;
  /** The Amazon States Language definition (JSONPath), intrinsics already resolved. */
  definition: object;
}

interface TaskState {
  Type: 'Task';
  Resource: string;
  TimeoutSeconds?: number;
}
interface StateMachineDefinition {
  StartAt: string;
  States: Record<
    string,
    {
      Type: string;
      Branches?: StateMachineDefinition[];
      ItemProcessor?: StateMachineDefinition;
      Iterator?: StateMachineDefinition;
    } & Partial<TaskState>
  >;
}

type LocalHandler = (input: Record<string, unknown>) => Promise<unknown>;
/** `scheduled` records that the state asks its service for work (throws once the execution has ended). */
type HandlerFactory = (
  signal: AbortSignal,
  scheduled: (resourceType: string, resource: string, parameters: unknown) => void,
) => LocalHandler;

// aws-local-stepfunctions uses Promise.withResolvers, which Node 20 lacks.
const PromiseWithResolvers = Promise as unknown as { withResolvers?: () => unknown };
PromiseWithResolvers.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]+:\d+:function:[^:]+$/;
const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const ECS_RUN_TASK_SYNC = /^arn:aws[a-z-]*:states:::ecs:runTask\.sync$/;

/** Every Task state (also inside Parallel and Map) by name. */
function taskStates(definition: StateMachineDefinition): [string, TaskState][] {
  const found: [string, TaskState][] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') found.push([name, state as TaskState]);
    for (const branch of state.Branches ?? []) found.push(...taskStates(branch));
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) found.push(...taskStates(inner));
  }
  return found;
}

/** Maps each Task state to a local handler; throws for a resource local mode cannot run. */
export function localHandlersFor(definition: object, tasks: LocalTaskHandlers): Record<string, HandlerFactory> {
  const handlers: Record<string, HandlerFactory> = {};
  for (const [name, state] of taskStates(definition as StateMachineDefinition)) {
    const resource = state.Resource;
    if (LAMBDA_ARN.test(resource)) {
      handlers[name] = () => (input) => tasks.invokeFunction(resource, input);
    } else if (LAMBDA_INVOKE.test(resource)) {
      const invokeSync = async (input: Record<string, unknown>) => ({
        StatusCode: 200,
        Payload: await tasks.invokeFunction(String(input.FunctionName), input.Payload),
      });
      handlers[name] = () => async (input) => {
        if (input.InvocationType !== 'Event') return invokeSync(input);
        if (!tasks.invokeFunctionAsync) throw new Error(`Task state "${name}" invokes asynchronously; no async invoker is attached`);
        tasks.invokeFunctionAsync(String(input.FunctionName), input.Payload);
        // What Lambda answers an Event invocation: accepted, no payload.
        return { StatusCode: 202, Payload: '' };
      };
    } else if (ECS_RUN_TASK_SYNC.test(resource)) {
      // The interpreter stops waiting at TimeoutSeconds; stop the task too, as Step Functions does.
      const timeoutMs = (state.TimeoutSeconds ?? 99_999_999) * 1000;
      handlers[name] = (executionSignal, scheduled) => (input) => {
        // An execution stopped before this state asked ECS for its task never gets one (no task, no STOPPED event).
        scheduled('ecs', 'runTask.sync', input);
        const timeout = AbortSignal.timeout(timeoutMs);
        return tasks.runEcsTask(input, AbortSignal.any([executionSignal, timeout])).catch((error: unknown) => {
          // At TimeoutSeconds the interpreter reports States.Timeout itself: the stopped task's own
          // error must not win that race, so it is never reported.
          if (timeout.aborted && !executionSignal.aborted) return new Promise<never>(() => undefined);
          throw error;
        });
      };
    } else {
      throw new Error(
        `Local mode cannot run Task state "${name}" (resource ${resource}); add a mapping in local/stand-ins/step-functions/state-machine-runner.ts.`,
      );
    }
  }
  return handlers;
}

/** The execution's error and cause as Step Functions reports them (ExecutionError wraps the state's error). */
function errorOf(error: unknown): { error: string; cause: string } {
  if (error instanceof ExecutionTimeoutError) return { error: 'States.Timeout', cause: error.message };
  const inner = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error);
  return { error: inner?.name ?? 'States.Runtime', cause: inner?.message ?? String(error) };
}

/** Runs every execution `server` starts on the given definitions. */
export function attachStateMachine(server: SfnServer, machines: LocalStateMachine[], tasks: LocalTaskHandlers): { close(): Promise<void> } {
  const prepared = new Map(
    machines.map((machine) => [
      machine.arn,
      {
        machine: new StateMachine(machine.definition as never, { validationOptions: { checkArn: false, checkPaths: true } }),
        handlers: localHandlersFor(machine.definition as StateMachineDefinition, tasks),
      },
    ]),
  );
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  const run = async (execution: Execution, abort: AbortController) => {
    const entry = prepared.get(execution.stateMachineArn);
    if (!entry) {
      server.finish(execution.name, 'FAILED', { error: 'States.Runtime', cause: `No local definition for ${execution.stateMachineArn}` });
      return;
    }
    const scheduled = (resourceType: string, resource: string, parameters: unknown) =>
      server.recordTaskScheduled(execution, resourceType, resource, parameters);
    const overrides = Object.fromEntries(Object.entries(entry.handlers).map(([name, factory]) => [name, factory(abort.signal, scheduled)]));
    const input = JSON.parse(execution.input) as unknown;
    const handle = entry.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never },
      context: {
        Execution: {
          Id: execution.executionArn,
          Name: execution.name,
          Input: input as never,
          StartTime: execution.startDate.toISOString(),
        },
      },
    });
    abort.signal.addEventListener('abort', () => handle.abort(), { once: true });
    try {
      const output: unknown = await handle.result;
      if (execution.status === 'RUNNING') server.finish(execution.name, 'SUCCEEDED', { output });
    } catch (error) {
      if (execution.status !== 'RUNNING' || error instanceof ExecutionAbortedError) return;
      server.finish(execution.name, error instanceof ExecutionTimeoutError ? 'TIMED_OUT' : 'FAILED', errorOf(error));
    }
  };

  server.onStart = (execution) => {
    const abort = new AbortController();
    // When the execution ends, anything a timed-out state left behind is stopped too.
    const done = run(execution, abort).finally(() => {
      abort.abort();
      running.delete(execution.executionArn);
    });
    running.set(execution.executionArn, { abort, done });
  };
  server.onStop = (execution) => running.get(execution.executionArn)?.abort.abort();

  return {
    async close() {
      server.onStart = undefined;
      server.onStop = undefined;
      const all = [...running.values()];
      for (const { abort } of all) abort.abort();
      await Promise.allSettled(all.map(({ done }) => done));
    },
  };
}
