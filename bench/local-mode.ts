/**
 * Local-mode pipeline benchmark: the service's own
 * overhead per job — upload complete → SUCCEEDED seen by the client, minus
 * the converter's own run time from report.json — and the throughput of 20
 * concurrent jobs. Runs the e2e deployment with the knime2py contract double,
 * whose run time is subtracted, so what remains is the service.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { uploadToPresignedPost } from '../core/node/upload';
import { s3Keys } from '../core/service-env';
import type { ConversionReport } from '../core/types';
import { bundleOfSample, startE2e, type E2e } from '../test/e2e/support';
import { median, printTable } from './report';

let client: S3Client | undefined;
function s3(e2e: E2e): S3Client {
  client ??= new S3Client({ endpoint: e2e.stack.urls.s3, region: 'us-east-1', forcePathStyle: true, credentials: e2e.stack.credentials });
  return client;
}

/** The bucket the upload notification is on: the data bucket. */
function dataBucket(e2e: E2e): string {
  return e2e.stack.model.buckets.find((bucket) => bucket.notifications.length > 0)!.name;
}

interface Timed {
  /** Upload complete → SUCCEEDED observed (client clock), ms. */
  endToEnd: number;
  /** The converter's own run time (report.json durationsMs.convert), ms. */
  converter: number;
}

async function timedJob(e2e: E2e, bundle: Uint8Array, name: string): Promise<Timed> {
  const { job, upload } = await e2e.client.createJob({ filename: `${name}.zip` });
  await uploadToPresignedPost(upload!, bundle);
  const uploaded = performance.now();
  const done = await e2e.client.followJob(job.jobId, { minPollMs: 20, maxPollMs: 20, timeoutMs: 120_000 });
  const endToEnd = performance.now() - uploaded;
  if (done.status !== 'SUCCEEDED') throw new Error(`${name}: ${done.status} ${JSON.stringify(done.error)}`);
  // The full report.json next to result.zip (the copy inside result.zip has no timings, for determinism).
  const object = await s3(e2e).send(new GetObjectCommand({ Bucket: dataBucket(e2e), Key: s3Keys.report(job.jobId) }));
  const report = JSON.parse(await object.Body!.transformToString()) as ConversionReport;
  return { endToEnd, converter: report.durationsMs.convert };
}

export async function runLocalModeBench(rounds = 7): Promise<void> {
  const e2e = await startE2e();
  try {
    const bundle = await bundleOfSample('KNIME_PP_2022_LR');
    await timedJob(e2e, bundle, 'warm-up');
    const runs: Timed[] = [];
    for (let i = 0; i < rounds; i++) runs.push(await timedJob(e2e, bundle, `sequential-${i}`));
    const overhead = runs.map((r) => r.endToEnd - r.converter);
    console.log(`\n## Local mode: service overhead per job (KNIME_PP_2022_LR, ${rounds} sequential jobs)`);
    printTable(
      ['measure', 'median ms', 'runs (ms)'],
      [
        ['upload complete → SUCCEEDED', median(runs.map((r) => r.endToEnd)).toFixed(0), runs.map((r) => r.endToEnd.toFixed(0)).join(' ')],
        [
          'converter run (contract double)',
          median(runs.map((r) => r.converter)).toFixed(0),
          runs.map((r) => r.converter.toFixed(0)).join(' '),
        ],
        ['service overhead', median(overhead).toFixed(0), overhead.map((v) => v.toFixed(0)).join(' ')],
      ],
    );
    console.log(`service overhead per job: ${(median(overhead) / 1000).toFixed(2)} s (goal ≤ 0.5 s)`);

    const concurrent = 20;
    const started = performance.now();
    const parallel = await Promise.all(Array.from({ length: concurrent }, (_, i) => timedJob(e2e, bundle, `parallel-${i}`)));
    const wall = (performance.now() - started) / 1000;
    console.log(`\n## Local mode: ${concurrent} concurrent jobs`);
    console.log(
      `${concurrent} jobs in ${wall.toFixed(1)} s → ${(concurrent / wall).toFixed(2)} jobs/s; per job median ${(median(parallel.map((r) => r.endToEnd)) / 1000).toFixed(2)} s (sequential median ${(median(runs.map((r) => r.endToEnd)) / 1000).toFixed(2)} s)`,
    );
  } finally {
    await e2e.close();
  }
}
