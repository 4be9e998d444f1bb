/**
 * TEST DOUBLE of the k2p-web jobs API (docs/openapi.yaml) for client and CLI
 * tests: a small HTTP server on 127.0.0.1 with the documented routes, the
 * error envelope, Retry-After, Idempotency-Key replay, pagination and API-key
 * ownership, plus a stand-in for S3 (presigned POST upload with XML errors,
 * presigned GET of result.zip). It is not the service: jobs move one stage per
 * GET /jobs/{id} once their bundle has arrived, ending in a scripted outcome.
 * Every API response it sends is checked against docs/openapi.yaml and
 * problems are collected in `violations`, so the double cannot drift from
 * the contract unnoticed.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { zipSync } from 'fflate';
import { CreateJobRequestSchema, JOB_WAIT_HEADER, resultFilename, workflowNameFromFilename, type JobView } from '../../core/api-schemas';
import { ERRORS, type ErrorCode } from '../../core/errors';
import type { JobStatus } from '../../core/job-states';
import type { ComponentSummary } from '../../core/types';
import { checkResponse, loadOpenApi } from '../support/openapi-check';
import { createAdminState, handleAdmin, type AdminDoubleState } from './admin-api-double';

export type Outcome =
  | { status: 'SUCCEEDED'; components?: ComponentSummary[] }
  | { status: 'REJECTED' | 'FAILED' | 'TIMED_OUT'; error: { code: ErrorCode; message?: string; details?: Record<string, unknown> } }
  | { status: 'EXPIRED' };

/** One scripted misbehaviour, used once by the first matching request. */
export interface Fault {
  method: string;
  path: RegExp;
  /** reset: close the connection without an answer; afterHandling: do the work, then reset (a lost answer). */
  kind: 'reset' | 'afterHandling' | { status: number; body?: string; headers?: Record<string, string> };
}

export interface DoubleJob {
  view: JobView;
  owner: string;
  outcome: Outcome;
  bundle?: Buffer;
  uploadFields?: [string, string][];
  polls: number;
}

export interface JobsApiDouble {
  url: string;
  /** API keys it accepts (each is its own owner). */
  keys: string[];
  /** API keys with role admin: the only ones the /admin routes (admin-api-double.ts) answer. */
  adminKeys: string[];
  /** The admin routes' keys, people and audit trail. */
  admin: AdminDoubleState;
  /** Bearer tokens it accepts → the person each stands for (the owner; tokens of one person share their jobs). */
  bearerTokens: Map<string, string>;
  jobs: Map<string, DoubleJob>;
  requests: { method: string; path: string; apiKey?: string; bearer?: boolean; idempotencyKey?: string; waitSeconds?: string }[];
  /** Answers to POST /jobs refused for capacity, used in order. */
  refusals: { code: 'SERVER_BUSY' | 'RATE_LIMITED'; retryAfter?: number; details?: Record<string, unknown> }[];
  /** Outcomes of the next jobs created, in order (default SUCCEEDED). */
  outcomes: Outcome[];
  faults: Fault[];
  /** Upload size limit of the presigned POST. */
  maxBytes: number;
  /** Seconds of Retry-After on GET /jobs/{id} while a job moves. */
  pollAfterSeconds: number;
  /** Contract problems found in the responses it sent. */
  violations: string[];
  /** Honour GET /jobs/{id}?waitSeconds (answer with K2p-Waited-Seconds) like the service; false: a server from before the long poll. */
  longPoll: boolean;
  /** While true, GET /jobs/{id} does not move jobs on (a held poll then ends without news). */
  frozen: boolean;
  /** Called before each GET /jobs/{id} is answered. */
  onPoll?: (job: DoubleJob) => void;
  /** Called when any request arrives, before faults and routing. */
  onRequest?: (method: string, path: string) => void;
  close(): Promise<void>;
}

export const DOUBLE_KEY = 'k2p-test-key-0123456789abcdef';
export const OTHER_KEY = 'k2p-other-key-fedcba9876543210';
export const ADMIN_KEY = 'k2p-admin-key-0a1b2c3d4e5f6789';

const NEXT: Partial<Record<JobStatus, JobStatus>> = { VALIDATING: 'QUEUED', QUEUED: 'RUNNING' };
const openapi = loadOpenApi();

export async function startJobsApiDouble(options: { now?: () => number } = {}): Promise<JobsApiDouble> {
  const now = options.now ?? Date.now;
  const state: JobsApiDouble = {
    url: '',
    keys: [DOUBLE_KEY, OTHER_KEY],
    adminKeys: [ADMIN_KEY],
    admin: createAdminState(),
    bearerTokens: new Map(),
    jobs: new Map(),
    requests: [],
    refusals: [],
    outcomes: [],
    faults: [],
    maxBytes: 50 * 1024 * 1024,
    pollAfterSeconds: 1,
    longPoll: false,
    frozen: false,
    violations: [],
    close: async () => {},
  };
  const idempotency = new Map<string, string>();
  let sequence = 0;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: `test double failed: ${error.message}`, requestId: 'req-double' } }),
      );
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    state.requests.push({
      method,
      path: url.pathname,
      apiKey: header(req, 'x-api-key'),
      ...(header(req, 'authorization') !== undefined ? { bearer: true } : {}),
      idempotencyKey: header(req, 'idempotency-key'),
      ...(url.searchParams.has('waitSeconds') ? { waitSeconds: url.searchParams.get('waitSeconds')! } : {}),
    });
    state.onRequest?.(method, url.pathname);
    const fault = takeFault(method, url.pathname);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault && typeof fault.kind === 'object') {
      res.writeHead(fault.kind.status, fault.kind.headers ?? { 'content-type': 'text/html' });
      return void res.end(fault.kind.body ?? '<html>Bad Gateway</html>');
    }
    if (fault?.kind === 'afterHandling') {
      // Do the work, then lose the answer: what a client sees when a connection drops at the wrong moment.
      const sink = lostAnswer(res);
      await route(req, sink, url, method);
      return void req.socket.destroy();
    }
    await route(req, res, url, method);
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const index = state.faults.findIndex((f) => f.method === method && f.path.test(path));
    return index < 0 ? undefined : state.faults.splice(index, 1)[0];
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const path = url.pathname;
    if (method === 'POST' && path === '/upload') return upload(req, res);
    if (method === 'GET' && path.startsWith('/results/')) return serveResult(res, path.slice('/results/'.length));
    if (method === 'GET' && path === '/health')
      return api(res, 'GET', '/health', 200, { status: 'ok', version: '0.1.0', converter: { image: null, version: '0.1.11' } });
    const owner = ownerOf(req);
    if (!owner) return apiError(res, method, templateOf(path), 'UNAUTHORIZED', 'An API key is required.');
    if (path.startsWith('/admin/')) return handleAdmin(adminContext(), req, res, url, method, owner);
    if (path === '/jobs' && method === 'POST') return createJob(req, res, owner);
    if (path === '/jobs' && method === 'GET') return listJobs(res, url, owner);
    // Each key is its own program principal; the id is not the key value, which is never echoed.
    if (path === '/me' && method === 'GET')
      return api(res, 'GET', '/me', 200, {
        id: principalOf(owner),
        name: 'double-user',
        kind: 'program',
        role: state.adminKeys.includes(owner) ? 'admin' : 'user',
      });
    const match = /^\/jobs\/([^/]+)(\/result|\/logs)?$/.exec(path);
    if (!match) return apiError(res, method, '/jobs/{id}', 'NOT_FOUND', 'No such route: check the method and the path.');
    const job = state.jobs.get(decodeURIComponent(match[1]!));
    const template = match[2] ? `/jobs/{id}${match[2]}` : '/jobs/{id}';
    if (!job || job.owner !== owner) return apiError(res, method, template, 'NOT_FOUND');
    if (match[2] === '/logs' && method === 'GET') return logs(res, job);
    if (match[2] && method === 'GET') return result(res, url, job);
    if (method === 'GET') return getJob(res, job, url.searchParams.get('waitSeconds'));
    if (method === 'DELETE') return deleteJob(res, job);
    return apiError(res, method, template, 'NOT_FOUND', 'No such route: check the method and the path.');
  }

  async function createJob(req: IncomingMessage, res: ServerResponse, owner: string): Promise<void> {
    const text = await readText(req);
    let body: unknown;
    try {
      body = text.trim() ? JSON.parse(text) : {};
    } catch {
      return apiError(res, 'POST', '/jobs', 'INVALID_REQUEST', 'The request body is not valid JSON.');
    }
    const parsed = CreateJobRequestSchema.safeParse(body);
    if (!parsed.success)
      return apiError(res, 'POST', '/jobs', 'INVALID_REQUEST', undefined, { issues: parsed.error.issues.map((i) => i.message) });
    const request = parsed.data;
    const key = header(req, 'idempotency-key');
    const replayOf = key ? idempotency.get(`${owner}\n${key}`) : undefined;
    if (replayOf) {
      const job = state.jobs.get(replayOf)!;
      const upload = job.view.status === 'AWAITING_UPLOAD' ? ticket(job.view.jobId) : undefined;
      return api(
        res,
        'POST',
        '/jobs',
        201,
        { job: job.view, ...(upload ? { upload } : {}) },
        { Location: `/jobs/${job.view.jobId}`, 'Idempotent-Replayed': 'true' },
      );
    }
    if (request.sizeBytes !== undefined && request.sizeBytes > state.maxBytes) {
      return apiError(
        res,
        'POST',
        '/jobs',
        'BUNDLE_TOO_LARGE',
        `The bundle is ${request.sizeBytes} bytes; the upload limit is ${state.maxBytes} bytes.`,
      );
    }
    const refusal = state.refusals.shift();
    if (refusal) return apiError(res, 'POST', '/jobs', refusal.code, undefined, refusal.details, refusal.retryAfter);
    const jobId = `job${String(++sequence).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
    const created = iso(now() + sequence); // distinct createdAt, so "newest first" is well defined
    const view: JobView = {
      jobId,
      status: 'AWAITING_UPLOAD',
      terminal: false,
      workflowName: workflowNameFromFilename(request.filename),
      ...(request.filename ? { filename: request.filename } : {}),
      options: { workbook: request.options?.workbook ?? 'both', graph: request.options?.graph ?? 'both' },
      createdAt: created,
      updatedAt: created,
      uploadExpiresAt: iso(now() + 15 * 60_000),
      durationsMs: {},
      retryAfterSeconds: state.pollAfterSeconds,
    };
    state.jobs.set(jobId, { view, owner, outcome: state.outcomes.shift() ?? { status: 'SUCCEEDED' }, polls: 0 });
    if (key) idempotency.set(`${owner}\n${key}`, jobId);
    api(res, 'POST', '/jobs', 201, { job: view, upload: ticket(jobId) }, { Location: `/jobs/${jobId}` });
  }

  function ticket(jobId: string) {
    return {
      url: `${state.url}/upload`,
      fields: {
        key: `bundles/${jobId}/bundle.zip`,
        'Content-Type': 'application/zip',
        Policy: 'eyJkb3VibGUiOnRydWV9',
        'X-Amz-Signature': 'f4k3',
      },
      expiresAt: iso(now() + 15 * 60_000),
      maxBytes: state.maxBytes,
    };
  }

  function getJob(res: ServerResponse, job: DoubleJob, waitSeconds: string | null): void {
    state.onPoll?.(job);
    job.polls += 1;
    if (!state.frozen) advance(job);
    const headers: Record<string, string> = job.view.terminal ? {} : { 'Retry-After': String(state.pollAfterSeconds) };
    if (state.longPoll && waitSeconds !== null) headers[JOB_WAIT_HEADER] = waitSeconds;
    api(res, 'GET', '/jobs/{id}', 200, job.view, headers);
  }

  /** One stage per poll once the bundle is in: VALIDATING → QUEUED → RUNNING → the scripted outcome. */
  function advance(job: DoubleJob): void {
    const view = job.view;
    if (view.terminal || view.status === 'AWAITING_UPLOAD') return;
    const at = iso(now());
    const next = NEXT[view.status];
    if (next === 'QUEUED' && job.outcome.status === 'REJECTED') return finish(job, at);
    if (next) {
      set(view, { status: next, updatedAt: at, ...(next === 'QUEUED' ? { queuedAt: at } : { startedAt: at }) });
      view.durationsMs = { upload: 200, validation: 800, ...(next === 'RUNNING' ? { queue: 100 } : {}) };
      return;
    }
    finish(job, at);
  }

  function finish(job: DoubleJob, at: string): void {
    const view = job.view;
    const outcome = job.outcome;
    set(view, { status: outcome.status, terminal: true, updatedAt: at, finishedAt: at, retryAfterSeconds: undefined });
    view.durationsMs =
      outcome.status === 'REJECTED'
        ? { upload: 200, validation: 800, total: 1000 }
        : { upload: 200, validation: 800, queue: 100, conversion: 2300, total: 3400 };
    if (outcome.status === 'SUCCEEDED') {
      const components = componentsOf(job);
      view.result = {
        components: components.length,
        nodes: sum(components, (c) => c.nodes),
        edges: sum(components, (c) => c.edges),
        idle: sum(components, (c) => c.idle),
        notImplemented: sum(components, (c) => c.notImplementedCount),
        notImplementedNames: components.flatMap((c) => c.notImplementedNames),
        files: resultFiles(job),
        expiresAt: iso(now() + 7 * 86_400_000),
        downloadPath: `/jobs/${view.jobId}/result`,
      };
      view.converter = { image: null, version: '0.1.11' };
    } else if (outcome.status === 'EXPIRED') {
      view.expiredReason = 'UPLOAD_NOT_RECEIVED';
    } else {
      view.error = {
        code: outcome.error.code,
        message: outcome.error.message ?? ERRORS[outcome.error.code].message,
        hint: ERRORS[outcome.error.code].hint,
        ...(outcome.error.details ? { details: outcome.error.details } : {}),
      };
    }
    if (view.bundle === undefined && job.bundle) view.bundle = bundleStats(job.bundle);
  }

  function componentsOf(job: DoubleJob): ComponentSummary[] {
    if (job.outcome.status === 'SUCCEEDED' && job.outcome.components) return job.outcome.components;
    const name = job.view.workflowName;
    return [
      {
        workflowId: `${name}__g01`,
        nodes: 1,
        edges: 0,
        idle: 0,
        notImplementedCount: 0,
        notImplementedNames: [],
        files: { workbookPy: `${name}__g01_workbook.py` },
      },
    ];
  }

  function resultFiles(job: DoubleJob): string[] {
    return [...componentsOf(job).map((c) => `${c.workflowId}_workbook.py`), 'README.md', 'report.json'];
  }

  function listJobs(res: ServerResponse, url: URL, owner: string): void {
    const limit = Number(url.searchParams.get('limit') ?? '20');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return apiError(res, 'GET', '/jobs', 'INVALID_REQUEST', undefined, { issues: ['limit'] });
    const token = url.searchParams.get('nextToken');
    const offset = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
    const mine = [...state.jobs.values()].filter((j) => j.owner === owner).map((j) => j.view);
    mine.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    const page = mine.slice(offset, offset + limit);
    const more = offset + limit < mine.length;
    api(res, 'GET', '/jobs', 200, {
      jobs: page,
      ...(more ? { nextToken: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
    });
  }

  function result(res: ServerResponse, url: URL, job: DoubleJob): void {
    const view = job.view;
    if (view.status === 'DELETED' || view.status === 'EXPIRED') return apiError(res, 'GET', '/jobs/{id}/result', 'RESULT_GONE');
    if (view.status !== 'SUCCEEDED') {
      return apiError(
        res,
        'GET',
        '/jobs/{id}/result',
        'RESULT_NOT_READY',
        undefined,
        { status: view.status },
        view.terminal ? undefined : state.pollAfterSeconds,
      );
    }
    const link = `${state.url}/results/${view.jobId}?X-Amz-Signature=f4k3`;
    if (url.searchParams.get('redirect') === 'false') {
      return api(res, 'GET', '/jobs/{id}/result', 200, {
        url: link,
        expiresAt: iso(now() + 300_000),
        filename: resultFilename(view.workflowName),
      });
    }
    api(res, 'GET', '/jobs/{id}/result', 302, undefined, { Location: link });
  }

  function deleteJob(res: ServerResponse, job: DoubleJob): void {
    const at = iso(now());
    const { result: _result, retryAfterSeconds: _retry, uploadExpiresAt: _upload, ...rest } = job.view;
    job.view = { ...rest, status: 'DELETED', terminal: true, updatedAt: at, finishedAt: job.view.finishedAt ?? at };
    job.bundle = undefined;
    api(res, 'DELETE', '/jobs/{id}', 200, job.view);
  }

  function serveResult(res: ServerResponse, rest: string): void {
    const job = state.jobs.get(rest.split('?')[0]!);
    if (!job || job.view.status !== 'SUCCEEDED') return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const name = job.view.workflowName;
    const enc = (text: string) => new TextEncoder().encode(text);
    const components = componentsOf(job);
    const files: Record<string, Uint8Array> = {
      'README.md': enc(`# ${name}\n`),
      'report.json': enc(JSON.stringify({ schemaVersion: 1, jobId: job.view.jobId, components })),
    };
    for (const c of components) files[`${c.workflowId}_workbook.py`] = enc('import pandas as pd\n');
    const zip = zipSync(files);
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': zip.length });
    res.end(Buffer.from(zip));
  }

  /** The S3 stand-in: a multipart POST with the ticket's fields first, then `file`; S3-style XML errors. */
  async function upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fields: [string, string][] = [];
    const chunks: Buffer[] = [];
    let fileSeen = false;
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: req.headers });
      parser.on('field', (name, value) => {
        if (!fileSeen) fields.push([name, value]);
      });
      parser.on('file', (_name, stream) => {
        fileSeen = true;
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      req.pipe(parser);
    });
    const key = fields.find(([name]) => name === 'key')?.[1] ?? '';
    const job = state.jobs.get(key.split('/')[1] ?? '');
    const bundle = Buffer.concat(chunks);
    if (!fileSeen) return s3Error(res, 400, 'InvalidArgument', 'POST requires exactly one file upload per request.');
    if (!job || job.view.status !== 'AWAITING_UPLOAD')
      return s3Error(res, 403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", ...]');
    if (bundle.length > state.maxBytes)
      return s3Error(
        res,
        400,
        'EntityTooLarge',
        'Your proposed upload exceeds the maximum allowed size',
        `<ProposedSize>${bundle.length}</ProposedSize><MaxSizeAllowed>${state.maxBytes}</MaxSizeAllowed>`,
      );
    job.bundle = bundle;
    job.uploadFields = fields;
    const at = iso(now());
    const { uploadExpiresAt: _gone, ...rest } = job.view;
    job.view = { ...rest, status: 'VALIDATING', uploadedAt: at, updatedAt: at, bundle: bundleStats(bundle) };
    res.writeHead(204);
    res.end();
  }

  /** A job that ran has a log (a short one, in the service's layout); any other is LOG_NOT_AVAILABLE. */
  function logs(res: ServerResponse, job: DoubleJob): void {
    const view = job.view;
    if (!['SUCCEEDED', 'FAILED', 'TIMED_OUT'].includes(view.status)) {
      return apiError(
        res,
        'GET',
        '/jobs/{id}/logs',
        'LOG_NOT_AVAILABLE',
        undefined,
        { status: view.status },
        view.terminal ? undefined : state.pollAfterSeconds,
      );
    }
    const text = [
      `k2p-web conversion log: job ${view.jobId}, workflow ${view.workflowName}`,
      `$ k2p ${view.workflowName} --out .`,
      '== knime2py stderr (0 bytes) ==',
      '== knime2py stdout (27 bytes) ==',
      `{"workflow": "${view.workflowName}"}`,
      `== knime2py exited with code ${view.status === 'SUCCEEDED' ? 0 : 1} after 2300 ms ==`,
      '',
    ].join('\n');
    plainText(res, 'GET', '/jobs/{id}/logs', text);
  }

  function plainText(res: ServerResponse, method: string, template: string, text: string): void {
    const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
    for (const problem of checkResponse(openapi, method, template, { statusCode: 200, headers, body: text })) {
      state.violations.push(`${method} ${template} 200: ${problem}`);
    }
    res.writeHead(200, headers);
    res.end(text);
  }

  /** The program principal a key stands for: made by the admin routes, else one per key of the double. */
  function principalOf(key: string): string {
    const made = state.admin.principals.get(key);
    if (made) return made;
    return state.adminKeys.includes(key) ? `principal-admin-${state.adminKeys.indexOf(key)}` : `principal-${state.keys.indexOf(key)}`;
  }

  function adminContext() {
    return {
      jobs: state.jobs,
      userKeys: state.keys,
      adminKeys: state.adminKeys,
      admin: state.admin,
      now,
      principalOf,
      api,
      apiError,
      plainText,
      readText,
    };
  }

  function api(
    res: ServerResponse,
    method: string,
    template: string,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    const all = {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      'Cache-Control': 'no-store',
      ...headers,
    };
    for (const problem of checkResponse(openapi, method, template, { statusCode: status, headers: all, body: text })) {
      state.violations.push(`${method} ${template} ${status}: ${problem}`);
    }
    res.writeHead(status, all);
    res.end(text);
  }

  function apiError(
    res: ServerResponse,
    method: string,
    template: string,
    code: ErrorCode,
    message?: string,
    details?: Record<string, unknown>,
    retryAfter?: number,
  ): void {
    const body = {
      error: {
        code,
        message: message ?? ERRORS[code].message,
        ...(details ? { details } : {}),
        requestId: `req-${randomBytes(6).toString('hex')}`,
      },
    };
    api(res, method, template, ERRORS[code].httpStatus, body, retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {});
  }

  function ownerOf(req: IncomingMessage): string | undefined {
    const bearer = /^Bearer (\S+)$/.exec(header(req, 'authorization') ?? '');
    // A bearer header is judged alone: a bad token is refused even next to a good key.
    if (header(req, 'authorization') !== undefined) return bearer ? state.bearerTokens.get(bearer[1]!) : undefined;
    const key = header(req, 'x-api-key');
    return key && (state.keys.includes(key) || state.adminKeys.includes(key)) ? key : undefined;
  }

  function templateOf(path: string): string {
    if (path === '/jobs' || path === '/me') return path;
    return path.endsWith('/result') ? '/jobs/{id}/result' : path.endsWith('/logs') ? '/jobs/{id}/logs' : '/jobs/{id}';
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function s3Error(res: ServerResponse, status: number, code: string, message: string, extra = ''): void {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message>${extra}<RequestId>DOUBLE</RequestId></Error>`,
  );
}

/** A response whose writes go nowhere (its connection is about to be dropped). */
function lostAnswer(res: ServerResponse): ServerResponse {
  return Object.assign(Object.create(res) as ServerResponse, {
    writeHead: () => undefined,
    end: () => undefined,
  });
}

function bundleStats(bundle: Buffer) {
  return {
    entries: 2,
    files: 2,
    zipBytes: bundle.length,
    unpackedBytes: bundle.length * 2,
    sha256: 'a'.repeat(64),
    nodes: 1,
    referencedSettings: 1,
    nestedWorkflows: [],
  };
}

function set(view: JobView, patch: Partial<JobView>): void {
  Object.assign(view, patch);
  for (const [key, value] of Object.entries(view)) if (value === undefined) delete (view as unknown as Record<string, unknown>)[key];
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
