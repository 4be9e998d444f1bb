/**
 * TransactWriteItems for dynalite, which has none: all or nothing, and no other request sees a half-applied
 * transaction. The transaction holds the server alone (other requests wait until it ends; it waits until the ones in
 * progress end), applies each Put, Delete, Update and ConditionCheck as the single-item request with the same
 * condition (ReturnValues ALL_OLD), and on the first refused condition puts every touched item back as it was and
 * answers TransactionCanceledException with one cancellation reason per item, as DynamoDB does. Its single-item
 * requests go to dynalite itself through the same HTTP protocol. Only the write transaction is added; nothing else
 * about dynalite changes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TARGET_PREFIX = 'DynamoDB_20120810.';
/** Marks the transaction's own single-item requests, which pass while it holds the server. */
const STEP_HEADER = 'x-k2p-transaction-step';

type Json = Record<string, unknown>;
type AttributeMap = Record<string, unknown>;

interface StepError {
  status: number;
  body: Json;
}

/** Readers–writer gate: requests share the server, a transaction has it alone. */
class Gate {
  private active = 0;
  private exclusive = false;
  private chain: Promise<void> = Promise.resolve();
  private drained: (() => void)[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.chain;
    this.active++;
    try {
      return await fn();
    } finally {
      if (--this.active === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  alone<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      this.exclusive = true;
      try {
        while (this.active > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
        return await fn();
      } finally {
        this.exclusive = false;
      }
    });
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** Adds TransactWriteItems to a dynalite server (call before it listens or after: it wraps the request listener). */
export function addWriteTransactions(server: Server): void {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const dynalite = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) listener(req, res);
  };
  const gate = new Gate();
  const keySchemas = new Map<string, string[]>();

  const step = async (headers: IncomingMessage['headers'], operation: string, input: Json): Promise<Json> => {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${TARGET_PREFIX}${operation}`,
        authorization: String(headers.authorization ?? ''),
        'x-amz-date': String(headers['x-amz-date'] ?? ''),
        [STEP_HEADER]: '1',
      },
      body: JSON.stringify(input),
    });
    const body = (await response.json()) as Json;
    if (!response.ok) throw { status: response.status, body } satisfies StepError;
    return body;
  };

  const keyOf = async (headers: IncomingMessage['headers'], table: string, item: AttributeMap): Promise<AttributeMap> => {
    let names = keySchemas.get(table);
    if (!names) {
      const described = (await step(headers, 'DescribeTable', { TableName: table })) as {
        Table: { KeySchema: { AttributeName: string }[] };
      };
      names = described.Table.KeySchema.map((k) => k.AttributeName);
      keySchemas.set(table, names);
    }
    return Object.fromEntries(names.map((name) => [name, item[name]]));
  };

  const transact = async (headers: IncomingMessage['headers'], request: Json): Promise<{ status: number; body: Json }> => {
    const items = (request.TransactItems ?? []) as Json[];
    if (items.length === 0 || items.length > 100) {
      return validation('TransactItems must hold 1 to 100 items.');
    }
    /** What to put back: each touched item's table, key and old image (undefined: it did not exist). */
    const undo: { table: string; key: AttributeMap; old?: AttributeMap }[] = [];
    const reasons: Json[] = items.map(() => ({ Code: 'None' }));
    let failure: StepError | undefined;
    for (const [index, item] of items.entries()) {
      const [kind, raw] = Object.entries(item)[0] ?? [];
      const spec = { ...(raw as Json) };
      const table = String(spec.TableName);
      try {
        if (kind === 'Put') {
          const key = await keyOf(headers, table, spec.Item as AttributeMap);
          const out = await step(headers, 'PutItem', { ...spec, ReturnValues: 'ALL_OLD' });
          undo.push({ table, key, old: out.Attributes as AttributeMap | undefined });
        } else if (kind === 'Delete' || kind === 'Update') {
          const out = await step(headers, kind === 'Delete' ? 'DeleteItem' : 'UpdateItem', { ...spec, ReturnValues: 'ALL_OLD' });
          undo.push({ table, key: spec.Key as AttributeMap, old: out.Attributes as AttributeMap | undefined });
        } else if (kind === 'ConditionCheck') {
          // The condition checked by an update that changes nothing of substance, undone below like any other.
          const out = await step(headers, 'UpdateItem', {
            TableName: table,
            Key: spec.Key,
            ConditionExpression: spec.ConditionExpression,
            ExpressionAttributeNames: { ...(spec.ExpressionAttributeNames as Json), '#k2pConditionCheck': 'k2p-condition-check' },
            ...(spec.ExpressionAttributeValues ? { ExpressionAttributeValues: spec.ExpressionAttributeValues } : {}),
            UpdateExpression: 'REMOVE #k2pConditionCheck',
            ReturnValues: 'ALL_OLD',
          });
          undo.push({ table, key: spec.Key as AttributeMap, old: out.Attributes as AttributeMap | undefined });
        } else {
          failure = validation(`Unknown transaction item ${String(kind)}.`);
        }
      } catch (error) {
        const refused = error as StepError;
        if (!String(refused.body?.__type ?? '').endsWith('#ConditionalCheckFailedException')) failure = refused;
        else reasons[index] = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
      }
      if (failure || reasons[index]!.Code !== 'None') break;
    }
    const cancelled = reasons.some((r) => r.Code !== 'None');
    if (!failure && !cancelled) return { status: 200, body: {} };
    for (const { table, key, old } of undo.reverse()) {
      if (old) await step(headers, 'PutItem', { TableName: table, Item: old });
      else await step(headers, 'DeleteItem', { TableName: table, Key: key });
    }
    if (failure) return failure;
    return {
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        CancellationReasons: reasons,
      },
    };
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.headers[STEP_HEADER]) return dynalite(req, res);
    if (target !== `${TARGET_PREFIX}TransactWriteItems`) {
      void gate.shared(
        () =>
          new Promise<void>((resolve) => {
            res.on('close', resolve);
            dynalite(req, res);
          }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void gate
        .alone(async () => {
          let request: Json;
          try {
            request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
          } catch {
            return { status: 400, body: { __type: 'com.amazon.coral.service#SerializationException' } };
          }
          return transact(req.headers, request);
        })
        .then(
          ({ status, body }) => send(res, status, body),
          (error: Error) => send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: error.message }),
        );
    });
  });
}

function validation(message: string): { status: number; body: Json } {
  return { status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } };
}

function send(res: ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
