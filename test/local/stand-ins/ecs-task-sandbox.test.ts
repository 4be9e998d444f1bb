/**
 * The task sandbox from inside: the real runner (bundled) runs in local mode's
 * bubblewrap sandbox and starts the probe contract double (test/doubles/sandbox-probe.mjs)
 * as its converter, which reports what it can see and do. Skipped only where
 * bubblewrap cannot run (never in CI, which installs it).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversionReport } from '../../../core/types';
import { readImageModel } from '../../../local/model/image-model';
import type { TaskDefinitionModel } from '../../../local/model/stack-model';
import { joinCommand, systemProbe, type ConverterSetup } from '../../../local/stand-ins/ecs-task/converter';
import {
  bindList,
  converterPaths,
  detectSandbox,
  sandboxProperties,
  type SandboxSupport,
  type TaskResources,
} from '../../../local/stand-ins/ecs-task/sandbox';
import { EcsTaskRunner } from '../../../local/stand-ins/ecs-task/task-runner';
import { descendants } from '../../../local/host/processes';
import { buildRunner } from '../../../runner/build';
import { startPresignedServer, type PresignedServer } from '../../doubles/presigned-server';
import { sampleBundle, sha256 } from '../../support/samples';

const PROBE = resolve('test/doubles/sandbox-probe.mjs');
const dir = mkdtempSync(join(tmpdir(), 'k2p-sandbox-'));
// The sandbox's user (10001) must be able to read what is bound, as with any container image.
chmodSync(dir, 0o755);
let server: PresignedServer;
let support: SandboxSupport;
let definition: TaskDefinitionModel;
let counter = 0;

beforeAll(async () => {
  support = await detectSandbox(systemProbe(), 'auto');
  if (!support.available && process.env.CI) throw new Error(`CI must run the sandbox tests: ${support.reason}`);
  server = await startPresignedServer();
  const bundle = await buildRunner(join(dir, 'runner.mjs'));
  const image = readImageModel(resolve('runner'));
  definition = {
    logicalId: 'Task',
    family: 'fam',
    arn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/fam:1',
    cpuUnits: 512,
    memoryMiB: 1024,
    containers: [
      {
        name: 'Runner',
        environment: { SCRATCH_DIR: '/scratch', CONVERTER_IMAGE: 'img' },
        mountPoints: [{ containerPath: '/scratch', sourceVolume: 'scratch', readOnly: false }],
        user: '10001',
        image: { ...image, copies: new Map([['/opt/k2p-web/runner.mjs', bundle]]), contextDir: dir, buildArgs: {} },
      },
    ],
  };
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const converter: ConverterSetup = {
  source: 'K2P_COMMAND',
  display: PROBE,
  argv: [process.execPath, PROBE],
  command: joinCommand([process.execPath, PROBE]),
  versionCommand: joinCommand([process.execPath, '-e', "console.log('0.1.11')"]),
  version: '0.1.11',
  isolation: { kind: 'none', description: 'x', prefix: [] },
};

/** Runs one job in the sandbox with the probe as converter; returns report.json and the task's result or error. */
async function runProbe(
  env: Record<string, string>,
  resources?: Partial<TaskResources>,
  options: { stopTimeoutSeconds?: number; whileRunning?: (runner: EcsTaskRunner, abort: AbortController) => Promise<void> } = {},
) {
  const id = `job-sandbox-${++counter}`;
  const bundle = sampleBundle('KNIME_single_csv');
  server.put(`bundles/${id}/bundle.zip`, bundle);
  const logs: Buffer[] = [];
  const runner = new EcsTaskRunner({
    logSink: new Writable({ write: (chunk: Buffer, _enc, done) => void (logs.push(chunk), done()) }),
    taskDefinitions: [definition],
    converter,
    scratchRoot: join(dir, 'scratch'),
    region: 'us-east-1',
    accountId: '000000000000',
    sandbox: support,
    resources,
    endpoints: [server.url('')],
    stopTimeoutSeconds: options.stopTimeoutSeconds ?? 2,
  });
  const overrides = {
    JOB_ID: id,
    INPUT_URL: server.url(`bundles/${id}/bundle.zip`),
    INPUT_SHA256: sha256(bundle),
    RESULT_URL: server.url(`results/${id}/result.zip`),
    REPORT_URL: server.url(`results/${id}/report.json`),
    LOG_URL: server.url(`results/${id}/log.txt`),
    WORKFLOW_NAME: 'KNIME_single_csv',
    ...env,
  };
  const parameters = {
    Cluster: 'c',
    TaskDefinition: 'fam',
    Overrides: {
      ContainerOverrides: [{ Name: 'Runner', Environment: Object.entries(overrides).map(([Name, Value]) => ({ Name, Value })) }],
    },
  };
  const abort = new AbortController();
  const running = runner.run(parameters, abort.signal).catch((e: unknown) => e);
  await options.whileRunning?.(runner, abort);
  const task = await running;
  await runner.close(100);
  const stored = server.objects.get(`results/${id}/report.json`);
  const report = stored ? (JSON.parse(stored.body.toString('utf8')) as ConversionReport) : undefined;
  const line = report?.stderrTail?.split('\n').find((l) => l.startsWith('PROBE '));
  return { task, report, probe: line ? (JSON.parse(line.slice(6)) as Record<string, unknown>) : undefined };
}

describe('what the sandbox binds for the converter', () => {
  it("derives the read-only binds from the converter's command and its interpreter, not from one machine's layout", () => {
    const python = (interpreter: string) => (interpreter.endsWith('python3') ? ['/usr/lib', dir] : []);
    const srcDir = join(dir, 'src');
    mkdirSync(srcDir, { recursive: true });
    const paths = converterPaths(['env', `PYTHONPATH=${srcDir}`, '/usr/bin/python3', '-m', 'knime2py'], { PATH: '/usr/bin:/bin' }, python);
    expect(paths).toEqual(expect.arrayContaining(['/usr/bin/env', srcDir, '/usr/bin/python3', dir]));
    // Parents before children, nothing under the system binds, nothing twice.
    expect(bindList([...paths, srcDir, PROBE])).toEqual([dir, PROBE].sort((a, b) => a.length - b.length));
  });

  it("binds a Node script's package.json and node_modules (its modules), as sys.path for Python", () => {
    const paths = converterPaths([process.execPath, resolve('test/doubles/k2p-double.mjs')], { PATH: process.env.PATH });
    expect(paths).toEqual(expect.arrayContaining([resolve('package.json'), resolve('node_modules')]));
  });
});

/** A process's command line; empty once it is gone. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

describe.skipIf(process.env.K2P_SKIP_SANDBOX_TESTS)('the task sandbox, seen from the converter inside it', () => {
  it('is read-only outside /scratch, runs as 10001 with no capabilities, no new privileges, no host variables and no network', async (context) => {
    if (!support.available) return context.skip();
    process.env.K2P_SANDBOX_CANARY = 'host-only';
    process.env.AWS_SECRET_ACCESS_KEY = 'host-secret';
    const s3Port = new URL(server.url('x')).port;
    const { report, probe } = await runProbe({ PROBE_MODE: 'observe', PROBE_PORTS: s3Port });
    delete process.env.K2P_SANDBOX_CANARY;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    // The runner reached the local S3 (it downloaded the bundle and uploaded the report); the converter ran.
    expect(report?.exitCode).toBe(1);
    expect(probe).toBeDefined();
    expect(probe).toMatchObject({ uid: 10001, gid: 10001 });
    const status = probe!.status as Record<string, string>;
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status[set]).toMatch(/^0+$/);
    expect(status.NoNewPrivs).toBe('1');
    expect(probe!.writes).toEqual({ root: 'EROFS', tmp: 'EROFS', usr: 'EROFS', self: 'EROFS', out: 'written' });
    // HOME is writable, and /scratch is the only writable place: HOME is in the task's volume.
    expect(probe!.homeWrite).toBe('written');
    const names = probe!.envNames as string[];
    expect(names).not.toContain('K2P_SANDBOX_CANARY');
    expect(names.filter((n) => n.startsWith('AWS_'))).toEqual([]);
    expect((probe!.connections as Record<string, string>)[s3Port]).toMatch(/^(ECONNREFUSED|ENETUNREACH)$/);
  }, 60_000);

  it('kills a converter that exceeds the task memory: the job fails with CONVERTER_FAILED', async (context) => {
    if (!support.available) return context.skip();
    const { report, probe } = await runProbe({ PROBE_MODE: 'hog' }, { memoryMiB: 256 });
    expect(probe).toBeUndefined();
    expect(report?.outcome).toBe('FAILED');
    expect(report?.error?.code).toBe('CONVERTER_FAILED');
    // Killed by the kernel's OOM killer, as on Fargate: the runner sees SIGKILL.
    if (support.limits !== 'rlimit') expect(report?.error).toMatchObject({ details: { signal: 'SIGKILL' }, message: /SIGKILL/ });
  }, 60_000);

  it("stops output larger than the task's ephemeral storage: no space left, the job fails with CONVERTER_FAILED", async (context) => {
    if (!support.available) return context.skip();
    const { report, probe } = await runProbe({ PROBE_MODE: 'fill' }, { ephemeralStorageGiB: 16 / 1024 });
    expect(probe).toMatchObject({ error: 'ENOSPC' });
    expect(probe!.filled as number).toBeLessThan(16 * 1024 * 1024);
    expect(report?.error?.code).toBe('CONVERTER_FAILED');
    expect(report?.stderrTail).toMatch(/ENOSPC/);
  }, 60_000);

  it('stops like ECS: SIGTERM reaches the runner, which stops the converter and still reports; a killed task leaves nothing', async (context) => {
    if (!support.available) return context.skip();
    let probePid = 0;
    const waitForProbe = async (runner: EcsTaskRunner) => {
      for (let i = 0; i < 200 && !probePid; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const [task] = runner.tasks();
        probePid = task ? (descendants(task.pid).find((pid) => cmdline(pid).split('\0')[1] === PROBE) ?? 0) : 0;
      }
      expect(probePid, 'the probe never started').toBeGreaterThan(0);
    };
    const graceful = await runProbe({ PROBE_MODE: 'hang', RUNNER_KILL_GRACE_SECONDS: '1' }, undefined, {
      stopTimeoutSeconds: 20,
      whileRunning: async (runner, abort) => {
        await waitForProbe(runner);
        abort.abort();
      },
    });
    expect(graceful.task).toMatchObject({ StopCode: 'UserInitiated', Containers: [{ ExitCode: 0 }] });
    expect(graceful.report?.error?.code).toBe('RUNNER_FAILED');
    expect(cmdline(probePid)).toBe('');

    // The container killed from outside (SIGKILL): its PID namespace, converter included, goes with it.
    probePid = 0;
    const killed = await runProbe({ PROBE_MODE: 'hang' }, undefined, {
      whileRunning: async (runner) => {
        await waitForProbe(runner);
        process.kill(runner.tasks()[0]!.pid, 'SIGKILL');
      },
    });
    expect(JSON.parse((killed.task as Error).message)).toMatchObject({
      StopCode: 'EssentialContainerExited',
      Containers: [{ ExitCode: 137 }],
    });
    expect(killed.report).toBeUndefined();
    expect(cmdline(probePid)).toBe('');
  }, 60_000);

  it('lets the runner reach the local S3 endpoint and nothing else (the probe as the container program)', async (context) => {
    if (!support.available) return context.skip();
    const other = createServer((socket) => socket.end());
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherPort = String((other.address() as AddressInfo).port);
    const s3Port = new URL(server.url('x')).port;
    const container = definition.containers[0]!;
    const probeTask: TaskDefinitionModel = {
      ...definition,
      family: 'probe',
      containers: [
        {
          ...container,
          image: { ...container.image!, entrypoint: ['node', '/opt/probe.mjs'], copies: new Map([['/opt/probe.mjs', PROBE]]) },
        },
      ],
    };
    const logs: Buffer[] = [];
    const runner = new EcsTaskRunner({
      taskDefinitions: [probeTask],
      converter,
      scratchRoot: join(dir, 'scratch'),
      region: 'us-east-1',
      accountId: '000000000000',
      sandbox: support,
      endpoints: [server.url('')],
      logSink: new Writable({ write: (chunk: Buffer, _enc, done) => void (logs.push(chunk), done()) }),
    });
    const environment = [{ Name: 'PROBE_PORTS', Value: `${s3Port},${otherPort}` }];
    await runner
      .run(
        { TaskDefinition: 'probe', Overrides: { ContainerOverrides: [{ Name: 'Runner', Environment: environment }] } },
        new AbortController().signal,
      )
      .catch((e: unknown) => e);
    await runner.close(100);
    other.close();
    const line = Buffer.concat(logs)
      .toString('utf8')
      .split('\n')
      .find((l) => l.startsWith('PROBE '));
    const observed = JSON.parse(line!.slice(6)) as { connections: Record<string, string>; uid: number };
    expect(observed.uid).toBe(10001);
    expect(observed.connections).toEqual({ [s3Port]: 'connected', [otherPort]: 'ECONNREFUSED' });
  }, 60_000);

  it('lists only what is enforced here', () => {
    const { enforced, notEnforced } = sandboxProperties(support, { memoryMiB: 1024, cpuUnits: 512, user: '10001' });
    if (!support.available) {
      expect(enforced).toEqual([]);
      return;
    }
    expect(enforced.join('\n')).toMatch(/read-only root/);
    expect(enforced.join('\n')).toMatch(/runner network: own namespace/);
    expect(notEnforced.join('\n')).toMatch(/memory-backed/);
  });
});
