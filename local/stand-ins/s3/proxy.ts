/**
 * A small HTTP proxy in front of s3rver that does what s3rver does not: check
 * every request's signature V4 (header or presigned query authentication) and
 * presigned-POST uploads (signature, expiry, key and field conditions,
 * content-length-range) exactly like S3, and answer CORS for the web page
 * (preflights unauthenticated, as in S3). Only what passes reaches s3rver,
 * which refuses anything that did not come through here.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import busboy from 'busboy';
import { listen } from '../../host/ports';
import { verifyPostPolicy } from './post-policy';
import { verifyRequestSignature } from './request-signature';
import { PROXY_TOKEN_HEADER } from './s3rver';

export interface S3ProxyOptions {
  /** Where s3rver listens, and the token it wants from the proxy (s3rver.ts; none for a bare s3rver). */
  upstream: { host: string; port: number; proxyToken?: string };
  /** Secret of each access key id that may sign uploads. */
  secretFor: (accessKeyId: string) => string | undefined;
  /** Origins allowed by the bucket's CORS rules (from the template). */
  allowedOrigins: readonly string[];
  /** Largest request body accepted before the policy is even read. */
  maxBodyBytes: number;
  now?: () => Date;
}

export interface S3Proxy {
  server: Server;
  port: number;
  endpoint: string;
  /** Every POST upload judged, with its verdict (newest last). */
  decisions: { key?: string; status: number; code?: string; message?: string }[];
  /** Every other request refused for its signature (newest last, at most 100). */
  refusals: { method: string; path: string; status: number; code: string }[];
  close(): Promise<void>;
}

function xmlError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  const escaped = message.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
  res.writeHead(status, { 'Content-Type': 'application/xml', ...headers });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escaped}</Message></Error>`);
}

function corsHeaders(req: IncomingMessage, allowed: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !(allowed.includes(origin) || allowed.includes('*'))) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT',
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
    'Access-Control-Expose-Headers': 'ETag, Location',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}

/**
 * s3rver removes a key's emptied parent folders after a delete: two deletes under
 * one prefix at once, or a delete racing a write into the same folder, fail with
 * ENOENT. Deletes therefore run alone; other writes run together.
 */
class WriteLock {
  private writers = 0;
  private deleting = false;
  private readonly waiting: { exclusive: boolean; start: () => void }[] = [];

  acquire(exclusive: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push({ exclusive, start: () => resolve(() => this.release(exclusive)) });
      this.pump();
    });
  }

  private release(exclusive: boolean) {
    if (exclusive) this.deleting = false;
    else this.writers--;
    this.pump();
  }

  private pump() {
    while (this.waiting.length > 0 && !this.deleting) {
      const next = this.waiting[0]!;
      if (next.exclusive && this.writers > 0) return;
      this.waiting.shift();
      if (next.exclusive) this.deleting = true;
      else this.writers++;
      next.start();
    }
  }
}

const WRITES = new Set(['PUT', 'POST', 'DELETE']);

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  options: S3ProxyOptions,
  body?: Buffer,
  extraHeaders: Record<string, string> = {},
  lock?: WriteLock,
) {
  const method = req.method ?? 'GET';
  if (lock && WRITES.has(method)) {
    void lock.acquire(method === 'DELETE' || (method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? ''))).then((release) => {
      let released = false;
      const done = () => {
        if (!released) {
          released = true;
          release();
        }
      };
      res.once('close', done);
      res.once('finish', done);
      forward(req, res, options, body, extraHeaders);
    });
    return;
  }
  const upstream = httpRequest(
    {
      host: options.upstream.host,
      port: options.upstream.port,
      method: req.method,
      path: req.url,
      headers: {
        ...req.headers,
        host: `${options.upstream.host}:${options.upstream.port}`,
        ...(options.upstream.proxyToken ? { [PROXY_TOKEN_HEADER]: options.upstream.proxyToken } : {}),
      },
    },
    (response) => {
      // Node stamps Date from the real clock; restate it from ours so that when the clock is
      // moved (tests, expiry checks) the SDK's clock-skew correction does not kick in.
      const date = (options.now?.() ?? new Date()).toUTCString();
      res.writeHead(response.statusCode ?? 502, { ...response.headers, date, ...extraHeaders });
      response.pipe(res);
    },
  );
  upstream.on('error', (error) => xmlError(res, 502, 'BadGateway', `local S3 is not answering: ${error.message}`));
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

/** Reads the whole body, refusing more than `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Parses a multipart form: its fields and the size of its `file` part. */
function parseForm(
  headers: IncomingMessage['headers'],
  body: Buffer,
): Promise<{ fields: Record<string, string>; fileSize: number; hasFile: boolean }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let fileSize = 0;
    let hasFile = false;
    const parser = busboy({ headers, limits: { fields: 50, fieldSize: 64 * 1024, files: 1 } });
    parser.on('field', (name, value) => {
      // S3 ignores fields that come after the file.
      if (!hasFile) fields[name] = value;
    });
    parser.on('file', (_name, stream) => {
      hasFile = true;
      stream.on('data', (chunk: Buffer) => {
        fileSize += chunk.length;
      });
    });
    parser.on('close', () => resolve({ fields, fileSize, hasFile }));
    parser.on('error', reject);
    parser.end(body);
  });
}

type Decisions = S3Proxy['decisions'];

async function handlePost(
  req: IncomingMessage,
  res: ServerResponse,
  options: S3ProxyOptions,
  cors: Record<string, string>,
  decisions: Decisions,
  lock: WriteLock,
) {
  const bucket = decodeURIComponent((req.url ?? '/').split('?')[0]!.split('/')[1] ?? '');
  const body = await readBody(req, options.maxBodyBytes);
  if (!body) {
    decisions.push({ status: 400, code: 'EntityTooLarge' });
    return xmlError(res, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', cors);
  }
  let form: Awaited<ReturnType<typeof parseForm>>;
  try {
    form = await parseForm(req.headers, body);
  } catch (error) {
    return xmlError(
      res,
      400,
      'MalformedPOSTRequest',
      `The body of your POST request is not well-formed multipart/form-data: ${(error as Error).message}`,
      cors,
    );
  }
  if (!form.hasFile) return xmlError(res, 400, 'InvalidArgument', 'POST requires exactly one file upload per request.', cors);
  const verdict = verifyPostPolicy({
    fields: form.fields,
    bucket,
    fileSize: form.fileSize,
    secretFor: options.secretFor,
    now: options.now?.(),
  });
  const key = form.fields.key ?? form.fields.Key;
  if (!verdict.ok) {
    const sizeProblem = verdict.message.includes('content-length-range');
    const code = sizeProblem ? (form.fileSize > 0 ? 'EntityTooLarge' : 'EntityTooSmall') : verdict.code;
    const status = sizeProblem ? 400 : verdict.status;
    decisions.push({ key, status, code, message: verdict.message });
    return xmlError(res, status, code, verdict.message, cors);
  }
  decisions.push({ key, status: 204 });
  forward(req, res, options, body, cors, lock);
}

export async function startS3Proxy(port: number, options: S3ProxyOptions): Promise<S3Proxy> {
  const decisions: Decisions = [];
  const refusals: S3Proxy['refusals'] = [];
  const lock = new WriteLock();
  const server = createServer((req, res) => {
    const cors = corsHeaders(req, options.allowedOrigins);
    if (req.method === 'OPTIONS') {
      res.writeHead(Object.keys(cors).length > 0 ? 200 : 403, cors);
      res.end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    // A browser-style upload: POST to the bucket root with a multipart form (media types are case-insensitive).
    if (
      req.method === 'POST' &&
      /^\/[^/]+\/?$/.test(path) &&
      (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data')
    ) {
      handlePost(req, res, options, cors, decisions, lock).catch((error: Error) =>
        xmlError(res, 500, 'InternalError', error.message, cors),
      );
      return;
    }
    const refuse = (status: number, code: string, message: string) => {
      refusals.push({ method: req.method ?? 'GET', path, status, code });
      if (refusals.length > 100) refusals.shift();
      req.resume();
      xmlError(res, status, code, message, cors);
    };
    verifyRequestSignature({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      secretFor: options.secretFor,
      now: options.now?.(),
    })
      .then(async (verdict) => {
        if (!verdict.ok) return refuse(verdict.status, verdict.code, verdict.message);
        // A signature over a stated payload hash covers the body only if the body has that hash (S3 checks it too).
        const stated = String(req.headers['x-amz-content-sha256'] ?? '');
        if (typeof req.headers.authorization !== 'string' || !/^[0-9a-f]{64}$/.test(stated)) {
          return forward(req, res, options, undefined, cors, lock);
        }
        const body = await readBody(req, options.maxBodyBytes);
        if (!body) return refuse(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        if (createHash('sha256').update(body).digest('hex') !== stated) {
          return refuse(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        forward(req, res, options, body, cors, lock);
      })
      .catch((error: Error) => xmlError(res, 500, 'InternalError', error.message, cors));
  });
  const actualPort = await listen(server, port, 'local S3 (policy proxy)');
  return {
    server,
    port: actualPort,
    endpoint: `http://127.0.0.1:${actualPort}`,
    decisions,
    refusals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
