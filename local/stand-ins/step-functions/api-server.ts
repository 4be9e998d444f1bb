/**
 * A minimal Step Functions API on 127.0.0.1 speaking the real wire protocol
 * (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Action>`), so handlers reach
 * it through AWS_ENDPOINT_URL_SFN with the unmodified SDK.
 *
 * StartExecution honours execution names like the service does: a name is
 * unique per state machine; starting it again with the same input while it
 * runs returns the same execution, anything else is ExecutionAlreadyExists.
 * DescribeExecution / StopExecution work on what was started, and
 * GetExecutionHistory returns the events the service would record for what
 * this stand-in sees: the execution's start and end, and a TaskScheduled for
 * every ECS task the state machine asks for (recordTaskScheduled; refused once
 * the execution has ended, as the service schedules nothing for an aborted
 * execution). Tests drive executions to an end with `finish()`; local mode runs
 * the real state machine definition from `onStart` (see state-machine-runner.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listen } from '../../host/ports';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One event of GetExecutionHistory, in the service's shape (only the events this stand-in records). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: 'ExecutionStarted' | 'TaskScheduled' | 'ExecutionSucceeded' | 'ExecutionFailed' | 'ExecutionTimedOut' | 'ExecutionAborted';
  taskScheduledEventDetails?: { resourceType: string; resource: string; region: string; parameters: string };
}

export interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
}

const END_EVENT = {
  SUCCEEDED: 'ExecutionSucceeded',
  FAILED: 'ExecutionFailed',
  TIMED_OUT: 'ExecutionTimedOut',
  ABORTED: 'ExecutionAborted',
} as const satisfies Record<Exclude<ExecutionStatus, 'RUNNING'>, HistoryEvent['type']>;

function record(execution: Execution, type: HistoryEvent['type'], details: Partial<HistoryEvent> = {}): void {
  const id = execution.history.length + 1;
  execution.history.push({ id, previousEventId: id - 1, timestamp: new Date(), type, ...details });
}

/** Largest page of GetExecutionHistory, as the service allows. */
const MAX_HISTORY_PAGE = 1000;

export interface SfnCall {
  action: string;
  body: Record<string, unknown>;
}

export interface SfnServer {
  endpoint: string;
  calls: SfnCall[];
  executions: Map<string, Execution>;
  /** Execution by name (the job id), across state machines. */
  byName(name: string): Execution | undefined;
  /** Ends an execution as the state machine would. */
  finish(name: string, status: Exclude<ExecutionStatus, 'RUNNING'>, result?: { output?: unknown; error?: string; cause?: string }): void;
  /** Called after every new execution is created (e.g. to run the state machine locally). */
  onStart?: (execution: Execution) => void;
  /** Called when StopExecution aborts a running execution. */
  onStop?: (execution: Execution) => void;
  /** The state machine asks for a task (`resourceType` e.g. `ecs`); throws when the execution has ended. */
  recordTaskScheduled(execution: Execution, resourceType: string, resource: string, parameters: unknown): void;
  close(): Promise<void>;
}

export interface SfnServerOptions {
  /** State machines that exist; others answer StateMachineDoesNotExist. Default: any. */
  stateMachineArns?: string[];
  port?: number;
}

class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const epoch = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startSfnServer(options: SfnServerOptions = {}): Promise<SfnServer> {
  const executions = new Map<string, Execution>();
  const calls: SfnCall[] = [];
  const knownMachines = options.stateMachineArns ? new Set(options.stateMachineArns) : undefined;

  const actions: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution(body) {
      const stateMachineArn = String(body.stateMachineArn ?? '');
      if (!/^arn:aws[a-z-]*:states:[^:]+:\d+:stateMachine:.+/.test(stateMachineArn))
        throw new SfnError('InvalidArn', `Invalid Arn: '${stateMachineArn}'`);
      if (knownMachines && !knownMachines.has(stateMachineArn))
        throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
      const name = typeof body.name === 'string' ? body.name : crypto.randomUUID();
      if (!EXECUTION_NAME.test(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
      const input = typeof body.input === 'string' ? body.input : '{}';
      try {
        JSON.parse(input);
      } catch {
        throw new SfnError('InvalidExecutionInput', 'Invalid execution input');
      }
      const executionArn = executionArnOf(stateMachineArn, name);
      const existing = executions.get(executionArn);
      if (existing) {
        if (existing.status === 'RUNNING' && existing.input === input) {
          return { executionArn, startDate: epoch(existing.startDate) };
        }
        throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      const execution: Execution = { executionArn, stateMachineArn, name, input, status: 'RUNNING', startDate: new Date(), history: [] };
      record(execution, 'ExecutionStarted');
      executions.set(executionArn, execution);
      queueMicrotask(() => server.onStart?.(execution));
      return { executionArn, startDate: epoch(execution.startDate) };
    },
    DescribeExecution(body) {
      const execution = executions.get(String(body.executionArn ?? ''));
      if (!execution) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body.executionArn)}'`);
      return {
        executionArn: execution.executionArn,
        stateMachineArn: execution.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: epoch(execution.startDate),
        stopDate: epoch(execution.stopDate),
        input: execution.input,
        output: execution.output,
        error: execution.error,
        cause: execution.cause,
      };
    },
    StopExecution(body) {
      const execution = executions.get(String(body.executionArn ?? ''));
      if (!execution) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body.executionArn)}'`);
      if (execution.status === 'RUNNING') {
        execution.status = 'ABORTED';
        execution.stopDate = new Date();
        execution.error = typeof body.error === 'string' ? body.error : undefined;
        execution.cause = typeof body.cause === 'string' ? body.cause : undefined;
        record(execution, 'ExecutionAborted');
        queueMicrotask(() => server.onStop?.(execution));
      }
      return { stopDate: epoch(execution.stopDate ?? new Date()) };
    },
    GetExecutionHistory(body) {
      const execution = executions.get(String(body.executionArn ?? ''));
      if (!execution) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body.executionArn)}'`);
      const ordered = body.reverseOrder === true ? [...execution.history].reverse() : execution.history;
      const size = typeof body.maxResults === 'number' && body.maxResults > 0 ? Math.min(body.maxResults, MAX_HISTORY_PAGE) : 100;
      const from = typeof body.nextToken === 'string' ? Number(body.nextToken) : 0;
      if (!Number.isInteger(from) || from < 0 || from > ordered.length) throw new SfnError('InvalidToken', 'Invalid Token');
      const events = ordered.slice(from, from + size).map((event) => ({ ...event, timestamp: epoch(event.timestamp) }));
      return { events, nextToken: from + size < ordered.length ? String(from + size) : undefined };
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body, (_key, value) => (value === undefined ? undefined : value));
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': crypto.randomUUID(),
    });
    res.end(text);
  };

  const httpServer: Server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
      try {
        if (req.method !== 'POST' || !actions[action])
          throw new SfnError('UnknownOperationException', `Unsupported operation: '${target}'`);
        const body = await readJson(req);
        calls.push({ action, body });
        send(res, 200, actions[action](body));
      } catch (error) {
        if (error instanceof SfnError) send(res, 400, { __type: `com.amazonaws.sfn#${error.type}`, message: error.message });
        else send(res, 500, { __type: 'com.amazonaws.sfn#InternalFailure', message: String(error) });
      }
    })();
  });
  const port = await listen(httpServer, options.port ?? 0, 'local Step Functions API');

  const server: SfnServer = {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    executions,
    byName: (name) => [...executions.values()].find((execution) => execution.name === name),
    finish(name, status, result = {}) {
      const execution = server.byName(name);
      if (!execution) throw new Error(`No execution named ${name}`);
      execution.status = status;
      execution.stopDate = new Date();
      execution.output = result.output === undefined ? undefined : JSON.stringify(result.output);
      execution.error = result.error;
      execution.cause = result.cause;
      record(execution, END_EVENT[status]);
    },
    recordTaskScheduled(execution, resourceType, resource, parameters) {
      if (execution.status !== 'RUNNING')
        throw new Error(`Execution ${execution.name} has ended (${execution.status}); no task is scheduled`);
      const region = execution.executionArn.split(':')[3] ?? '';
      record(execution, 'TaskScheduled', {
        taskScheduledEventDetails: { resourceType, resource, region, parameters: JSON.stringify(parameters) },
      });
    },
    close: () => closeServer(httpServer),
  };
  return server;
}
