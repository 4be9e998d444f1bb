/**
 * Local mode end to end: the synthesized stack runs on this machine (dynalite,
 * s3rver behind the POST-policy proxy, the local API Gateway, the state
 * machine interpreter, the runner as a process) and is driven over HTTP as a
 * user would. The converter is the real knime2py (test/support/real-converter.ts),
 * provisioned by local mode itself from a release folder when none is installed;
 * what only the contract double can do is in local-mode-contract-double.test.ts.
 */
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../core/api-client';
import { uploadToPresignedPost, UploadError } from '../../core/node/upload';
import { KNIME2PY_VERSION } from '../../core/runner-contract';
import type { ConversionReport } from '../../core/types';
import { differencesFromReference, referenceErrorCode } from '../support/knime2py-reference';
import { describeWithRealConverter, findRealConverter } from '../support/real-converter';
import { buildZip, minimalBundle, sampleNames, SETTINGS_XML, workflowXml } from '../support/zip-builder';
import { bundleOfSample, download, E2E_SERVICE_LIMITS, expectApiError, startE2e, submit, type E2e } from './support';

const real = await findRealConverter();
const bundleOf = bundleOfSample;

describeWithRealConverter('local mode end to end with the real knime2py', real, (converter) => {
  let e2e: E2e;
  const matched: string[] = [];

  beforeAll(async () => {
    e2e = await startE2e(converter.localModeEnv);
  }, 600_000);

  afterAll(async () => {
    await e2e?.close();
    // The CI log's record of what the real converter did end to end.
    console.log(
      `real knime2py ${e2e?.stack.converter.version ?? converter.version}: ${matched.length}/${sampleNames().length} sample workflows converted end to end, outputs match the references`,
    );
  });

  async function resultOf(jobId: string): Promise<Record<string, Uint8Array>> {
    const link = await e2e.client.getResultUrl(jobId);
    return unzipSync(await download(link.url));
  }

  describe('happy path', () => {
    it('runs the pinned knime2py, provisioned into the data dir from a release folder when none is installed', () => {
      expect(e2e.stack.converter.version).toBe(KNIME2PY_VERSION);
      if (converter.localModeEnv.K2P_SOURCE) {
        expect(e2e.stack.converter.source).toBe('provisioned');
        expect(e2e.stack.converter.provisioned?.dir.startsWith(e2e.stack.dataDir)).toBe(true);
        expect(e2e.stack.converter.provisioned?.from).toBe(`K2P_SOURCE=${converter.localModeEnv.K2P_SOURCE}`);
      }
    });

    it('runs the real converter inside the task sandbox (required in CI, where bubblewrap is installed)', () => {
      const inSandbox = e2e.stack.sandbox.enforced.some((line) => line.startsWith('user 10001'));
      if (process.env.CI) expect(e2e.stack.sandbox.notEnforced.filter((line) => !line.includes('memory-backed'))).toEqual([]);
      if (!inSandbox)
        console.warn(`local mode e2e: the real converter ran WITHOUT the task sandbox: ${e2e.stack.sandbox.notEnforced.join('; ')}`);
      if (process.env.CI) expect(inSandbox).toBe(true);
    });

    it.each(sampleNames())('converts %s through the API into a result.zip matching the reference outputs', async (sample) => {
      const { jobId, job } = await submit(e2e, await bundleOf(sample), `${sample}.zip`);
      const errorCode = referenceErrorCode(sample);
      if (errorCode) {
        // The reference says knime2py refuses this one: the job ends with the matching error code.
        expect(job.status).toBe('FAILED');
        expect(job.error?.code).toBe(errorCode);
        matched.push(sample);
        return;
      }
      expect(job.status, JSON.stringify(job.error)).toBe('SUCCEEDED');
      expect(job.workflowName).toBe(sample);
      expect(job.result?.components).toBeGreaterThanOrEqual(1);
      const files = await resultOf(jobId);
      expect(differencesFromReference(sample, files)).toEqual([]);
      expect(Object.keys(files)).toEqual(expect.arrayContaining(['report.json', 'README.md']));
      const report = JSON.parse(strFromU8(files['report.json']!)) as ConversionReport;
      expect(report).toMatchObject({ outcome: 'SUCCEEDED', workflow: sample, inputSha256: job.bundle?.sha256 });
      // Each job records the converter version local mode found or provisioned.
      expect(report.converter.version).toBe(KNIME2PY_VERSION);
      const script = strFromU8(files[`${sample}__g01_workbook.py`]!);
      expect(script).toContain(`# Source:   ${sample}/workflow.knime`);
      expect(script).not.toMatch(/scratch|run-[0-9a-z]{4,}/i);
      matched.push(sample);
    });

    it('keeps the conversion’s log: knime2py’s command, its JSON summary and its ending, scrubbed and without scratch paths', async () => {
      const { jobId, job } = await submit(e2e, await bundleOf('KNIME_traverse_order'), 'KNIME_traverse_order.zip');
      expect(job.status).toBe('SUCCEEDED');
      const log = await e2e.client.getJobLog(jobId);
      expect(log).toContain(`k2p-web conversion log: job ${jobId}, workflow KNIME_traverse_order`);
      expect(log).toMatch(/^\$ .+ KNIME_traverse_order --out \.$/m);
      expect(log).toMatch(/== knime2py stdout \(\d+ bytes\) ==\n\{/);
      // knime2py's own summary: the component and the node it could not convert.
      expect(log).toContain('"workflow"');
      expect(log).toContain('KNIME_traverse_order__g01_workbook.py');
      expect(log).toContain('Normalizer');
      expect(log).toMatch(/== knime2py exited with code 0 after \d+ ms ==/);
      expect(log).toContain('"message":"job finished"');
      expect(log).not.toMatch(/run-[0-9A-Za-z]{6}|X-Amz-Signature/);
      // A job that never ran has none.
      const rejected = await submit(
        e2e,
        buildZip({ entries: [...minimalBundle(), { name: 'data/secrets.csv', data: 'a,b' }] }),
        'rejected.zip',
      );
      expect(rejected.job.status).toBe('REJECTED');
      expect((await expectApiError(e2e.client.getJobLog(rejected.jobId))).code).toBe('LOG_NOT_AVAILABLE');
    });

    it('names the download after the workflow', async () => {
      const { jobId } = await submit(e2e, await bundleOf('discounts'), 'discounts.knwf');
      const link = await e2e.client.getResultUrl(jobId);
      expect(link.filename).toBe('discounts-k2p.zip');
      const response = await fetch(link.url);
      expect(response.headers.get('content-disposition')).toContain('discounts-k2p.zip');
    });
  });

  describe('rejected bundles: the API shows the precise code and message', () => {
    const hostile: [string, Uint8Array, string][] = [
      ['ZIP_CORRUPT', new TextEncoder().encode('definitely not a zip file, just text'), ''],
      [
        'ZIP_UNSAFE_PATH',
        buildZip({ entries: [...minimalBundle(), { name: '../evil/settings.xml', data: SETTINGS_XML }] }),
        '../evil/settings.xml',
      ],
      ['ZIP_DISALLOWED_FILE', buildZip({ entries: [...minimalBundle(), { name: 'data/secrets.csv', data: 'a,b' }] }), 'data/secrets.csv'],
      [
        'ZIP_SYMLINK',
        buildZip({
          entries: [...minimalBundle(), { name: 'L (#2)/settings.xml', data: '/etc/passwd', externalAttributes: (0o120777 << 16) >>> 0 }],
        }),
        'L (#2)/settings.xml',
      ],
      ['ZIP_ENCRYPTED', buildZip({ entries: [...minimalBundle(), { name: 'E (#2)/settings.xml', data: SETTINGS_XML, flags: 0x801 }] }), ''],
      [
        'ZIP_RATIO_EXCEEDED',
        buildZip({ entries: [...minimalBundle(), { name: 'Bomb (#2)/settings.xml', data: `<a>${' '.repeat(4 * 1024 * 1024)}</a>` }] }),
        'Bomb (#2)/settings.xml',
      ],
      ['WORKFLOW_MISSING', buildZip({ entries: [{ name: 'Flow/workflow.knime', data: workflowXml([]) }] }), ''],
      [
        'XML_FORBIDDEN_DTD',
        buildZip({
          entries: [
            ...minimalBundle(),
            { name: 'D (#2)/settings.xml', data: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' },
          ],
        }),
        'D (#2)/settings.xml',
      ],
      [
        'XML_INVALID',
        buildZip({ entries: [...minimalBundle(), { name: 'B (#2)/settings.xml', data: '<config>' }] }),
        'B (#2)/settings.xml',
      ],
      [
        'SETTINGS_MISSING',
        buildZip({ entries: [{ name: 'workflow.knime', data: workflowXml([{ id: '3', settingsFile: 'X (#3)/settings.xml' }]) }] }),
        'X (#3)/settings.xml',
      ],
    ];

    it.each(hostile)('%s', async (code, bundle, entry) => {
      const { jobId, job } = await submit(e2e, bundle, 'hostile.zip');
      expect(job.status).toBe('REJECTED');
      expect(job.error?.code).toBe(code);
      expect(job.error?.message.length).toBeGreaterThan(15);
      if (entry) expect(JSON.stringify(job.error)).toContain(entry);
      // Nothing is kept from a rejected upload, and there is no result.
      expect((await expectApiError(e2e.client.getResultUrl(jobId))).status).toBeGreaterThanOrEqual(409);
    });

    it('refuses an upload over the presigned size limit at the storage layer', async () => {
      const { job, upload } = await e2e.client.createJob({ filename: 'big.zip' });
      const tooBig = new Uint8Array(upload!.maxBytes + 1);
      const error = await uploadToPresignedPost({ url: upload!.url, fields: upload!.fields }, tooBig).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UploadError);
      expect((await e2e.client.getJob(job.jobId)).status).toBe('AWAITING_UPLOAD');
      await e2e.client.deleteJob(job.jobId);
    });
  });

  describe('robustness', () => {
    it('treats a duplicated S3 event as a no-op', async () => {
      const { jobId, job } = await submit(e2e, await bundleOf('KNIME_io_csv'), 'KNIME_io_csv.zip');
      expect(job.status).toBe('SUCCEEDED');
      const validate = e2e.stack.model.buckets.flatMap((b) => b.notifications)[0]!;
      const bucket = e2e.stack.model.buckets.find((b) => b.notifications.length > 0)!;
      const event = {
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Post',
            awsRegion: 'us-east-1',
            s3: { bucket: { name: bucket.name }, object: { key: `bundles/${jobId}/bundle.zip`, size: 1, sequencer: '0' } },
          },
        ],
      };
      await e2e.stack.invoke(validate.functionArn, event);
      await e2e.stack.invoke(validate.functionArn, event);
      expect((await e2e.client.getJob(jobId)).status).toBe('SUCCEEDED');
    });

    it('lets the reaper expire an upload that never arrives', async () => {
      const { job } = await e2e.client.createJob({ filename: 'never.zip' });
      // Past the 15-minute upload link and the reaper's 15-minute grace.
      const later = 31 * 60 * 1000;
      e2e.stack.clock.advance(later);
      try {
        await e2e.stack.triggerReaper();
      } finally {
        e2e.stack.clock.advance(-later);
      }
      const reaped = await e2e.client.getJob(job.jobId);
      expect(reaped.status).toBe('EXPIRED');
      expect(reaped.expiredReason).toBe('UPLOAD_NOT_RECEIVED');
    });

    it('expires a result after retention (time moved, not slept)', async () => {
      const { jobId, job } = await submit(e2e, await bundleOf('KNIME_single_csv'), 'KNIME_single_csv.zip');
      expect(job.status).toBe('SUCCEEDED');
      const days = (E2E_SERVICE_LIMITS.resultRetentionDays + 1) * 24 * 3600 * 1000;
      e2e.stack.clock.advance(days);
      try {
        await e2e.stack.triggerReaper();
        const gone = await expectApiError(e2e.client.getResultUrl(jobId));
        expect(gone.status).toBe(410);
        expect(gone.code).toBe('RESULT_GONE');
        const expired = await e2e.client.getJob(jobId);
        expect(expired.status).toBe('EXPIRED');
        expect(expired.expiredReason).toBe('RESULT_RETENTION');
      } finally {
        e2e.stack.clock.advance(-days);
      }
    });

    it('deletes a job: data gone, status DELETED, idempotent', async () => {
      const { jobId } = await submit(e2e, await bundleOf('KNIME_two_graphs'), 'KNIME_two_graphs.zip');
      const link = await e2e.client.getResultUrl(jobId);
      expect((await e2e.client.deleteJob(jobId)).status).toBe('DELETED');
      expect((await e2e.client.deleteJob(jobId)).status).toBe('DELETED');
      expect((await expectApiError(e2e.client.getResultUrl(jobId))).code).toBe('RESULT_GONE');
      expect((await fetch(link.url)).status).toBe(404);
      expect((await expectApiError(e2e.client.getJobLog(jobId))).code).toBe('LOG_NOT_AVAILABLE');
    });

    it('hides a job from another API key (404), and requires a key', async () => {
      const { jobId } = await submit(e2e, await bundleOf('KNIME_single_csv'), 'KNIME_single_csv.zip');
      const web = new ApiClient({ baseUrl: e2e.stack.urls.api, apiKey: e2e.stack.keys.web!.value });
      expect((await expectApiError(web.getJob(jobId))).status).toBe(404);
      // Another registered principal (local-admin) probing the id: not found either.
      const admin = new ApiClient({ baseUrl: e2e.stack.urls.api, apiKey: e2e.stack.keys.admin.value });
      expect((await expectApiError(admin.getJob(jobId))).status).toBe(404);
      const anonymous = new ApiClient({ baseUrl: e2e.stack.urls.api });
      expect((await expectApiError(anonymous.getJob(jobId))).code).toBe('UNAUTHORIZED');
      expect((await anonymous.health()).status).toBe('ok');
    });
  });

  describe('capacity', () => {
    it(`runs ${E2E_SERVICE_LIMITS.globalInFlight} jobs in flight to completion, none lost`, async () => {
      const bundle = await bundleOf('KNIME_single_csv');
      const results = await Promise.all(
        Array.from({ length: E2E_SERVICE_LIMITS.globalInFlight }, (_, i) => submit(e2e, bundle, `parallel-${i}.zip`)),
      );
      expect(results.map((r) => r.job.status)).toEqual(Array(E2E_SERVICE_LIMITS.globalInFlight).fill('SUCCEEDED'));
      expect(new Set(results.map((r) => r.jobId)).size).toBe(E2E_SERVICE_LIMITS.globalInFlight);
    }, 300_000);

    it('admits exactly 10 of 50 concurrent creates when 10 slots are free', async () => {
      // Hold all but 10 slots with jobs waiting for their upload.
      const held = await Promise.all(
        Array.from({ length: E2E_SERVICE_LIMITS.globalInFlight - 10 }, (_, i) => e2e.client.createJob({ filename: `held-${i}.zip` })),
      );
      const attempts = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => e2e.client.createJob({ filename: `burst-${i}.zip` })));
      const admitted = attempts.filter((a) => a.status === 'fulfilled');
      const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      expect(admitted).toHaveLength(10);
      for (const r of refused) expect((r.reason as { code?: string }).code).toBe('SERVER_BUSY');
      for (const job of [
        ...held,
        ...admitted.map((a) => (a as PromiseFulfilledResult<Awaited<ReturnType<ApiClient['createJob']>>>).value),
      ]) {
        await e2e.client.deleteJob(job.job.jobId);
      }
      // Slots are released: a new job is admitted again.
      const again = await e2e.client.createJob({ filename: 'after.zip' });
      await e2e.client.deleteJob(again.job.jobId);
    }, 120_000);
  });
});
