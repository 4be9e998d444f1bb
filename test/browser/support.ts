/**
 * Browser test harness: Debian's Chromium driven by playwright-core (never a
 * downloaded browser, see TOOLING-NOTES), the page built with buildWeb() and
 * served by local mode (test/e2e/support.ts, knime2py contract double),
 * under the headers it sends: the synthesized CloudFront policy's (CSP included).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { buildWeb } from '../../web/build';
import type { LocalStackOptions } from '../../local/host/local-stack';
import { CONTRACT_DOUBLE_ENV, startE2e, type E2e } from '../e2e/support';

/** Debian's Chromium; K2P_CHROMIUM points elsewhere (or at nothing, to see the suite skip). */
export const CHROMIUM = process.env.K2P_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const SKIP_MESSAGE = 'SKIPPED: browser tests need Chromium (apt-get install -y chromium)';
export const ROOT = join(import.meta.dirname, '..', '..');
/**
 * Where screenshots go: the README's docs/screenshots/ only when asked
 * (`UPDATE_SCREENSHOTS=1`), so a test run leaves the working tree clean.
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'k2p-web-screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export interface WebStack {
  e2e: E2e;
  webUrl: string;
  close(): Promise<void>;
}

/** Local mode for the page; `options` as startE2e's (e.g. `anonymousAccess: false` for the organisation setting). */
export async function startWebStack(options: Partial<LocalStackOptions> = {}): Promise<WebStack> {
  // Local mode serves web/dist only if it exists when the stack starts.
  await buildWeb();
  const e2e = await startE2e(CONTRACT_DOUBLE_ENV, options);
  // The page is served with the site's real headers, read by local mode from the synthesized CloudFront policy.
  return { e2e, webUrl: e2e.stack.urls.web, close: () => e2e.close() };
}

export interface PageProbe {
  page: Page;
  context: BrowserContext;
  /** CSP violations and uncaught exceptions seen so far: a test ends with none. */
  problems: string[];
  /** Requests the page sent to POST /jobs. */
  jobCreations: string[];
}

/** A fresh context (own storage, no cookies) whose page, served with the site's CSP, is watched for violations. */
export async function openPage(
  browser: Browser,
  stack: WebStack,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<PageProbe> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    acceptDownloads: true,
    // Chromium's Local Network Access may ask before a page calls 127.0.0.1 services on other ports;
    // in production, where page and API are both public, the permission is never asked for.
    permissions: ['local-network-access'],
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const w = window as unknown as { __csp?: string[] };
      (w.__csp ??= []).push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const probe: PageProbe = { page, context, problems: [], jobCreations: [] };
  page.on('pageerror', (error) => probe.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) probe.problems.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/jobs$/.test(new URL(request.url()).pathname)) probe.jobCreations.push(request.url());
  });
  return probe;
}

/** Loads the page (optionally with a query) and waits until its controller is wired. */
export async function gotoPage(probe: PageProbe, stack: WebStack, query = ''): Promise<void> {
  await probe.page.goto(`${stack.webUrl}${query}`);
  await probe.page.waitForSelector('html[data-ready="true"]');
}

/** The problems of a page, CSP violations reported inside it included. */
export async function problemsOf(probe: PageProbe): Promise<string[]> {
  const inPage = await probe.page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => []);
  return [...probe.problems, ...inPage.map((v) => `CSP violation: ${v}`)];
}

export async function waitForTestIdText(page: Page, testId: string, text: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const pattern = typeof text === 'string' ? text : text.source;
  const flags = typeof text === 'string' ? '' : text.flags;
  await page.waitForFunction(
    ({ testId, pattern, flags, literal }) => {
      const content = document.querySelector(`[data-testid="${testId}"]`)?.textContent ?? '';
      return literal ? content.includes(pattern) : new RegExp(pattern, flags).test(content);
    },
    { testId, pattern, flags, literal: typeof text === 'string' },
    { timeout: timeoutMs, polling: 100 },
  );
  return (await page.getByTestId(testId).textContent()) ?? '';
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, name);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** One part of a page (a section, a panel) rather than the whole page. */
export async function screenshotOf(part: Locator, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, name);
  await part.screenshot({ path, animations: 'disabled' });
  return path;
}

/** A scratch copy of a sample folder to modify; removed by the returned cleanup. */
export function copySample(samplesDir: string, sample: string, scratch: string, name = sample): string {
  const target = join(scratch, name);
  cpSync(join(samplesDir, sample), target, { recursive: true });
  return target;
}

export function writeFile(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** Asks the contract double for a failure mode through the workflow itself (the runner's env is not ours to set). */
export function setDoubleMode(workflowFolder: string, mode: string): void {
  const path = join(workflowFolder, 'workflow.knime');
  const xml = readFileSync(path, 'utf8');
  if (!xml.includes('<config key="nodes">')) throw new Error(`${path} has no nodes config`);
  writeFileSync(
    path,
    xml.replace('<config key="nodes">', `<entry key="k2p-double-mode" type="xstring" value="${mode}"/>\n<config key="nodes">`),
  );
}

export function scratchDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'k2p-browser-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
