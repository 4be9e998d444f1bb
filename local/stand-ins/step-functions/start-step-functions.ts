/**
 * Local Step Functions: the API the functions call (StartExecution…) and,
 * once the functions and the ECS stand-in exist, the template's state
 * machines running every execution it starts.
 */
import type { StateMachineModel } from '../../model/stack-model';
import { startSfnServer } from './api-server';
import { attachStateMachine, type LocalStateMachine, type LocalTaskHandlers } from './state-machine-runner';

export interface LocalStepFunctions {
  endpoint: string;
  /** Runs every execution from now on: Lambda tasks through `invoke`, ECS tasks through `runEcsTask`; close() stops them. */
  runStateMachines(tasks: {
    invoke(functionArn: string, payload: unknown): Promise<unknown>;
    invokeAsync?(functionArn: string, payload: unknown): void;
    runEcsTask: LocalTaskHandlers['runEcsTask'];
  }): { close(): Promise<void> };
  close(): Promise<void>;
}

/** A Lambda task's error reaches the state machine as {Error: errorType, Cause: the Lambda error payload as JSON}. */
function asLambdaTask(invoke: (functionArn: string, payload: unknown) => Promise<unknown>): LocalTaskHandlers['invokeFunction'] {
  return (functionArn, payload) =>
    invoke(functionArn, payload).catch((error: Error) => {
      throw Object.assign(new Error(JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] })), {
        name: error.name,
      });
    });
}

export async function startStepFunctions(options: { port: number; stateMachines: StateMachineModel[] }): Promise<LocalStepFunctions> {
  const server = await startSfnServer({ stateMachineArns: options.stateMachines.map((m) => m.arn), port: options.port });
  const machines = options.stateMachines.map((m) => ({ arn: m.arn, definition: m.definition }) as unknown as LocalStateMachine);
  return {
    endpoint: server.endpoint,
    runStateMachines: (tasks) =>
      attachStateMachine(server, machines, {
        invokeFunction: asLambdaTask(tasks.invoke),
        invokeFunctionAsync: tasks.invokeAsync,
        runEcsTask: tasks.runEcsTask,
      }),
    close: () => server.close(),
  };
}
