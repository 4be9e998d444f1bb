/**
 * The web page for local mode: the built page (web/dist, or its staged copy in
 * cdk.out) plus the config.json that the deployment would write, pointing at
 * the local API and carrying the local web key. Every response carries the
 * headers the deployed site's CloudFront policy adds (local/host/site-headers.ts
 * derives them from the template). Until the page is built, `/` says so
 * instead of pretending.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { closeServer, listen } from '../host/ports';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface StaticSite {
  server: Server;
  port: number;
  url: string;
  /** Sets what is served (the site starts before the API it points at exists); `headers` per request path. */
  configure(content: { roots: string[]; config: Record<string, unknown>; headers?: (path: string) => Record<string, string> }): void;
  close(): Promise<void>;
}

export async function startStaticSite(port: number): Promise<StaticSite> {
  let roots: string[] | undefined;
  let configJson = '';
  let siteHeaders: (path: string) => Record<string, string> = () => ({});
  const server = createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    // Until configured: nothing is served but a plain notice, never sniffed.
    const headers = { 'Cache-Control': 'no-store', ...(roots ? siteHeaders(pathname) : { 'X-Content-Type-Options': 'nosniff' }) };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    if (!roots) {
      res.writeHead(503, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' });
      res.end('k2p-web local mode is starting…\n');
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      res.writeHead(400, headers);
      res.end();
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.json']! });
      res.end(req.method === 'HEAD' ? undefined : configJson);
      return;
    }
    const relative = normalize(path.endsWith('/') ? `${path}index.html` : path).replace(/^([/\\])+/, '');
    for (const root of roots) {
      const file = join(root, relative);
      // Never serve outside the site's folder.
      if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) break;
      if (existsSync(file) && statSync(file).isFile()) {
        res.writeHead(200, {
          ...headers,
          'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Length': statSync(file).size,
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
        return;
      }
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.html']! });
      res.end(
        '<!doctype html><meta charset="utf-8"><title>k2p-web (local)</title>' +
          '<p>The web page is not built yet (no <code>web/dist/index.html</code>). The API is running: see <a href="/config.json">config.json</a> ' +
          'for its URL and key, or use <code>k2p-web convert</code>.</p>',
      );
      return;
    }
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
  });
  const bound = await listen(server, port, 'web page');
  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}/`,
    configure(content) {
      roots = content.roots;
      configJson = JSON.stringify(content.config, null, 2);
      siteHeaders = content.headers ?? (() => ({}));
    },
    close: () => closeServer(server),
  };
}
