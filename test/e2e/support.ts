/**
 * End-to-end harness: synthesizes the app with test limits (a 15 s converter
 * limit, enough capacity and request rate per key for the capacity tests), starts local mode
 * in-process from that template with a converter (the real knime2py, or the
 * knime2py CONTRACT DOUBLE as K2P_COMMAND), and drives it over HTTP exactly as a client would.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient, ApiError } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { buildBundle } from '../../core/bundler';
import { openBundleSource } from '../../core/node/bundle-source';
import { uploadToPresignedPost } from '../../core/node/upload';
import { withDirectoryLock } from '../../local/host/dir-lock';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/host/local-stack';
import { synthStatus } from '../../local/model/synth';
import { bundleFiles, SAMPLES_DIR, zipFiles } from '../support/samples';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const STACK_NAME = 'K2pWebE2e';
const E2E_CDK_OUT = join(ROOT, '.tmp', 'e2e-cdk.out');

/** Limits of the test deployment; everything else is the cdk.json default. */
export const E2E_SERVICE_LIMITS = {
  globalInFlight: 20,
  perPrincipalInFlight: 50,
  // The suite converts every sample and more from one principal: the daily count is tested on its own.
  perPrincipalPerDay: 100_000,
  // Room for 20 real conversions at once on a small, busy machine; the contract double's hang still times out.
  converterTimeoutSeconds: 15,
  resultRetentionDays: 7,
  bundleRetentionDays: 1,
  jobRecordDays: 30,
};

const CONTEXT = {
  stackName: STACK_NAME,
  serviceLimits: JSON.stringify(E2E_SERVICE_LIMITS),
  // One test key drives 50 concurrent requests and polls 20 jobs: gateway throttling is tested on its own.
  apiThrottle: JSON.stringify({ rateLimit: 5000, burstLimit: 5000 }),
  defaultPlan: JSON.stringify({ rateLimit: 5000, burstLimit: 5000, quotaPerDay: 1_000_000 }),
  // The suite drives the page's shared key too (it must never see another principal's job).
  anonymousAccess: 'true',
};

/**
 * Synthesizes the test deployment unless the last synthesis is current (same
 * sources, same context). Test files run in parallel processes: a lock
 * directory (mkdir is atomic) lets one synthesize while the others wait.
 * `overrides` change context values (e.g. anonymousAccess=false), each set into its own folder.
 */
export async function synthE2e(overrides: Record<string, string> = {}): Promise<string> {
  const context = { ...CONTEXT, ...overrides };
  const variant = Object.entries(overrides)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `-${key}-${value.replace(/[^A-Za-z0-9]/g, '')}`)
    .join('');
  const outDir = `${E2E_CDK_OUT}${variant}`;
  const contextHash = createHash('sha256').update(JSON.stringify(context)).digest('hex');
  const stamp = join(outDir, '.context-hash');
  const isFresh = () => synthStatus(ROOT, outDir, STACK_NAME).fresh && existsSync(stamp) && readFileSync(stamp, 'utf8') === contextHash;
  if (isFresh()) return outDir;
  await withDirectoryLock(
    `${outDir}.lock`,
    async () => {
      if (isFresh()) return;
      rmSync(outDir, { recursive: true, force: true });
      const args = ['cdk', 'synth', '-q', '-o', outDir, ...Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`])];
      const result = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_VALIDATION: 'false' } });
      if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stdout}\n${result.stderr}`);
      writeFileSync(stamp, contextHash);
    },
    // A lock older than any synthesis is left over from a killed run.
    { staleMs: 10 * 60_000 },
  );
  return outDir;
}

export interface E2e {
  stack: LocalStack;
  client: ApiClient;
  close(): Promise<void>;
}

/** The knime2py contract double: tests only; local mode never falls back to it. */
export const DOUBLE_COMMAND = `${process.execPath} ${join(ROOT, 'test', 'doubles', 'k2p-double.mjs')}`;

/** Local mode's converter environment with the contract double as K2P_COMMAND. */
export const CONTRACT_DOUBLE_ENV = { ...process.env, K2P_COMMAND: DOUBLE_COMMAND, K2P_VERSION_COMMAND: 'echo 0.1.11-contract-double' };

/** Starts local mode on the test deployment; the converter is found in `converterEnv` (default: the contract double); `options` override the harness's. */
export async function startE2e(
  converterEnv: Record<string, string | undefined> = CONTRACT_DOUBLE_ENV,
  options: Partial<LocalStackOptions> = {},
): Promise<E2e> {
  // anonymousAccess picks the template: the harness's synthesis with that context, not cdk.json's.
  const cdkOut = await synthE2e(options.anonymousAccess === undefined ? {} : { anonymousAccess: String(options.anonymousAccess) });
  const dataDir = mkdtempSync(join(tmpdir(), 'k2p-e2e-'));
  const stack = await startLocalStack({
    cdkOut,
    synth: 'never',
    stackName: STACK_NAME,
    dataDir,
    fresh: true,
    portBase: 0,
    controllableClock: true,
    schedules: false,
    asyncRetryDelaysMs: [200, 400],
    taskStopTimeoutSeconds: 2,
    converterEnv,
    ...options,
  });
  const client = new ApiClient({ baseUrl: stack.urls.api, apiKey: stack.keys.cli.value });
  return {
    stack,
    client,
    async close() {
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Submitted {
  jobId: string;
  /** The job once terminal. */
  job: JobView;
}

/** Creates a job, uploads the bundle to its presigned POST, and waits for the job to end. */
export async function submit(e2e: E2e, bundle: Uint8Array, filename: string): Promise<Submitted> {
  const { job, upload } = await e2e.client.createJob({ filename, sizeBytes: bundle.length });
  if (!upload) throw new Error('no upload ticket');
  await uploadToPresignedPost(upload, bundle);
  const done = await e2e.client.followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 60_000 });
  return { jobId: job.jobId, job: done };
}

export async function expectApiError(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an API error');
}

export async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download failed: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A sample's bundle, made the way users make it: the bundler over the sample folder. */
export async function bundleOfSample(sample: string): Promise<Uint8Array> {
  const source = await openBundleSource(join(SAMPLES_DIR, sample));
  try {
    const built = await buildBundle(source.files, { sourceName: source.name });
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    return built.zip;
  } finally {
    await source.close();
  }
}

/** A sample whose workflow.knime asks the contract double for a failure mode. */
export function bundleWithMode(mode: string, sample = 'KNIME_single_csv'): Uint8Array {
  const files = bundleFiles(join(SAMPLES_DIR, sample));
  const workflow = new TextDecoder().decode(files.get('workflow.knime')!);
  files.set(
    'workflow.knime',
    new TextEncoder().encode(
      workflow.replace('<config key="nodes">', `<entry key="k2p-double-mode" type="xstring" value="${mode}"/>\n<config key="nodes">`),
    ),
  );
  return zipFiles(files);
}
