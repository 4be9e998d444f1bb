/**
 * The admin page (web/admin.html) in Debian's Chromium against local mode with anonymous access off, under the site's
 * CSP: signed out it offers only "Sign in"; the seeded `user` gets "Not allowed" (the API's 403) and no data; the
 * seeded `admin` sees the jobs of two principals (a person and a program), narrows them with the filters (state,
 * code, owner, range), reads a failure (code, message, hint, the converter's log), cancels and deletes with a
 * confirmation step, creates a key whose value is shown once and works at once (GET /me), disables it, and sees usage
 * per principal as a chart. One local stack for the file; the jobs are made through the API beforehand.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../core/api-client';
import { uploadToPresignedPost } from '../../core/node/upload';
import type { OidcAccount } from '../../local/stand-ins/oidc';
import { bundleOfSample, bundleWithMode } from '../e2e/support';
import { bundleWithDataFile } from '../support/job-fixtures';
import { signIn as signInOverHttp } from '../support/oidc-sign-in';
import {
  gotoPage,
  HAS_CHROMIUM,
  launchChromium,
  openPage,
  problemsOf,
  screenshotOf,
  startWebStack,
  waitForTestIdText,
  type PageProbe,
  type WebStack,
} from './support';

describe.skipIf(!HAS_CHROMIUM)('the admin page (local mode, anonymous access off)', () => {
  let stack: WebStack;
  let browser: Browser;
  let admin: OidcAccount;
  let user: OidcAccount;
  /** The person whose jobs the admin looks at (signed in over HTTP, as the page would). */
  let personId: string;
  /** The local CLI key's program principal, and its name. */
  let programId: string;
  let programName: string;
  const jobs = { personOk: '', personFailed: '', programOk: '', programRejected: '', waiting: '', toDelete: '' };

  /** Creates a job, uploads the bundle and waits until it has ended. */
  async function submit(client: ApiClient, bundle: Uint8Array, filename: string): Promise<string> {
    const { job, upload } = await client.createJob({ filename, sizeBytes: bundle.length });
    await uploadToPresignedPost(upload!, bundle);
    await client.followJob(job.jobId, { minPollMs: 100, maxPollMs: 500, timeoutMs: 60_000 });
    return job.jobId;
  }

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack({ anonymousAccess: false }), launchChromium()]);
    const identity = stack.e2e.stack.identity;
    admin = identity.accounts.find((account) => account.login === 'admin')!;
    user = identity.accounts.find((account) => account.login === 'user')!;
    const user2 = identity.accounts.find((account) => account.login === 'user2')!;
    const signedIn = await signInOverHttp({
      issuer: identity.issuer,
      clientId: identity.clientId,
      site: new URL(stack.webUrl).origin,
      login: user2.login,
      password: user2.password,
    });
    if (signedIn.refused) throw new Error('user2 could not sign in');
    const person = new ApiClient({ baseUrl: stack.e2e.stack.urls.api, bearerToken: () => signedIn.id_token });
    const program = stack.e2e.client;
    personId = (await person.me()).id;
    ({ id: programId, name: programName } = await program.me());
    jobs.personOk = await submit(person, await bundleOfSample('KNIME_single_csv'), 'person-ok.zip');
    jobs.personFailed = await submit(person, bundleWithMode('exit-3'), 'person-unparseable.zip');
    jobs.programOk = await submit(program, await bundleOfSample('KNIME_single_csv'), 'program-ok.zip');
    jobs.programRejected = await submit(program, bundleWithDataFile(), 'program-with-data.zip');
    // Never uploaded: AWAITING_UPLOAD until cancelled or deleted.
    jobs.waiting = (await program.createJob({ filename: 'waiting.zip', sizeBytes: 1000 })).job.jobId;
    jobs.toDelete = (await program.createJob({ filename: 'to-delete.zip', sizeBytes: 1000 })).job.jobId;
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const adminUrl = () => new URL('admin.html', stack.webUrl).href;

  async function openAdmin(options: Parameters<typeof openPage>[2] = {}): Promise<PageProbe> {
    const probe = await openPage(browser, stack, options);
    await probe.page.goto(adminUrl());
    await probe.page.waitForSelector('html[data-ready="true"]');
    return probe;
  }

  async function expectClean(probe: PageProbe): Promise<void> {
    expect(await problemsOf(probe)).toEqual([]);
    await probe.context.close();
  }

  /** "Sign in" on the admin page: the provider's form, the main page (the redirect URI), then back on admin.html. */
  async function signIn(page: Page, account: OidcAccount): Promise<void> {
    await page.getByTestId('sign-in-main').click();
    await page.waitForURL((url) => url.href.startsWith(stack.e2e.stack.identity.issuer));
    await page.getByLabel('User name').fill(account.login);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href === adminUrl());
    await page.waitForSelector('html[data-ready="true"]');
    await waitForTestIdText(page, 'account', `Signed in as ${account.name}`);
  }

  async function signedInAdmin(options: Parameters<typeof openPage>[2] = {}): Promise<PageProbe> {
    const probe = await openAdmin(options);
    await signIn(probe.page, admin);
    await probe.page.waitForSelector('#admin:not([hidden]) [data-testid="job-row"]');
    return probe;
  }

  /** The job ids of the table's rows, once the last listing has been drawn. */
  async function rowIds(page: Page): Promise<string[]> {
    return page.locator('[data-testid="job-row"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-job-id') ?? ''));
  }

  /** Applies the filters and waits for the live region to report the new listing. */
  async function applyFilters(page: Page, expected: RegExp): Promise<string[]> {
    await page.getByTestId('admin-status').evaluate((el) => (el.textContent = ''));
    await page.getByTestId('filter-apply').click();
    await waitForTestIdText(page, 'admin-status', expected);
    return rowIds(page);
  }

  it('signed out: only "Sign in", reachable by keyboard, and no data', async () => {
    const probe = await openAdmin();
    const { page } = probe;
    expect(await page.getByTestId('signed-out').isVisible()).toBe(true);
    expect(await page.locator('#admin').isVisible()).toBe(false);
    expect(await page.locator('[data-testid="job-row"]').count()).toBe(0);
    // Keyboard: past the skip link and "Back to the converter", the header's "Sign in", then the panel's.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-button');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-main');
    await expectClean(probe);
  });

  it('the seeded user gets "Not allowed" (403 from the API) and no data; the main page shows them no admin link', async () => {
    const probe = await openAdmin();
    const { page } = probe;
    const answers: number[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.includes('/admin/') && response.request().method() !== 'OPTIONS')
        answers.push(response.status());
    });
    await signIn(page, user);
    await page.getByTestId('not-allowed').waitFor({ state: 'visible' });
    expect(await page.getByTestId('not-allowed').textContent()).toContain('Not allowed');
    await waitForTestIdText(page, 'not-allowed', '403 FORBIDDEN');
    expect(await page.locator('#admin').isVisible()).toBe(false);
    expect(await page.locator('[data-testid="job-row"], [data-testid="key-row"], [data-testid="usage-row"]').count()).toBe(0);
    expect(answers.length).toBeGreaterThan(0);
    expect(new Set(answers)).toEqual(new Set([403]));
    await gotoPage(probe, stack);
    await waitForTestIdText(page, 'account', `Signed in as ${user.name}`);
    await page.waitForLoadState('networkidle');
    expect(await page.getByTestId('admin-link').isVisible()).toBe(false);
    await expectClean(probe);
  }, 120_000);

  it('signed in as the seeded admin: the jobs of both principals, narrowed by state, code, owner and range, with counts', async () => {
    const probe = await signedInAdmin();
    const { page } = probe;
    const all = await rowIds(page);
    for (const id of Object.values(jobs)) expect(all).toContain(id);
    const owners = await page.locator('[data-testid="owner-filter"]').allTextContents();
    expect(new Set(owners)).toEqual(new Set([personId, programId]));
    expect(await page.getByTestId('count-state-FAILED').textContent()).toMatch(/FAILED\s*1/);
    expect(await page.getByTestId('count-code-CONVERTER_PARSE_ERROR').textContent()).toMatch(/1/);
    await screenshotOf(page.locator('#jobs'), '13-admin-jobs.png');

    await page.locator('#jobs').getByLabel('State', { exact: true }).selectOption('FAILED');
    expect(await applyFilters(page, /state FAILED/)).toEqual([jobs.personFailed]);
    await page.locator('#jobs').getByLabel('State', { exact: true }).selectOption('');
    await page.locator('#jobs').getByLabel('Error code', { exact: true }).selectOption('CONVERTER_PARSE_ERROR');
    expect(await applyFilters(page, /code CONVERTER_PARSE_ERROR/)).toEqual([jobs.personFailed]);
    await page.locator('#jobs').getByLabel('Error code', { exact: true }).selectOption('');
    await page.locator('#jobs').getByLabel('State', { exact: true }).selectOption('REJECTED');
    expect(await applyFilters(page, /state REJECTED/)).toEqual([jobs.programRejected]);
    await page.locator('#jobs').getByLabel('State', { exact: true }).selectOption('');

    await page.locator('#jobs').getByLabel('Owner (principal id)', { exact: true }).fill(personId);
    expect(new Set(await applyFilters(page, /owner /))).toEqual(new Set([jobs.personOk, jobs.personFailed]));
    // Clicking an owner filters by it too (the live region says so).
    await page.locator('#jobs').getByLabel('Owner (principal id)', { exact: true }).fill('');
    await applyFilters(page, /since 7d/);
    await page.getByTestId('admin-status').evaluate((el) => (el.textContent = ''));
    await page.locator(`[data-job-id="${jobs.programOk}"] [data-testid="owner-filter"]`).click();
    await waitForTestIdText(page, 'admin-status', 'owner');
    const programRows = await rowIds(page);
    expect(programRows).toContain(jobs.programOk);
    expect(programRows).not.toContain(jobs.personOk);
    expect(await page.locator('#jobs').getByLabel('Owner (principal id)', { exact: true }).inputValue()).toBe(programId);

    // A range that ends before any job was made: nothing.
    await page.locator('#jobs').getByLabel('Owner (principal id)', { exact: true }).fill('');
    await page.locator('#jobs').getByLabel('Since', { exact: true }).fill('2020-01-01T00:00:00Z');
    await page.locator('#jobs').getByLabel('Until', { exact: true }).fill('2020-01-02T00:00:00Z');
    expect(await applyFilters(page, /until 2020-01-02/)).toEqual([]);
    expect(await page.getByTestId('jobs-empty').isVisible()).toBe(true);
    expect(await page.getByTestId('job-counts').textContent()).toContain('0 jobs');
    // A range the API refuses: its code and hint, in the alert.
    await page.locator('#jobs').getByLabel('Since', { exact: true }).fill('yesterday');
    await page.getByTestId('filter-apply').click();
    await waitForTestIdText(page, 'page-error', 'INVALID_REQUEST');
    await expectClean(probe);
  }, 180_000);

  it('the failure view shows code, message, hint and the converter log beside the summary; cancel and delete ask first', async () => {
    const probe = await signedInAdmin();
    const { page } = probe;
    await page.locator(`[data-job-id="${jobs.personFailed}"] [data-testid="job-open"]`).click();
    const detail = page.getByTestId('job-detail');
    await detail.waitFor({ state: 'visible' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('job-detail-title');
    expect(await detail.getByTestId('error-code').textContent()).toBe('CONVERTER_PARSE_ERROR');
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain('knime2py could not parse the workflow');
    expect(text).toContain('What to do');
    expect(text).toContain(personId);
    expect(await detail.getByTestId('job-log').textContent()).toContain('simulated failure (exit 3)');
    expect(await detail.getByTestId('job-report').isVisible()).toBe(true);
    expect(await page.getByTestId('job-cancel').isVisible()).toBe(false);
    await screenshotOf(detail, '14-admin-failure.png');
    await page.getByRole('button', { name: 'Close' }).click();

    // Cancel: the dialog opens with the safe answer focused; Escape keeps the job.
    await page.locator('#jobs').getByLabel('Owner (principal id)', { exact: true }).fill(programId);
    await page.locator('#jobs').getByLabel('State', { exact: true }).selectOption('AWAITING_UPLOAD');
    expect(new Set(await applyFilters(page, /state AWAITING_UPLOAD/))).toEqual(new Set([jobs.waiting, jobs.toDelete]));
    await page.locator(`[data-job-id="${jobs.waiting}"] [data-testid="job-open"]`).click();
    await page.getByTestId('job-cancel').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-no');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('job-cancel');
    expect((await stack.e2e.client.getJob(jobs.waiting)).status).toBe('AWAITING_UPLOAD');
    await page.keyboard.press('Enter'); // the focused "Cancel job…" again
    await dialog.waitFor({ state: 'visible' });
    await page.getByTestId('confirm-yes').click();
    await waitForTestIdText(page, 'job-detail', 'CANCELLED');
    expect((await stack.e2e.client.getJob(jobs.waiting)).status).toBe('CANCELLED');

    // Delete, the other job: "Keep it" first, then yes.
    await page.locator(`[data-job-id="${jobs.toDelete}"] [data-testid="job-open"]`).click();
    await waitForTestIdText(page, 'job-detail', jobs.toDelete);
    await page.getByTestId('job-delete').click();
    await page.getByTestId('confirm-no').click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await stack.e2e.client.getJob(jobs.toDelete)).status).toBe('AWAITING_UPLOAD');
    await page.getByTestId('job-delete').click();
    await page.getByTestId('confirm-yes').click();
    await waitForTestIdText(page, 'job-detail', 'DELETED');
    expect(await page.getByTestId('job-delete').isVisible()).toBe(false);
    await expectClean(probe);
  }, 180_000);

  it('creates a key whose value is shown once and works at once; it is gone after hiding or a reload; disable', async () => {
    const probe = await signedInAdmin();
    const { page } = probe;
    await page.locator('#keys').getByLabel('Name (who the key is for)').fill('ci-bot');
    await page.locator('#keys').getByLabel('Role', { exact: true }).selectOption('user');
    await page.getByTestId('key-create-button').click();
    const secret = page.getByTestId('key-secret');
    await secret.waitFor({ state: 'visible' });
    expect(await secret.textContent()).toContain('shown this once');
    const value = await page.getByTestId('key-secret-value').inputValue();
    expect(value.length).toBeGreaterThan(20);
    await page.locator('[data-testid="key-row"]', { hasText: 'ci-bot' }).waitFor();
    await screenshotOf(page.locator('#keys'), '15-admin-key-created.png');

    // The key works at once, as the program it was made for.
    const me = await fetch(new URL('me', stack.e2e.stack.urls.api), { headers: { 'x-api-key': value } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { name: string; kind: string; role: string }).name).toBe('ci-bot');

    await page.getByTestId('key-secret-done').click();
    expect(await secret.isVisible()).toBe(false);
    expect(await page.evaluate((v) => document.documentElement.outerHTML.includes(v) || document.body.innerText.includes(v), value)).toBe(
      false,
    );
    expect(await page.getByTestId('key-secret-value').inputValue()).toBe('');
    // Nothing of it in storage, nor after a reload.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(value);
    await page.reload();
    await page.waitForSelector('[data-testid="key-row"]');
    expect(await secret.isVisible()).toBe(false);
    expect(await page.evaluate((v) => document.documentElement.outerHTML.includes(v), value)).toBe(false);

    const row = page.locator('[data-testid="key-row"]', { hasText: 'ci-bot' });
    await row.getByTestId('key-disable').click();
    await waitForTestIdText(page, 'admin-status', 'disabled');
    await page.locator('[data-testid="key-row"]', { hasText: 'ci-bot' }).getByTestId('key-enable').waitFor();
    expect(await page.locator('[data-testid="key-row"]', { hasText: 'ci-bot' }).getByTestId('key-state').textContent()).toBe('disabled');
    // Refused once the authorizer's cached answer (60 s) has run out: the gateway's clock moves past it.
    const later = 61_000;
    stack.e2e.stack.clock.advance(later);
    try {
      const refused = await fetch(new URL('me', stack.e2e.stack.urls.api), { headers: { 'x-api-key': value } });
      expect(refused.status).toBe(401);
    } finally {
      stack.e2e.stack.clock.advance(-later);
    }
    await expectClean(probe);
  }, 120_000);

  it('usage per principal as a chart (and its numbers), in dark mode at a narrow width too; the main page links admins here', async () => {
    const probe = await signedInAdmin();
    const { page } = probe;
    await page.locator('[data-testid="usage-row"]').first().waitFor();
    const bars = await page.locator('[data-testid="usage-chart"] .usage-bar').count();
    expect(bars).toBeGreaterThanOrEqual(2);
    const usageText = (await page.getByTestId('usage-body').textContent()) ?? '';
    expect(usageText).toContain(programName);
    expect(usageText).toContain(personId);
    await screenshotOf(page.locator('#usage'), '16-admin-usage.png');

    await gotoPage(probe, stack);
    await page.getByTestId('admin-link').waitFor({ state: 'visible' });
    await page.getByTestId('admin-link').click();
    await page.waitForURL((url) => url.href === adminUrl());
    await page.waitForSelector('[data-testid="job-row"]');
    await expectClean(probe);

    const dark = await signedInAdmin({ colorScheme: 'dark', viewport: { width: 390, height: 844 } });
    const overflow = await dark.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshotOf(dark.page.locator('#jobs'), '17-admin-dark-narrow.png');
    await expectClean(dark);
  }, 180_000);
});
