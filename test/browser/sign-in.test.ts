/**
 * People on the page, in Debian's Chromium against local mode with anonymous access OFF (the organisation setting):
 * the real sign-in through the local OpenID provider's login form (code + PKCE), a conversion, the person's jobs in
 * "Recent jobs" from another browser context, never another person's, and a sign-out that ends the provider session.
 * Under the production CSP (connect-src with the sign-in origins; no frames, no eval).
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcAccount } from '../../local/stand-ins/oidc';
import { SAMPLES_DIR } from '../support/zip-builder';
import {
  gotoPage,
  HAS_CHROMIUM,
  launchChromium,
  openPage,
  problemsOf,
  screenshot,
  startWebStack,
  waitForTestIdText,
  type PageProbe,
  type WebStack,
} from './support';

/** Where the page keeps its sign-in state: this tab's session storage, under this prefix (web/src/sign-in.ts). */
const SIGN_IN_PREFIX = 'k2p-web.sign-in.';

describe.skipIf(!HAS_CHROMIUM)('signing in on the page (local mode, anonymous access off)', () => {
  let stack: WebStack;
  let browser: Browser;
  let user: OidcAccount;
  let user2: OidcAccount;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack({ anonymousAccess: false }), launchChromium()]);
    const accounts = stack.e2e.stack.identity.accounts;
    user = accounts.find((account) => account.login === 'user')!;
    user2 = accounts.find((account) => account.login === 'user2')!;
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function expectClean(probe: PageProbe): Promise<void> {
    expect(await problemsOf(probe)).toEqual([]);
    await probe.context.close();
  }

  /** Clicks "Sign in", fills the provider's login form, and waits until the page is back and signed in. */
  async function signIn(page: Page, account: OidcAccount, button = 'sign-in-button'): Promise<void> {
    await page.getByTestId(button).click();
    await page.waitForURL((url) => url.href.startsWith(stack.e2e.stack.identity.issuer));
    await page.getByLabel('User name').fill(account.login);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href.startsWith(stack.webUrl));
    await page.waitForSelector('html[data-ready="true"]');
    await waitForTestIdText(page, 'account', `Signed in as ${account.name}`);
  }

  async function recentJobIds(page: Page): Promise<string[]> {
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-testid="recent-status"]')?.textContent ?? ''));
    return page
      .locator('#recent-list a')
      .evaluateAll((links) => links.map((a) => new URLSearchParams(a.getAttribute('href') ?? '').get('job') ?? ''));
  }

  it('signed out, explains and offers only "Sign in": no conversion controls, no key in config.json', async () => {
    const probe = await openPage(browser, stack);
    const { page } = probe;
    await gotoPage(probe, stack);
    expect(await page.getByTestId('sign-in-needed').isVisible()).toBe(true);
    expect(await page.locator('#pick').isVisible()).toBe(false);
    expect(await page.locator('#folder-button').isVisible()).toBe(false);
    expect(await page.getByTestId('trial-note').isVisible()).toBe(false);
    expect(await page.getByTestId('sign-in-button').isVisible()).toBe(true);
    const config = (await (await fetch(new URL('config.json', stack.webUrl))).json()) as Record<string, unknown>;
    expect(config.anonymousAccess).toBe(false);
    expect(config.apiKey).toBeUndefined();
    // Keyboard: past the skip link, the header's "Sign in" comes first.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-button');
    await screenshot(page, '10-sign-in-needed.png');
    await expectClean(probe);
  });

  it('signs in as the seeded user, converts a sample, and finds it in Recent jobs from a second browser; the other user does not', async () => {
    const first = await openPage(browser, stack);
    await gotoPage(first, stack);
    await signIn(first.page, user, 'sign-in-main');
    const { page } = first;
    expect(await page.getByTestId('sign-in-needed').isVisible()).toBe(false);
    expect(await page.getByTestId('auth-status').textContent()).toBe(`Signed in as ${user.name}.`);
    // Tokens in this tab's session storage only: nothing in local storage, no cookie of the page's own.
    const stored = await page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: Object.keys(sessionStorage) }));
    expect(stored.local).not.toMatch(/eyJ/);
    expect(stored.session.some((key) => key.startsWith('k2p-web.sign-in.user:'))).toBe(true);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    const bearerCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(stack.e2e.stack.urls.api)) {
        const headers = request.headers();
        bearerCalls.push(`${/^Bearer ey/.test(headers.authorization ?? '') ? 'bearer' : 'none'} ${headers['x-api-key'] ? 'key' : 'nokey'}`);
      }
    });
    await page.getByTestId('folder-input').setInputFiles(join(SAMPLES_DIR, 'KNIME_single_csv'));
    await page.waitForSelector('#review[data-state="ready"]');
    await page.getByTestId('convert-button').click();
    await waitForTestIdText(page, 'job-status', 'SUCCEEDED', 90_000);
    await page.waitForSelector('#result[data-state="ready"]');
    const jobId = new URL(page.url()).searchParams.get('job')!;
    expect(await recentJobIds(page)).toContain(jobId);
    expect(await page.locator('#job-link-scope').textContent()).toBe('works wherever you sign in');
    expect(bearerCalls.length).toBeGreaterThan(2);
    expect(new Set(bearerCalls.filter((call) => !call.startsWith('none nokey')))).toEqual(new Set(['bearer nokey']));
    await screenshot(page, '11-signed-in-result.png');

    // A second browser (own storage, own provider cookies), the same person: the job is listed from GET /jobs.
    const second = await openPage(browser, stack);
    await gotoPage(second, stack);
    await signIn(second.page, user);
    expect(await recentJobIds(second.page)).toContain(jobId);
    expect(await second.page.locator('#recent-note').textContent()).toContain('every browser');
    await second.page.click(`#recent-list a[href="?job=${jobId}"]`);
    await second.page.waitForSelector('#result[data-state="ready"]');
    await screenshot(second.page, '12-recent-jobs-other-browser.png');
    await expectClean(second);

    // Another person sees none of it, and cannot open it by its id (404, as for any stranger).
    const other = await openPage(browser, stack);
    await gotoPage(other, stack);
    await signIn(other.page, user2);
    expect(await recentJobIds(other.page)).not.toContain(jobId);
    await gotoPage(other, stack, `?job=${jobId}`);
    expect(await other.page.getByTestId('account').textContent()).toContain(user2.name);
    await waitForTestIdText(other.page, 'error-code', 'NOT_FOUND');
    await expectClean(other);
    await expectClean(first);
  }, 240_000);

  it('signs out: the tokens are gone, the provider session has ended and its refresh token no longer works', async () => {
    const probe = await openPage(browser, stack);
    const { page } = probe;
    await gotoPage(probe, stack);
    await signIn(page, user);
    const refreshToken = await page.evaluate((prefix) => {
      const key = Object.keys(sessionStorage).find((k) => k.startsWith(`${prefix}user:`))!;
      return (JSON.parse(sessionStorage.getItem(key)!) as { refresh_token: string }).refresh_token;
    }, SIGN_IN_PREFIX);
    expect(refreshToken).toBeTruthy();

    await page.getByTestId('sign-out-button').click();
    await page.waitForURL((url) => url.href.startsWith(stack.e2e.stack.identity.issuer));
    await page.getByRole('button', { name: /yes, sign me out/i }).click();
    await page.waitForURL((url) => url.href.startsWith(stack.webUrl));
    await page.waitForSelector('html[data-ready="true"]');
    expect(new URL(page.url()).search).toBe('');
    await waitForTestIdText(page, 'auth-status', 'You are signed out.');
    expect(await page.getByTestId('sign-in-needed').isVisible()).toBe(true);
    expect(await page.locator('#pick').isVisible()).toBe(false);
    expect(await page.getByTestId('sign-out-button').isVisible()).toBe(false);
    expect(
      await page.evaluate((prefix) => Object.keys(sessionStorage).filter((k) => k.startsWith(`${prefix}user:`)), SIGN_IN_PREFIX),
    ).toEqual([]);
    const refreshed = await fetch(`${stack.e2e.stack.identity.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: stack.e2e.stack.identity.clientId,
      }).toString(),
    });
    expect(((await refreshed.json()) as { error?: string }).error).toBe('invalid_grant');

    // Signing in again needs the password: the provider's session ended too.
    await page.getByTestId('sign-in-button').click();
    await page.waitForURL((url) => url.href.startsWith(stack.e2e.stack.identity.issuer));
    expect(await page.getByLabel('Password').isVisible()).toBe(true);
    await expectClean(probe);
  }, 120_000);
});
