/**
 * `npm start`: runs k2p-web on this machine (local/host/local-stack.ts) until
 * Ctrl-C, with a banner that says where everything is.
 *
 *   npm start -- [--port-base 8780] [--data-dir .k2p-local] [--fresh] [--sandbox auto|none] [--synth auto|never|force] [--anonymous]
 */
import { parseArgs } from 'node:util';
import { buildWeb } from '../../web/build';
import { banner } from './banner';
import { ConverterNotFoundError } from '../stand-ins/ecs-task/converter';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './local-stack';
import { DEFAULT_PORT_BASE, PortInUseError, SERVICE_PORTS, type ServiceName } from './ports';

// The SDK warns about Node 20 from this process (table set-up); the functions' warnings go to their logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm start -- [options]

Runs the whole k2p-web service on 127.0.0.1 from the synthesized CDK app.

Options:
  --port-base <n>       first of ${SERVICE_PORTS.length} consecutive ports: ${SERVICE_PORTS.join(', ')} (default ${DEFAULT_PORT_BASE}; env K2P_LOCAL_PORT_BASE)
  --<service>-port <n>  one port (${SERVICE_PORTS.map((s) => `--${s}-port`).join(', ')})
  --data-dir <dir>      where jobs, uploads, results, keys and logs are kept (default .k2p-local; env K2P_LOCAL_DATA_DIR)
  --fresh               delete the data directory first
  --sandbox auto|none   the runner's bubblewrap sandbox and the converter's network isolation (default auto: what this machine allows)
  --synth auto|never|force  synthesize when cdk.out is stale (default auto)
  --anonymous           let the page work without sign-in through its public key (synthesizes with
                        -c anonymousAccess=true into .tmp/cdk.out-anonymous-on; default: cdk.json's anonymousAccess)
  -h, --help            this text

The converter is knime2py: K2P_COMMAND, else \`k2p\` on PATH, else the pinned release installed into
<data-dir>/knime2py (from K2P_SOURCE=<release folder> offline, else from GitHub; needs Python >= 3.10),
else its Docker image when Docker runs.`;

function parse(argv: string[]): LocalStackOptions | undefined {
  const portOptions = Object.fromEntries(SERVICE_PORTS.map((s) => [`${s}-port`, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: argv,
    options: {
      'port-base': { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      sandbox: { type: 'string' },
      synth: { type: 'string' },
      anonymous: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...portOptions,
    },
    strict: true,
  });
  if (values.help) return undefined;
  const int = (name: string, raw: unknown): number | undefined => {
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} must be a port number, got ${JSON.stringify(raw)}`);
    return n;
  };
  const portBase = int('--port-base', values['port-base'] ?? process.env.K2P_LOCAL_PORT_BASE);
  if (portBase !== undefined && portBase !== 0 && portBase + SERVICE_PORTS.length - 1 > 65535)
    throw new UsageError('--port-base is too high');
  const ports: Partial<Record<ServiceName, number>> = {};
  for (const service of SERVICE_PORTS) {
    const port = int(`--${service}-port`, (values as Record<string, unknown>)[`${service}-port`]);
    if (port !== undefined) ports[service] = port;
  }
  const sandbox = values.sandbox ?? 'auto';
  if (sandbox !== 'auto' && sandbox !== 'none') throw new UsageError(`--sandbox must be auto or none, got ${sandbox}`);
  const synth = values.synth ?? 'auto';
  if (synth !== 'auto' && synth !== 'never' && synth !== 'force')
    throw new UsageError(`--synth must be auto, never or force, got ${synth}`);
  return {
    portBase,
    ports,
    dataDir: values['data-dir'] ?? process.env.K2P_LOCAL_DATA_DIR,
    fresh: values.fresh === true,
    sandbox,
    synth,
    ...(values.anonymous ? { anonymousAccess: true } : {}),
  };
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let options: LocalStackOptions | undefined;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 64;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }

  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`\n${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping k2p-web local mode…`);
    // Still starting: main() closes the stack as soon as it is up.
    if (!stack) return;
    void stack.close().then(() => {
      console.log('Stopped.');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    // The static site serves web/dist as it is at start-up: bring it up to date first.
    await buildWeb();
    stack = await startLocalStack({ ...options, log: (line) => console.log(line) });
  } catch (error) {
    if (error instanceof ConverterNotFoundError || error instanceof PortInUseError) {
      console.error(`\n${error.message}\n`);
      return error instanceof ConverterNotFoundError ? 3 : 2;
    }
    console.error(`\nk2p-web local mode could not start: ${(error as Error).message}\n`);
    return 1;
  }
  if (stopping) {
    await stack.close();
    console.log('Stopped.');
    return 0;
  }
  console.log(banner(stack));
  // Keep running until a signal arrives.
  return new Promise<number>(() => undefined);
}

void main().then((code) => process.exit(code));
