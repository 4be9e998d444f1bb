/**
 * Deploy rehearsal against a real AWS account (a maintainer runs it with
 * credentials; CI only synthesizes its app, test/infra/deploy-rehearsal.test.ts):
 * deploys a throwaway stack, creates a key the way docs/deploy.md tells
 * operators to, converts a sample through the real API with the k2p-web CLI and
 * checks SUCCEEDED and the result, creates and cancels a second job, and tears
 * everything down — the buckets' contents, the stack and with it the key's
 * registry — also when a step fails (--keep leaves it).
 *
 *   npx tsx scripts/account-rehearsal.ts [--stack-name K2pWebRehearsal] [--sample KNIME_PP_2022_LR] [--keep]
 *   npx tsx scripts/account-rehearsal.ts app    # the CDK app itself (what `cdk --app` runs)
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { unzipSync } from 'fflate';
import { resolveConfig } from '../lib/config';
import { K2pWebStack } from '../lib/k2p-web-stack';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const REHEARSAL_STACK = 'K2pWebRehearsal';
/** The stack outputs the rehearsal reads: the synthesis test checks the app still has each of them. */
export const REHEARSAL_OUTPUTS = ['ApiUrl', 'KeyTableName', 'DefaultUsagePlanId'] as const;

/** The rehearsal's app: the product stack with cdk.json's defaults, except that everything is deleted with it. */
export function rehearsalApp(options: { outdir?: string; stackName?: string } = {}): { app: App; stack: K2pWebStack } {
  const app = new App({ outdir: options.outdir });
  const stack = new K2pWebStack(app, options.stackName ?? REHEARSAL_STACK, {
    config: resolveConfig({ removalPolicy: 'destroy', logRetentionDays: 1 }),
    description: 'k2p-web deploy rehearsal (throwaway: deleted when the rehearsal ends)',
  });
  return { app, stack };
}

function run(command: string, args: string[], options: SpawnSyncOptions & { capture?: boolean } = {}): string {
  console.error(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: options.capture ? ['pipe', 'pipe', 'inherit'] : 'inherit',
    ...options,
  });
  if (result.status !== 0) throw new Error(`${command} ${args[0] ?? ''} failed (exit ${String(result.status)})`);
  return String(result.stdout ?? '').trim();
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`rehearsal check failed: ${message}`);
}

async function rehearse(stackName: string, sample: string, keep: boolean): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'k2p-rehearsal-'));
  const cdk = (verb: string, ...extra: string[]) =>
    run('npx', ['cdk', verb, '--app', `npx tsx scripts/account-rehearsal.ts app --stack-name ${stackName}`, ...extra, stackName]);
  try {
    const outputsFile = join(work, 'outputs.json');
    cdk('deploy', '--require-approval', 'never', '--outputs-file', outputsFile);
    const outputs = (JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>)[stackName] ?? {};
    for (const name of REHEARSAL_OUTPUTS) check(outputs[name], `stack output ${name} is missing`);
    const api = outputs.ApiUrl!;

    // A key exactly as docs/deploy.md creates one (the value never leaves this process's pipes); it counts against
    // the Programs usage plan, so no API Gateway key is made.
    const env = { ...process.env, K2P_KEY_TABLE: outputs.KeyTableName };
    const key = run('npm', ['run', '-s', 'keys', '--', 'create', '--name', 'rehearsal', '--role', 'user'], { env, capture: true });

    // One conversion through the real API: SUCCEEDED, and a result with the script, the graph and the report.
    const out = join(work, 'result.zip');
    const cli = { ...process.env, K2P_API_URL: api, K2P_API_KEY: key };
    const line = run('node', ['cli/k2p-web.mjs', 'convert', join('test', 'fixtures', 'samples', sample), '-o', out, '--json'], {
      env: cli,
      capture: true,
    });
    const report = JSON.parse(line.split('\n').pop() ?? '{}') as { ok?: boolean; job?: { state?: string } };
    check(report.ok === true && report.job?.state === 'SUCCEEDED', `the conversion ended ${JSON.stringify(report.job?.state)}`);
    const names = Object.keys(unzipSync(readFileSync(out)));
    check(
      names.some((n) => n.endsWith('.py')),
      'result.zip has no Python script',
    );
    check(names.includes('report.json'), 'result.zip has no report.json');

    // A second job, cancelled: the API says CANCELLED.
    const headers = { 'x-api-key': key, 'content-type': 'application/json' };
    const created = (await (
      await fetch(new URL('jobs', api), { method: 'POST', headers, body: JSON.stringify({ filename: `${sample}.zip` }) })
    ).json()) as { jobId?: string };
    check(created.jobId, 'POST /jobs returned no jobId');
    const cancel = await fetch(new URL(`jobs/${created.jobId}/cancel`, api), { method: 'POST', headers });
    check(cancel.ok, `cancel answered ${cancel.status}`);
    let state = '';
    for (let i = 0; i < 30 && state !== 'CANCELLED'; i++) {
      state = ((await (await fetch(new URL(`jobs/${created.jobId}`, api), { headers })).json()) as { state?: string }).state ?? '';
      if (state !== 'CANCELLED') await new Promise((r) => setTimeout(r, 2000));
    }
    check(state === 'CANCELLED', `the cancelled job is ${state}`);
    console.error('rehearsal: deploy, conversion, cancellation all as expected');
  } finally {
    if (!keep) tearDown(stackName, cdk);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The buckets are emptied (CloudFormation deletes empty buckets only) and the stack destroyed, once more if late
 * access-log deliveries refilled the log bucket; the key lives in the stack's registry table and goes with it.
 */
function tearDown(stackName: string, cdk: (verb: string, ...extra: string[]) => string): void {
  for (let attempt = 1; ; attempt++) {
    const buckets = run(
      'aws',
      [
        'cloudformation',
        'describe-stack-resources',
        '--stack-name',
        stackName,
        '--query',
        "StackResources[?ResourceType=='AWS::S3::Bucket'].PhysicalResourceId",
        '--output',
        'text',
      ],
      { capture: true },
    )
      .split(/\s+/)
      .filter(Boolean);
    for (const bucket of buckets) run('aws', ['s3', 'rm', `s3://${bucket}`, '--recursive', '--quiet']);
    try {
      cdk('destroy', '--force');
      return;
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'stack-name': { type: 'string', default: REHEARSAL_STACK },
      sample: { type: 'string', default: 'KNIME_PP_2022_LR' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] === 'app') {
    // What bin/k2p-web.ts prepares before synthesis: the runner bundle and the page.
    const { buildRunner } = await import('../runner/build');
    const { buildWeb } = await import('../web/build');
    await buildRunner();
    await buildWeb();
    rehearsalApp({ stackName: values['stack-name'] }).app.synth();
    return;
  }
  await rehearse(values['stack-name'], values.sample, values.keep);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
