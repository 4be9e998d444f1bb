/**
 * Listening on 127.0.0.1 with an error a user can act on when the port is
 * taken: which service wanted it, and how to choose other ports.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The services of the local stack, in port order from --port-base. */
export const SERVICE_PORTS = ['web', 'api', 's3', 'dynamodb', 'sfn', 's3rver', 'oidc'] as const;
export type ServiceName = (typeof SERVICE_PORTS)[number];

export const SERVICE_LABELS: Record<ServiceName, string> = {
  web: 'web page',
  api: 'local API Gateway',
  s3: 'local S3 (policy proxy)',
  dynamodb: 'local DynamoDB (dynalite)',
  sfn: 'local Step Functions API',
  s3rver: 's3rver (behind the S3 proxy)',
  oidc: 'local OpenID provider',
};

export const DEFAULT_PORT_BASE = 8780;

/** Each service's port: the one set for it, else its place after `base` (base 0: any free port). */
export function servicePorts(base: number, ports: Partial<Record<ServiceName, number>> = {}): (service: ServiceName) => number {
  return (service) => ports[service] ?? (base === 0 ? 0 : base + SERVICE_PORTS.indexOf(service));
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly service: string,
  ) {
    super(
      `Port ${port} on 127.0.0.1 (${service}) is already in use — probably another \`npm start\` of k2p-web or another program. ` +
        `Stop it, or choose free ports: \`npm start -- --port-base <n>\` uses n…n+${SERVICE_PORTS.length - 1}, ` +
        `or set one port with --${SERVICE_PORTS.find((s) => SERVICE_LABELS[s] === service) ?? 'api'}-port <n>.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Listens on 127.0.0.1:`port` (0 = any free port); resolves with the port actually bound. */
export function listen(server: Server, port: number, service: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, service) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** Closes a server, cutting keep-alive connections so shutdown is immediate. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
