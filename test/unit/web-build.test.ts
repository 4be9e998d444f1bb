/** The page build: hashed assets, a page the strict CSP allows (no inline script or style), within the weight goal, and idempotent. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWeb, stampPath } from '../../web/build';

const outDir = mkdtempSync(join(tmpdir(), 'k2p-web-build-'));
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(stampPath(outDir), { force: true });
});

describe('buildWeb', () => {
  it('writes index.html pointing at minified, hashed assets within 150 KB gzip, then skips an unchanged rebuild', async () => {
    const first = await buildWeb({ outDir, force: true });
    expect(first.built).toBe(true);
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const script = /<script type="module" src="\.\/(app-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1];
    const styles = /<link rel="stylesheet" href="\.\/(styles-[A-Z0-9]+\.css)" ?\/?>/.exec(html)?.[1];
    expect(script && existsSync(join(outDir, script))).toBe(true);
    expect(styles && existsSync(join(outDir, styles))).toBe(true);
    expect(existsSync(join(outDir, 'favicon.svg'))).toBe(true);
    expect(existsSync(join(outDir, 'config.json'))).toBe(false);
    expect(first.gzipBytes).toBeLessThan(150 * 1024);

    const second = await buildWeb({ outDir });
    expect(second.built).toBe(false);
    expect(second.assets).toEqual(first.assets);
  });

  it('produces a page the CSP (script-src/style-src self, no eval) accepts', async () => {
    await buildWeb({ outDir });
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i); // no inline style or handler
    expect(html).not.toMatch(/https?:\/\/(?!github\.com)/); // nothing from a CDN
    const js = readFileSync(join(outDir, /src="\.\/(app-[^"]+)"/.exec(html)![1]!), 'utf8');
    expect(js).not.toMatch(/\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('builds the admin page the same way: its own hashed script, the shared styles, nothing inline', async () => {
    await buildWeb({ outDir });
    const html = readFileSync(join(outDir, 'admin.html'), 'utf8');
    const script = /<script type="module" src="\.\/(admin-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1];
    expect(script && existsSync(join(outDir, script))).toBe(true);
    expect(html).toContain(/href="\.\/(styles-[A-Z0-9]+\.css)"/.exec(readFileSync(join(outDir, 'index.html'), 'utf8'))![1]);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);
    const js = readFileSync(join(outDir, script!), 'utf8');
    expect(js).not.toMatch(/\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
