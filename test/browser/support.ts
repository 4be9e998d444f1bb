/**
 * Browser test harness: Debian's Chromium driven by playwright-core (never a
 * downloaded browser, see TOOLING-NOTES), the page built with buildWeb() and
 * served by local mode (test/e2e/support.ts, knime2py contract double),
 * under the production Content-Security-Policy of lib/website.ts.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
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
  /** The CSP CloudFront sends, with this stack's origins. */
  csp: string;
  close(): Promise<void>;
}

/** Local mode for the page; `options` as startE2e's (e.g. `anonymousAccess: false` for the organisation setting). */
export async function startWebStack(options: Partial<LocalStackOptions> = {}): Promise<WebStack> {
  // Local mode serves web/dist only if it exists when the stack starts.
  await buildWeb();
  const e2e = await startE2e(CONTRACT_DOUBLE_ENV, options);
  const { contentSecurityPolicy } = await import('../../lib/website');
  const csp = contentSecurityPolicy({
    apiOrigin: new URL(e2e.stack.urls.api).origin,
    uploadOrigin: new URL(e2e.stack.urls.s3).origin,
    // The page reaches the local OpenID provider for discovery and tokens, as the deployed one reaches Cognito.
    signInOrigins: [new URL(e2e.stack.identity.issuer).origin],
  })
    .split('; ')
    // Local mode is plain http on 127.0.0.1: upgrading would break every request.
    .filter((directive) => directive !== 'upgrade-insecure-requests')
    .join('; ');
  return { e2e, webUrl: e2e.stack.urls.web, csp, close: () => e2e.close() };
}

export interface PageProbe {
  page: Page;
  context: BrowserContext;
  /** CSP violations and uncaught exceptions seen so far: a test ends with none. */
  problems: string[];
  /** Requests the page sent to POST /jobs. */
  jobCreations: string[];
}

/** A fresh context (own storage, no cookies) whose page gets the production CSP and is watched for violations. */
export async function openPage(
  browser: Browser,
  stack: WebStack,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<PageProbe> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    acceptDownloads: true,
    // A document fulfilled by interception has no IP address, so Chromium's Local Network Access
    // counts it as public and blocks its calls to 127.0.0.1. Without interception (and in
    // production, where page and API are both public) the permission is never asked for.
    permissions: ['local-network-access'],
  });
  await context.route(`${stack.webUrl}**`, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': stack.csp } });
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
