/**
 * Where a conversion's time goes (`npm run bench -- stages`): one real sample
 * through local mode with the real knime2py, split into stages from the
 * client's clock, the job's timestamps and report.json's durations, against
 * knime2py run directly on the same workflow in the same run — and what the
 * long poll buys over the old back-off in noticing completion. All clocks are
 * this machine's (local mode's shifted clock is left at zero). Not a test:
 * nothing here fails on timing. Without the real knime2py it says so and skips.
 *
 * The pieces are exported for other rows (e.g. a whole workspace through one
 * `k2p-web convert`): startRealLocalMode, directKnime2py, timeJobStages.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { JobView } from '../core/api-schemas';
import { uploadToPresignedPost } from '../core/node/upload';
import { splitCommand } from '../core/runner-contract';
import { s3Keys } from '../core/service-env';
import type { ConversionReport } from '../core/types';
import { bundleOfSample, startE2e, type E2e } from '../test/e2e/support';
import { findRealConverter, type RealConverter } from '../test/support/real-converter';
import { SAMPLES_DIR } from '../test/support/samples';
import { median, printTable } from './report';

/** The stages of one job, ms, in the order they happen. */
export const STAGES = ['create', 'upload', 'validate', 'queue', 'task start', 'convert', 'runner around it', 'record', 'notice'] as const;
export type Stage = (typeof STAGES)[number];

/** What each stage spans, for the table. */
const SPANS: Record<Stage, string> = {
  create: 'POST /jobs round trip (client)',
  upload: 'presigned POST of the bundle (client)',
  validate: 'upload done → QUEUED (S3 event, validate-upload)',
  queue: 'QUEUED → RUNNING (execution start, PrepareRun)',
  'task start': 'RUNNING → runner started (ECS task launch)',
  convert: "knime2py's own run (report.json)",
  'runner around it': 'download, re-validate, package, upload (report.json)',
  record: 'runner done → job terminal (task stop, RecordOutcome)',
  notice: 'job terminal → client sees it',
};

export interface JobStages {
  stages: Record<Stage, number>;
  /** Create request sent → terminal status seen, ms. */
  total: number;
  job: JobView;
}

export interface RealLocalMode {
  e2e: E2e;
  converter: RealConverter;
}

/** Local mode (the e2e deployment) with the real knime2py, or undefined and why not. */
export async function startRealLocalMode(): Promise<RealLocalMode | { missing: string }> {
  const found = await findRealConverter();
  if (found.missing !== undefined) return { missing: found.missing };
  return { e2e: await startE2e(found.converter.localModeEnv), converter: found.converter };
}

/** knime2py run directly (no service) on a sample's workflow folder: wall time, ms. */
export async function directKnime2py(converter: RealConverter, sample: string): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'k2p-bench-direct-'));
  try {
    const [file, ...args] = splitCommand(converter.command);
    const started = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(file!, [...args, join(SAMPLES_DIR, sample), '--out', out], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`knime2py exited ${code} on ${sample}`);
    return ms;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

let s3Client: S3Client | undefined;

async function fullReport(e2e: E2e, jobId: string): Promise<ConversionReport> {
  s3Client ??= new S3Client({ endpoint: e2e.stack.urls.s3, region: 'us-east-1', forcePathStyle: true, credentials: e2e.stack.credentials });
  const bucket = e2e.stack.model.buckets.find((b) => b.notifications.length > 0)!.name;
  // The copy inside result.zip has no timings (for determinism); the one beside it has them all.
  const object = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: s3Keys.report(jobId) }));
  return JSON.parse(await object.Body!.transformToString()) as ConversionReport;
}

/**
 * One job through the API as a client would, followed with `waitSeconds`
 * (the long poll; 0 = the Retry-After/back-off of clients before it).
 */
export async function timeJobStages(e2e: E2e, bundle: Uint8Array, name: string, waitSeconds: number): Promise<JobStages> {
  const at = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);
  const t0 = Date.now();
  const { job, upload } = await e2e.client.createJob({ filename: `${name}.zip`, sizeBytes: bundle.length });
  const created = Date.now();
  await uploadToPresignedPost(upload!, bundle);
  const uploaded = Date.now();
  let seen = Number.NaN;
  const done = await e2e.client.followJob(job.jobId, {
    waitSeconds,
    timeoutMs: 120_000,
    onUpdate: (update) => {
      if (update.terminal) seen = Date.now();
    },
  });
  if (done.status !== 'SUCCEEDED') throw new Error(`${name}: ${done.status} ${JSON.stringify(done.error)}`);
  const report = await fullReport(e2e, job.jobId);
  const runnerStart = at(report.startedAt);
  const runnerEnd = at(report.finishedAt);
  const convert = report.durationsMs.convert;
  const stages: Record<Stage, number> = {
    create: created - t0,
    upload: uploaded - created,
    validate: at(done.queuedAt) - uploaded,
    queue: at(done.startedAt) - at(done.queuedAt),
    'task start': runnerStart - at(done.startedAt),
    convert,
    'runner around it': runnerEnd - runnerStart - convert,
    record: at(done.finishedAt) - runnerEnd,
    notice: seen - at(done.finishedAt),
  };
  return { stages, total: seen - t0, job: done };
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

export async function runStagesBench(sample = process.env.BENCH_SAMPLE ?? 'KNIME_PP_2022_LR', rounds = 5): Promise<void> {
  console.log(`\n## Stages of one conversion: ${sample} through local mode with the real knime2py`);
  const started = await startRealLocalMode();
  if ('missing' in started) {
    console.log(`SKIPPED: no real knime2py (${started.missing}). Set K2P_SOURCE to a knime2py release folder, or K2P_COMMAND.`);
    return;
  }
  const { e2e, converter } = started;
  try {
    const bundle = await bundleOfSample(sample);
    // Warm-up: the functions' first invocations, the converter's first Python start.
    await timeJobStages(e2e, bundle, 'warm-up', 20);
    await directKnime2py(converter, sample);

    const direct: number[] = [];
    const polled: JobStages[] = [];
    const backedOff: JobStages[] = [];
    for (let i = 0; i < rounds; i++) {
      direct.push(await directKnime2py(converter, sample));
      polled.push(await timeJobStages(e2e, bundle, `long-poll-${i}`, 20));
      backedOff.push(await timeJobStages(e2e, bundle, `back-off-${i}`, 0));
    }
    const rows = STAGES.map((stage) => [
      stage,
      seconds(median(polled.map((run) => run.stages[stage]))),
      polled.map((run) => seconds(run.stages[stage])).join(' '),
      SPANS[stage],
    ]);
    const total = median(polled.map((run) => run.total));
    const directMs = median(direct);
    rows.push(['total', seconds(total), polled.map((run) => seconds(run.total)).join(' '), 'create sent → SUCCEEDED seen (long poll)']);
    rows.push(['knime2py directly', seconds(directMs), direct.map(seconds).join(' '), 'the same workflow, no service, same run']);
    printTable(['stage', 'median s', `runs (s, ${rounds})`, 'what it spans'], rows);
    console.log(
      `through local mode: ${(total / directMs).toFixed(1)}× knime2py directly, ${seconds(total - directMs)} s of overhead per workflow (${sample}, medians of ${rounds})`,
    );
    const noticePolled = median(polled.map((run) => run.stages.notice));
    const noticeBackedOff = median(backedOff.map((run) => run.stages.notice));
    console.log(
      `long poll: completion noticed ${seconds(noticePolled)} s after the job ended (waitSeconds=20) vs ${seconds(noticeBackedOff)} s with the old Retry-After back-off (waitSeconds=0); whole job ${seconds(total)} s vs ${seconds(median(backedOff.map((run) => run.total)))} s`,
    );
  } finally {
    await e2e.close();
  }
}
