/**
 * The web page end to end in Debian's Chromium (playwright-core), against
 * local mode started in-process with the knime2py CONTRACT DOUBLE, under the
 * production CSP. One stack for the whole file. Saves a screenshot of each
 * main state (to docs/screenshots/ with UPDATE_SCREENSHOTS=1, see support.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../core/api-client';
import { uploadToPresignedPost } from '../../core/node/upload';
import { bundleFiles } from '../support/samples';
import { buildZip, minimalBundle, SAMPLES_DIR } from '../support/zip-builder';
import {
  copySample,
  gotoPage,
  HAS_CHROMIUM,
  launchChromium,
  openPage,
  problemsOf,
  scratchDir,
  screenshot,
  setDoubleMode,
  SKIP_MESSAGE,
  startWebStack,
  waitForTestIdText,
  writeFile,
  type PageProbe,
  type WebStack,
} from './support';

if (!HAS_CHROMIUM) console.warn(`\n${'!'.repeat(72)}\n${SKIP_MESSAGE}\n${'!'.repeat(72)}\n`);

// CI installs Chromium (.ci/run): there a missing browser is a failure, never a skip.
describe.runIf(!HAS_CHROMIUM && !!process.env.CI)('web page in Chromium (CI)', () => {
  it('has Chromium to run in', () => {
    throw new Error(SKIP_MESSAGE);
  });
});

const SECRET = 'hunter2-do-not-upload-me';

describe.skipIf(!HAS_CHROMIUM)('web page in Chromium against local mode', () => {
  let stack: WebStack;
  let browser: Browser;
  /** The page's own client: the public web key from config.json. */
  let webClient: ApiClient;
  let scratch: ReturnType<typeof scratchDir>;

  beforeAll(async () => {
    scratch = scratchDir();
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
    const config = (await (await fetch(new URL('config.json', stack.webUrl))).json()) as { apiUrl: string; apiKey: string };
    webClient = new ApiClient({ baseUrl: config.apiUrl, apiKey: config.apiKey });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    scratch?.remove();
  });

  function open(options?: Parameters<typeof openPage>[2]): Promise<PageProbe> {
    return openPage(browser, stack, options);
  }

  async function expectClean(probe: PageProbe): Promise<void> {
    expect(await problemsOf(probe)).toEqual([]);
    await probe.context.close();
  }

  it('converts a picked workflow folder: review with secrets, upload, stages, highlighted script, graph and download', async () => {
    const folder = copySample(SAMPLES_DIR, 'KNIME_PP_2022_LR', scratch.dir);
    const writer = join(folder, 'CSV Writer (#1406)', 'settings.xml');
    writeFile(
      writer,
      readFileSync(writer, 'utf8').replace(
        '<config key="model">',
        `<config key="model">\n<entry key="password" type="xstring" value="${SECRET}"/>`,
      ),
    );
    writeFile(join(folder, 'data', 'Sales_data_2022.csv'), 'a,b\n1,2\n'.repeat(5000));
    writeFile(join(folder, 'CSV Reader (#1393)', 'port_1', 'data.zip'), new Uint8Array(4096));

    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await screenshot(page, '01-pick.png');

    await page.getByTestId('folder-input').setInputFiles(folder);
    await page.waitForSelector('#review[data-state="ready"]');
    const review = (await page.locator('#review-body').textContent()) ?? '';
    expect(review).toContain('KNIME_PP_2022_LR');
    expect(review).toContain('Possible secrets in the settings (1)');
    expect(review).toContain('CSV Writer (#1406)');
    expect(review).toContain('model/password');
    expect(review).toMatch(/2 other files left out/);
    expect(await page.content()).not.toContain(SECRET);
    expect(await page.locator('table.manifest tbody tr').count()).toBe(15);
    await screenshot(page, '02-review-warnings.png');

    const [manifestDownload] = await Promise.all([page.waitForEvent('download'), page.click('#manifest-button')]);
    expect(manifestDownload.suggestedFilename()).toBe('manifest.json');
    const manifestText = readFileSync((await manifestDownload.path())!, 'utf8');
    expect(JSON.parse(manifestText)).toMatchObject({ workflowName: 'KNIME_PP_2022_LR', totals: { files: 15, nodes: 14, skipped: 2 } });
    expect(manifestText).not.toContain(SECRET);

    // The first two status polls fail at the network level: the page says so and keeps going.
    let failedPolls = 0;
    await page.route(
      (url) => url.href.startsWith(stack.e2e.stack.urls.api) && /\/jobs\/[^/]+$/.test(url.pathname),
      (route) =>
        route.request().method() === 'GET' && failedPolls < 2 ? (failedPolls++, route.abort('connectionreset')) : route.continue(),
    );
    // Every value the upload bar shows, recorded as it changes.
    await page.evaluate(() => {
      const bar = document.getElementById('upload-bar')!;
      const seen: string[] = ((window as unknown as { __progress: string[] }).__progress = []);
      new MutationObserver(() => seen.push(bar.getAttribute('aria-valuetext') ?? '')).observe(bar, {
        attributes: true,
        attributeFilter: ['aria-valuetext'],
      });
    });
    await page.getByTestId('convert-button').click();
    await page.locator('#network').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress)).toContain('100 %');
    expect(await page.locator('#network').textContent()).toContain('Connection problem');
    await waitForTestIdText(page, 'job-status', 'SUCCEEDED');
    expect(failedPolls).toBe(2);
    await page.waitForSelector('#result[data-state="ready"]');
    expect(await page.locator('#network').isVisible()).toBe(false);
    expect(await page.locator('.stage.done').count()).toBe(5);

    const code = (await page.getByTestId('code-preview').textContent()) ?? '';
    expect(code).toContain('import pandas as pd');
    expect(await page.locator('[data-testid="code-preview"] .tok-keyword').count()).toBeGreaterThan(5);
    expect(await page.locator('[data-testid="graph-preview"] svg .graph-node').count()).toBe(14);
    expect(await page.locator('[data-testid="graph-preview"] svg .graph-edge').count()).toBe(14);
    const report = (await page.locator('.report').textContent()) ?? '';
    expect(report).toMatch(/Components\s*1/);
    expect(report).toMatch(/Nodes\s*14/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('result-download').click()]);
    expect(download.suggestedFilename()).toBe('KNIME_PP_2022_LR-k2p.zip');
    const files = unzipSync(readFileSync((await download.path())!));
    expect(Object.keys(files)).toContain('KNIME_PP_2022_LR__g01_workbook.py');
    expect(strFromU8(files['KNIME_PP_2022_LR__g01_workbook.py']!)).toBe(code);

    const jobId = new URL(page.url()).searchParams.get('job')!;
    expect(jobId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(await page.locator(`#recent-list a[href="?job=${jobId}"]`).count()).toBe(1);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => localStorage.getItem('k2p-web.recent-jobs.v1'))).not.toContain(SECRET);
    await screenshot(page, '07-result.png');
    await expectClean(probe);

    // The same job in a dark, phone-sized window: resumed from the URL, nothing wider than the screen.
    const phone = await open({ colorScheme: 'dark', viewport: { width: 390, height: 844 } });
    await gotoPage(phone, stack, `?job=${jobId}`);
    await phone.page.waitForSelector('#result[data-state="ready"]');
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(phone.page, '08-result-dark-narrow.png');
    await expectClean(phone);
  }, 180_000);

  it('converts a .knwf export (only the workflow files are read), with notebook-only output, then deletes the data', async () => {
    const files = bundleFiles(join(SAMPLES_DIR, 'KNIME_two_graphs'));
    const entries: Record<string, Uint8Array> = {};
    for (const [path, data] of files) entries[`KNIME_two_graphs/${path}`] = data;
    entries['KNIME_two_graphs/.metainfo'] = strToU8('<KNIMEMetaInfo/>');
    entries['KNIME_two_graphs/workflowset.meta'] = strToU8('<?xml version="1.0"?><KNIMEMetaInfo/>');
    entries['KNIME_two_graphs/data/input.csv'] = strToU8('x,y\n'.repeat(20_000));
    entries['KNIME_two_graphs/CSV Reader (#1)/port_1/data.zip'] = new Uint8Array(8192).map((_, i) => (i * 31) % 251);
    const knwf = join(scratch.dir, 'KNIME_two_graphs.knwf');
    writeFile(knwf, zipSync(entries));

    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('file-input').setInputFiles(knwf);
    await page.waitForSelector('#review[data-state="ready"]');
    expect(await page.locator('#review-body').textContent()).toMatch(/4 other files left out/);
    await page.uncheck('#opt-script');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'SUCCEEDED');
    await page.waitForSelector('#result[data-state="ready"]');

    expect(await page.locator('#component-select option').allTextContents()).toEqual(['Component g01', 'Component g02']);
    expect(await page.locator('.code-figure figcaption').textContent()).toBe('KNIME_two_graphs__g01_workbook.ipynb (code cells)');
    expect(await page.getByTestId('code-preview').textContent()).toContain('import');
    await page.selectOption('#component-select', 'g02');
    expect(await page.locator('[data-testid="graph-preview"] figcaption').textContent()).toContain('component g02');

    const jobId = new URL(page.url()).searchParams.get('job')!;
    const done = await webClient.getJob(jobId);
    expect(done.options).toEqual({ workbook: 'ipynb', graph: 'both' });
    expect(done.result?.files.some((f) => f.endsWith('.py'))).toBe(false);

    await page.getByTestId('delete-button').click();
    await waitForTestIdText(page, 'job-status', 'DELETED');
    expect(await page.locator('#result').isVisible()).toBe(false);
    expect((await webClient.getJob(jobId)).status).toBe('DELETED');
    const gone = await webClient.getResultUrl(jobId).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(ApiError);
    expect((gone as ApiError).code).toBe('RESULT_GONE');
    expect(await page.locator(`#recent-list a[href="?job=${jobId}"] + .badge`).textContent()).toBe('Deleted');
    await expectClean(probe);
  }, 120_000);

  it('accepts a .knwf dropped onto the page', async () => {
    const entries: Record<string, Uint8Array> = {};
    for (const [path, data] of bundleFiles(join(SAMPLES_DIR, 'discounts'))) entries[`discounts/${path}`] = data;
    const base64 = Buffer.from(zipSync(entries)).toString('base64');
    const probe = await open();
    await gotoPage(probe, stack);
    await probe.page.evaluate((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'discounts.knwf', { type: 'application/octet-stream' }));
      document
        .getElementById('drop-zone')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, base64);
    await probe.page.waitForSelector('#review[data-state="ready"]');
    expect(await probe.page.locator('#review-body .summary').textContent()).toContain('discounts');
    await expectClean(probe);
  });

  it('asks which workflow to convert when the picked folder holds several', async () => {
    const parent = join(scratch.dir, 'Workflows');
    copySample(SAMPLES_DIR, 'discounts', parent);
    copySample(SAMPLES_DIR, 'KNIME_io_csv', parent);
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('folder-input').setInputFiles(parent);
    await page.waitForSelector('#review[data-state="blocked"]');
    expect(await page.getByTestId('error-code').textContent()).toBe('SEVERAL_ROOTS');
    await page.selectOption('#root-select', 'Workflows/KNIME_io_csv');
    await page.waitForSelector('#review[data-state="ready"]');
    expect(await page.locator('#review-body .summary').textContent()).toContain('KNIME_io_csv');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('root-select');
    expect(probe.jobCreations).toEqual([]);
    await expectClean(probe);
  });

  it('blocks a folder with a missing settings.xml before anything is uploaded', async () => {
    const folder = copySample(SAMPLES_DIR, 'KNIME_io_csv', scratch.dir, 'Missing settings');
    rmSync(join(folder, 'CSV Writer (#2)', 'settings.xml'));
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('folder-input').setInputFiles(folder);
    await page.waitForSelector('#review[data-state="blocked"]');
    expect(await page.getByTestId('error-code').textContent()).toBe('SETTINGS_MISSING');
    const problems = (await page.locator('#review-body .problems').textContent()) ?? '';
    expect(problems).toContain('CSV Writer (#2)/settings.xml');
    expect(problems).toContain('What to do');
    expect(await page.getByTestId('convert-button').isVisible()).toBe(false);
    await screenshot(page, '05-blocked-missing-settings.png');
    expect(probe.jobCreations).toEqual([]);
    await expectClean(probe);
  });

  it('names the precise code of a hostile ZIP: before upload in the page, and when uploaded to the service directly', async () => {
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);

    const doctype = join(scratch.dir, 'doctype.zip');
    writeFile(
      doctype,
      buildZip({
        entries: [
          {
            name: 'workflow.knime',
            data: '<?xml version="1.0"?>\n<!DOCTYPE config [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<config key="x">&x;</config>',
          },
        ],
      }),
    );
    await page.getByTestId('file-input').setInputFiles(doctype);
    await page.waitForSelector('#review[data-state="blocked"]');
    expect(await page.getByTestId('error-code').textContent()).toBe('XML_FORBIDDEN_DTD');

    const [workflow] = minimalBundle();
    const symlinkZip = buildZip({
      entries: [workflow!, { name: 'CSV Reader (#1)/settings.xml', data: '/etc/passwd', externalAttributes: (0o120777 << 16) >>> 0 }],
    });
    const symlink = join(scratch.dir, 'symlink.zip');
    writeFile(symlink, symlinkZip);
    await page.getByTestId('file-input').setInputFiles(symlink);
    await page.waitForFunction(() => document.querySelector('[data-testid="error-code"]')?.textContent === 'ZIP_SYMLINK');
    expect(probe.jobCreations).toEqual([]);

    // The same archive sent straight to the service (as any API client could, with the page's public key).
    const { job, upload } = await webClient.createJob({ filename: 'symlink.zip', sizeBytes: symlinkZip.length });
    await uploadToPresignedPost(upload!, symlinkZip);
    await gotoPage(probe, stack, `?job=${job.jobId}`);
    await waitForTestIdText(page, 'job-status', 'REJECTED');
    expect(await page.getByTestId('error-code').textContent()).toBe('ZIP_SYMLINK');
    const explained = (await page.locator('#job-error').textContent()) ?? '';
    expect(explained).toContain('symbolic link');
    expect(explained).toContain('File: CSV Reader (#1)/settings.xml');
    expect(explained).toContain('What to do');
    expect(await page.locator('.stage.failed .stage-label').textContent()).toBe('Validating');
    await screenshot(page, '06-rejected.png');
    await expectClean(probe);
  }, 90_000);

  it('counts down while the service is at capacity and converts once a slot frees', async () => {
    const fillers: string[] = [];
    const probe = await open();
    const { page } = probe;
    try {
      // Really fill the service: CLI-key jobs (its per-key limit is above the global one) until SERVER_BUSY.
      for (let i = 0; i < 60; i++) {
        try {
          fillers.push((await stack.e2e.client.createJob({ filename: `filler-${i}` })).job.jobId);
        } catch (error) {
          if (error instanceof ApiError && error.code === 'SERVER_BUSY') break;
          throw error;
        }
      }
      expect(fillers.length).toBeGreaterThan(0);
      await gotoPage(probe, stack);
      await page.getByTestId('folder-input').setInputFiles(join(SAMPLES_DIR, 'KNIME_single_csv'));
      await page.waitForSelector('#review[data-state="ready"]');
      await page.getByTestId('convert-button').click();
      await page.getByTestId('capacity-wait').waitFor({ state: 'visible' });
      expect(await waitForTestIdText(page, 'job-status', 'SERVER_BUSY')).toContain('Waiting for a free slot');
      const first = Number(/(\d+) s/.exec((await page.locator('.countdown').textContent()) ?? '')?.[1]);
      await page.waitForFunction(
        (start) => Number(/(\d+) s/.exec(document.querySelector('.countdown')?.textContent ?? '')?.[1]) < start,
        first,
      );
      await screenshot(page, '03-busy-countdown.png');
      expect(probe.jobCreations.length).toBe(1);

      await stack.e2e.client.deleteJob(fillers.shift()!);
      await waitForTestIdText(page, 'job-status', 'SUCCEEDED', 90_000);
      expect(probe.jobCreations.length).toBeGreaterThanOrEqual(2);
      expect(await page.getByTestId('capacity-wait').isVisible()).toBe(false);
    } finally {
      await Promise.all(fillers.map((id) => stack.e2e.client.deleteJob(id).catch(() => undefined)));
    }
    await expectClean(probe);
  }, 150_000);

  it('resumes a job in flight after a reload and shows how it ended', async () => {
    const folder = copySample(SAMPLES_DIR, 'KNIME_single_csv', scratch.dir, 'Hanging flow');
    setDoubleMode(folder, 'hang');
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('folder-input').setInputFiles(folder);
    await page.waitForSelector('#review[data-state="ready"]');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'RUNNING');
    const jobId = await page.locator('#job-id').textContent();
    expect(await page.locator('#job-link-scope').textContent()).toBe('works in this browser');
    await screenshot(page, '04-following.png');

    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    expect(new URL(page.url()).searchParams.get('job')).toBe(jobId);
    await waitForTestIdText(page, 'job-status', /RUNNING|TIMED_OUT/);
    expect(await page.locator('#job-id').textContent()).toBe(jobId);
    await waitForTestIdText(page, 'job-status', 'TIMED_OUT', 90_000);
    expect(await page.getByTestId('error-code').textContent()).toBe('CONVERTER_TIMEOUT');
    expect(await page.locator('.stage.failed .stage-label').textContent()).toBe('Converting');
    await expectClean(probe);
  }, 150_000);

  it('cancels a running conversion with the Cancel job button: Cancelling, then Cancelled (contract double hanging)', async () => {
    const folder = copySample(SAMPLES_DIR, 'KNIME_single_csv', scratch.dir, 'Cancelled flow');
    setDoubleMode(folder, 'hang');
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('folder-input').setInputFiles(folder);
    await page.waitForSelector('#review[data-state="ready"]');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'RUNNING');
    const button = page.getByRole('button', { name: 'Cancel this job: stop its conversion on the service' });
    expect(await button.isVisible()).toBe(true);
    await button.click();
    await waitForTestIdText(page, 'job-status', /Cancell(ing|ed)/);
    await waitForTestIdText(page, 'job-status', 'Cancelled (CANCELLED)', 60_000);
    expect(await page.getByTestId('cancel-job-button').isHidden()).toBe(true);
    expect(await page.locator('#job-error').isHidden()).toBe(true);
    const jobId = (await page.locator('#job-id').textContent())!;
    expect((await webClient.getJob(jobId)).status).toBe('CANCELLED');
    await expectClean(probe);
  }, 120_000);

  it("shows a conversion failure's code and the converter's message", async () => {
    const folder = copySample(SAMPLES_DIR, 'KNIME_single_csv', scratch.dir, 'Unparseable flow');
    setDoubleMode(folder, 'exit-3');
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.getByTestId('folder-input').setInputFiles(folder);
    await page.waitForSelector('#review[data-state="ready"]');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'FAILED');
    expect(await page.getByTestId('error-code').textContent()).toBe('CONVERTER_PARSE_ERROR');
    const explained = (await page.locator('#job-error').textContent()) ?? '';
    expect(explained).toContain('knime2py could not parse the workflow');
    expect(explained).toContain('Converter exit code3');
    await screenshot(page, '09-conversion-failed.png');
    await expectClean(probe);
  }, 90_000);

  it('anonymous access on: works signed out through the shared key, says it is a shared trial, and offers "Sign in"', async () => {
    const probe = await open();
    const { page } = probe;
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(stack.e2e.stack.urls.api) || request.method() === 'OPTIONS') return;
      const headers = request.headers();
      apiCalls.push(`${headers['x-api-key'] ? 'key' : 'no key'}, ${headers.authorization ? 'bearer' : 'no bearer'}`);
    });
    await gotoPage(probe, stack);
    const trial = (await page.getByTestId('trial-note').textContent()) ?? '';
    expect(await page.getByTestId('trial-note').isVisible()).toBe(true);
    expect(trial).toContain('Shared trial');
    expect(trial).toContain('tight limits');
    expect(trial).toContain('Signing in keeps your jobs across browsers');
    expect(await page.getByTestId('sign-in-button').isVisible()).toBe(true);
    expect(await page.getByTestId('sign-in-needed').isVisible()).toBe(false);
    expect(await page.locator('#folder-button').isVisible()).toBe(true);

    await page.getByTestId('folder-input').setInputFiles(join(SAMPLES_DIR, 'KNIME_single_csv'));
    await page.waitForSelector('#review[data-state="ready"]');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'SUCCEEDED');
    const jobId = new URL(page.url()).searchParams.get('job')!;
    // The shared key cannot list: the list is this browser's, from local storage.
    expect(await page.locator(`#recent-list a[href="?job=${jobId}"]`).count()).toBe(1);
    expect(await page.locator('#recent-note').textContent()).toContain('this browser only');
    expect(await page.evaluate(() => localStorage.getItem('k2p-web.recent-jobs.v1'))).toContain(jobId);
    expect(apiCalls.length).toBeGreaterThan(2);
    expect(new Set(apiCalls)).toEqual(new Set(['key, no bearer']));
    await expectClean(probe);
  }, 90_000);

  it('is usable by keyboard and labels every control', async () => {
    const probe = await open();
    const { page } = probe;
    await gotoPage(probe, stack);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip-link');
    // The header's "Sign in" (the page has an identity provider), then the converter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-button');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('folder-button');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('file-button');
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('button, input, select, a[href]')]
        .filter((el) => {
          const label =
            el.getAttribute('aria-label') ??
            (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ??
            el.closest('label')?.textContent ??
            el.textContent;
          return !label?.trim();
        })
        .map((el) => el.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    expect(await page.getAttribute('[data-testid="job-status"]', 'aria-live')).toBe('polite');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expectClean(probe);
  });
});
