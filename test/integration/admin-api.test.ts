/**
 * The admin API through the local API Gateway built from the synthesized template and the real authorizer: the
 * seeded admin (signed in at the local OpenID stand-in) lists and filters the jobs of two principals — a person and
 * a program — and the counts match them; the seeded user and a program key with role user get 403 FORBIDDEN on every
 * /admin route; an admin's cancel and delete act as the owner's would, and each leaves an audit entry, newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_HANDLERS, API_ROUTES, type ApiHandlerName } from '../../core/api-routes';
import {
  AdminJobCountsResponseSchema,
  AdminJobDetailSchema,
  AdminListAuditResponseSchema,
  AdminListJobsResponseSchema,
} from '../../core/api-schemas';
import { s3Keys } from '../../core/service-env';
import { SYNTH_TIMEOUT_MS } from '../local/helpers';
import { startGatewayHarness, type Answer, type CallOptions, type Credentials, type GatewayHarness } from '../support/gateway-harness';
import { bundleWithDataFile, uploadBundle } from '../support/job-fixtures';
import { lambdaContext } from '../support/lambda-harness';

const HANDLERS = [...API_ROUTES.map((r) => r.handler), 'validateUpload'] as const;

let h: GatewayHarness;
let userToken: string;
let adminToken: string;

const call = (handler: ApiHandlerName, credentials: Credentials, options: { id?: string } & Omit<CallOptions, 'params'> = {}) =>
  h.call(handler, credentials, { ...options, ...(options.id ? { params: { id: options.id } } : {}) });

const admin = (): Credentials => ({ token: adminToken });
const ids = (answer: Answer) => (answer.json.jobs as { jobId: string }[]).map((j) => j.jobId);

async function create(credentials: Credentials, filename: string): Promise<string> {
  const created = await call('createJob', credentials, { body: { filename } });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json.job.jobId as string;
}

beforeAll(async () => {
  h = await startGatewayHarness({
    site: 'http://127.0.0.1:18782',
    name: 'admin',
    handlers: HANDLERS,
    env: { AWS_MAX_ATTEMPTS: '1' },
    cliPrincipal: { id: 'program-ci', name: 'ci' },
  });
  userToken = (await h.signIn('user')).accessToken;
  adminToken = (await h.signIn('admin')).accessToken;
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  await h?.close();
});

describe('the admin API', () => {
  const userOwner = () => `oidc:${h.provider.issuer}#user`;

  it('refuses the user and a program with role user: 403 FORBIDDEN on every /admin route', async () => {
    expect([...ADMIN_HANDLERS]).toEqual(API_ROUTES.filter((r) => r.path.startsWith('/admin/')).map((r) => r.handler));
    expect(ADMIN_HANDLERS.size).toBe(16);
    for (const handler of ADMIN_HANDLERS) {
      for (const credentials of [{ token: userToken }, { key: h.cliKey.value }]) {
        const answer = await call(handler, credentials, {
          id: 'abcdefgh1234',
          ...(handler === 'adminPutPerson' ? { body: { enabled: false } } : {}),
        });
        expect([answer.status, answer.json.error.code], `${handler} ${credentials.token ? 'user' : 'program'}`).toEqual([403, 'FORBIDDEN']);
      }
    }
  });

  it('lists and filters the jobs of a person and a program; counts match; one job in full', async () => {
    const userJobs = [await create({ token: userToken }, 'u1.knwf'), await create({ token: userToken }, 'u2.knwf')];
    const programJobs = [await create({ key: h.cliKey.value }, 'p1.knwf'), await create({ key: h.cliKey.value }, 'p2.knwf')];
    // One of the program's jobs is rejected by validation (a data file in the bundle): it carries an error code.
    const created = await call('createJob', { key: h.cliKey.value }, { body: { filename: 'p3.knwf' } });
    const rejected = created.json.job.jobId as string;
    expect((await uploadBundle(created.json.upload, bundleWithDataFile())).status).toBe(204);
    await h.handlers.validateUpload!(await h.aws.nextCreated(s3Keys.bundle(rejected)), lambdaContext());
    // The owner cancels one of theirs.
    expect((await call('cancelJob', { token: userToken }, { id: userJobs[0]! })).status).toBe(200);

    const all = await call('adminListJobs', admin(), { query: { since: '1h' } });
    expect(all.status).toBe(200);
    const page = AdminListJobsResponseSchema.parse(all.json);
    expect(page.jobs.map((j) => j.jobId).sort()).toEqual([...userJobs, ...programJobs, rejected].sort());
    expect(page.jobs.map((j) => j.createdAt)).toEqual(
      page.jobs
        .map((j) => j.createdAt)
        .sort()
        .reverse(),
    );
    expect(new Set(page.jobs.map((j) => j.owner))).toEqual(new Set([userOwner(), 'program-ci']));

    expect(ids(await call('adminListJobs', admin(), { query: { owner: userOwner() } })).sort()).toEqual([...userJobs].sort());
    const first = await call('adminListJobs', admin(), { query: { owner: 'program-ci', state: 'AWAITING_UPLOAD', limit: '1' } });
    expect(ids(first)).toHaveLength(1);
    const second = await call('adminListJobs', admin(), {
      query: { owner: 'program-ci', state: 'AWAITING_UPLOAD', limit: '1', nextToken: first.json.nextToken },
    });
    expect([...ids(first), ...ids(second)].sort()).toEqual([...programJobs].sort());
    expect(ids(await call('adminListJobs', admin(), { query: { state: 'CANCELLED' } }))).toEqual([userJobs[0]]);
    const byCode = await call('adminListJobs', admin(), { query: { code: 'ZIP_DISALLOWED_FILE' } });
    expect([ids(byCode), byCode.json.jobs[0]?.status, byCode.json.jobs[0]?.owner]).toEqual([[rejected], 'REJECTED', 'program-ci']);
    for (const query of [{ nextToken: 'not-a-token' }, { since: 'yesterday' }, { code: 'NO_SUCH_CODE' }] as Record<string, string>[]) {
      const bad = await call('adminListJobs', admin(), { query });
      expect([bad.status, bad.json.error.code], JSON.stringify(query)).toEqual([400, 'INVALID_REQUEST']);
    }

    const counts = AdminJobCountsResponseSchema.parse((await call('adminJobCounts', admin(), { query: { since: '1h' } })).json);
    expect(counts.total).toBe(5);
    expect(counts.byState).toMatchObject({ AWAITING_UPLOAD: 3, CANCELLED: 1, REJECTED: 1, SUCCEEDED: 0 });
    expect(counts.byCode).toEqual({ ZIP_DISALLOWED_FILE: 1 });

    const detail = AdminJobDetailSchema.parse((await call('adminGetJob', admin(), { id: rejected })).json);
    expect(detail.job.owner).toBe('program-ci');
    expect(detail.history.map((h) => h.status)).toEqual(['AWAITING_UPLOAD', 'VALIDATING', 'REJECTED']);
    expect(detail.validation).toMatchObject({ verdict: 'rejected', error: { code: 'ZIP_DISALLOWED_FILE' } });
    expect([detail.converter, detail.report, detail.log.available]).toEqual([null, null, false]);
    const unknown = await call('adminGetJob', admin(), { id: 'zzzzzzzzzzzz' });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it("cancels and deletes another principal's job as its owner would, and audits every attempt, newest first", async () => {
    const jobId = await create({ token: userToken }, 'to-cancel.knwf');
    const other = await create({ key: h.cliKey.value }, 'to-delete.knwf');
    const cancelled = await call('adminCancelJob', admin(), { id: jobId });
    expect([cancelled.status, cancelled.json.status, cancelled.json.owner]).toEqual([200, 'CANCELLED', userOwner()]);
    // The owner sees it cancelled.
    expect((await call('getJob', { token: userToken }, { id: jobId })).json.status).toBe('CANCELLED');
    const deleted = await call('adminDeleteJob', admin(), { id: other });
    expect([deleted.status, deleted.json.status]).toEqual([200, 'DELETED']);
    const deletedAgain = await call('adminDeleteJob', admin(), { id: other });
    expect(deletedAgain.status).toBe(200);
    // A cancel of a job that ended otherwise is refused, as for the owner; an unknown job is 404; both audited.
    const refused = await call('adminCancelJob', admin(), { id: other });
    expect([refused.status, refused.json.error.code]).toEqual([409, 'JOB_ALREADY_ENDED']);
    expect((await call('adminCancelJob', admin(), { id: 'zzzzzzzzzzzz' })).status).toBe(404);
    // A refused role is not an admin action: nothing audited.
    expect((await call('adminDeleteJob', { token: userToken }, { id: jobId })).status).toBe(403);

    const audit = AdminListAuditResponseSchema.parse((await call('adminListAudit', admin())).json);
    const adminId = `oidc:${h.provider.issuer}#admin`;
    expect(audit.entries.map((e) => [e.action, e.target.id, e.outcome, e.code ?? null, e.status ?? null])).toEqual([
      ['job.cancel', 'zzzzzzzzzzzz', 'refused', 'NOT_FOUND', null],
      ['job.cancel', other, 'refused', 'JOB_ALREADY_ENDED', null],
      ['job.delete', other, 'succeeded', null, 'DELETED'],
      ['job.delete', other, 'succeeded', null, 'DELETED'],
      ['job.cancel', jobId, 'succeeded', null, 'CANCELLED'],
    ]);
    for (const entry of audit.entries) expect(entry.who).toMatchObject({ id: adminId, kind: 'person', role: 'admin' });
    expect(audit.entries.find((e) => e.target.id === jobId)!.target.owner).toBe(userOwner());
    const paged = await call('adminListAudit', admin(), { query: { limit: '2' } });
    expect(paged.json.entries).toHaveLength(2);
    const next = await call('adminListAudit', admin(), { query: { limit: '10', nextToken: paged.json.nextToken } });
    expect([...paged.json.entries, ...next.json.entries]).toEqual(audit.entries);
    const bad = await call('adminListAudit', admin(), { query: { nextToken: 'bm9wZQ' } });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });
});
