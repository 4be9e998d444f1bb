/**
 * A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records
 * every request (raw body included) and answers as the test says; it can go
 * down and come back on the same port. Also runs the verification snippets
 * docs/api.md documents (Node in-process, Python with /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type Answer = (request: ReceivedRequest, res: ServerResponse) => void;

export const answerWith =
  (status: number, headers: Record<string, string> = {}): Answer =>
  (_request, res) => {
    res.writeHead(status, headers).end();
  };

export interface Receiver {
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted (a refused delivery must open none). */
  connections: number;
  answer: Answer;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = answerWith(200)): Promise<Receiver> {
  let server: Server | undefined;
  const receiver: Receiver = {
    origin: '',
    port: 0,
    requests: [],
    connections: 0,
    answer,
    async down() {
      const current = server;
      server = undefined;
      if (!current) return;
      current.closeAllConnections();
      await new Promise<void>((done) => current.close(() => done()));
    },
    async up() {
      const started = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
          receiver.requests.push(request);
          receiver.answer(request, res);
        });
      });
      started.on('connection', () => receiver.connections++);
      await new Promise<void>((done) => started.listen(receiver.port, '127.0.0.1', done));
      receiver.port = (started.address() as AddressInfo).port;
      receiver.origin = `http://127.0.0.1:${receiver.port}`;
      server = started;
    },
    close: () => receiver.down(),
  };
  await receiver.up();
  return receiver;
}

const API_DOC = resolve(import.meta.dirname, '..', '..', 'docs', 'api.md');

/** The code block right after `<!-- snippet: <name> … -->` in docs/api.md. */
export function docSnippet(name: string): string {
  const text = readFileSync(API_DOC, 'utf8');
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!match) throw new Error(`docs/api.md has no snippet ${name}`);
  return match[1]!;
}

type Verify = (rawBody: Buffer, header: string, secret: string) => boolean;

/** The documented Node.js verifier, imported from a file holding exactly the snippet. */
export async function nodeVerifier(): Promise<Verify> {
  const dir = mkdtempSync(join(tmpdir(), 'k2p-snippet-'));
  try {
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, docSnippet('verify-node'));
    const module = (await import(pathToFileURL(file).href)) as { verifyK2pSignature: Verify };
    return module.verifyK2pSignature;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the documented Python verifier with /usr/bin/python3 on each case; its answers. */
export function pythonVerify(cases: { rawBody: Buffer; header: string; secret: string }[]): boolean[] {
  const driver = `${docSnippet('verify-python')}
import base64, json, sys
cases = json.load(sys.stdin)
print(json.dumps([verify_k2p_signature(base64.b64decode(c["body"]), c["header"], c["secret"]) for c in cases]))
`;
  const input = JSON.stringify(cases.map((c) => ({ body: c.rawBody.toString('base64'), header: c.header, secret: c.secret })));
  const result = spawnSync('/usr/bin/python3', ['-c', driver], { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as boolean[];
}
