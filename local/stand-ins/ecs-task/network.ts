/**
 * The task's network: the sandboxed runner gets its own network namespace,
 * in which only the endpoints the task may reach (local S3) answer, at the
 * same address as on the host, relayed through a Unix socket per endpoint.
 * No privileges needed; as in the VPC, where the runner reaches S3 only.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/** Where the relay sockets appear inside the sandbox. */
export const RELAY_DIR = '/run/k2p-web';

export interface Endpoint {
  host: string;
  port: number;
}

/** host:port of each http(s) URL. */
export function endpointsOf(urls: string[]): Endpoint[] {
  return urls.map((url) => {
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
  });
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** Host side: one Unix socket per endpoint in `dir` (bound into the sandbox at RELAY_DIR). */
export async function startHostRelays(dir: string, endpoints: Endpoint[]): Promise<{ close(): Promise<void> }> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const servers: Server[] = [];
  for (const [index, endpoint] of endpoints.entries()) {
    const server = createServer((inside) => pipeBoth(inside, createConnection(endpoint.port, endpoint.host)));
    const path = join(dir, `${index}.sock`);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()));
    // The sandbox's user connects to it (a Unix socket needs write permission).
    chmodSync(path, 0o666);
    servers.push(server);
  }
  return {
    close: () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined),
  };
}

/**
 * Sandbox side, the container's init: listens on each endpoint's address in the
 * task's own network namespace, relays to the sockets, starts the container's
 * command, passes SIGTERM on (as ECS's init does) and exits with its status.
 */
const INIT_SOURCE = `
const net = require('node:net'), { spawn } = require('node:child_process'), os = require('node:os');
const [spec, ...command] = process.argv.slice(1);
const endpoints = JSON.parse(spec);
let listening = 0;
const start = () => {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, sig) => process.exit(code ?? 128 + (os.constants.signals[sig] || 9)));
};
if (endpoints.length === 0) start();
for (const e of endpoints) {
  net.createServer((c) => {
    const u = net.connect(e.socket);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  }).listen(e.port, e.host, () => { if (++listening === endpoints.length) start(); });
}`;

/** argv that runs `command` behind the relays (node: the runner's own interpreter, already in the sandbox). */
export function relayedCommand(node: string, endpoints: Endpoint[], command: string[]): string[] {
  const spec = endpoints.map((e, index) => ({ host: e.host, port: e.port, socket: `${RELAY_DIR}/${index}.sock` }));
  return [node, '-e', INIT_SOURCE, JSON.stringify(spec), ...command];
}
