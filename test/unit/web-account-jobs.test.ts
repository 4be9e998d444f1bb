/**
 * A signed-in person's "Recent jobs" (web/src/account-jobs.ts) from GET /jobs of the jobs API double, called with
 * bearer tokens as the page does: the person's jobs from any browser (another token of the same person), newest first,
 * page by page, never another person's; and the client's choice between bearer token and key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../core/api-client';
import { AccountJobs, type AccountJobsState } from '../../web/src/account-jobs';
import { MAX_RECENT_JOBS } from '../../web/src/recent-jobs';
import { DOUBLE_KEY, startJobsApiDouble, type JobsApiDouble } from '../doubles/jobs-api-double';

let api: JobsApiDouble;

const client = (token: () => string | undefined, apiKey?: string) =>
  new ApiClient({ baseUrl: api.url, bearerToken: token, ...(apiKey ? { apiKey } : {}), retry: { attempts: 1 } });

beforeAll(async () => {
  api = await startJobsApiDouble();
  // Two browsers of Ada (two tokens, one person) and one of Bob.
  api.bearerTokens.set('token-ada-laptop', 'person-ada');
  api.bearerTokens.set('token-ada-phone', 'person-ada');
  api.bearerTokens.set('token-bob', 'person-bob');
});

afterAll(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
});

describe('the API client with a bearer token', () => {
  it('sends the token as Authorization: Bearer instead of the key, and the key once signed out', async () => {
    let token: string | undefined = 'token-bob';
    const bob = client(() => token, DOUBLE_KEY);
    api.requests.length = 0;
    await bob.listJobs();
    expect(api.requests.at(-1)).toMatchObject({ path: '/jobs', bearer: true });
    expect(api.requests.at(-1)?.apiKey).toBeUndefined();
    await bob.health();
    expect(api.requests.at(-1)?.bearer).toBeUndefined();
    token = undefined;
    await bob.listJobs();
    expect(api.requests.at(-1)).toMatchObject({ apiKey: DOUBLE_KEY });
    expect(api.requests.at(-1)?.bearer).toBeUndefined();
  });

  it('asks for the token before every request (a renewed token is the one sent), and an unknown one is refused', async () => {
    let asked = 0;
    const renewing = new ApiClient({
      baseUrl: api.url,
      bearerToken: async () => (++asked > 1 ? 'token-ada-phone' : 'token-ada-laptop'),
    });
    await renewing.listJobs();
    await renewing.listJobs();
    expect(asked).toBe(2);
    const error = await client(() => 'token-forged')
      .listJobs()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('UNAUTHORIZED');
  });
});

describe('Recent jobs of a signed-in person', () => {
  it("lists the person's jobs from another browser, newest first, page by page, never another person's", async () => {
    const laptop = client(() => 'token-ada-laptop');
    const created: string[] = [];
    for (let i = 0; i < MAX_RECENT_JOBS + 3; i++) created.push((await laptop.createJob({ filename: `ada-${i}` })).job.jobId);
    const bobs = (await client(() => 'token-bob').createJob({ filename: 'bob-secret' })).job.jobId;

    const states: AccountJobsState[] = [];
    const phone = new AccountJobs(
      client(() => 'token-ada-phone'),
      (state) => states.push(state),
    );
    const loading = phone.load();
    expect(phone.state.loading).toBe(true);
    await loading;
    expect(phone.state).toMatchObject({ loading: false, loaded: true, more: true });
    expect(phone.state.jobs.map((j) => j.jobId)).toEqual([...created].reverse().slice(0, MAX_RECENT_JOBS));
    await phone.loadMore();
    expect(phone.state.more).toBe(false);
    expect(phone.state.jobs.map((j) => j.jobId)).toEqual([...created].reverse());
    expect(phone.state.jobs.map((j) => j.jobId)).not.toContain(bobs);
    expect(phone.state.jobs[0]).toMatchObject({ workflowName: `ada-${MAX_RECENT_JOBS + 2}`, status: 'AWAITING_UPLOAD' });
    expect(states.some((s) => s.loading)).toBe(true);
    expect(api.requests.filter((r) => r.path === '/jobs' && r.method === 'GET').at(-1)).toMatchObject({ bearer: true });
  });

  it('merges jobs the page creates or follows, keeps them across a reload of the list, and forgets all on sign-out', async () => {
    const ada = client(() => 'token-ada-laptop');
    const jobs = new AccountJobs(ada, () => undefined, 5);
    await jobs.load();
    const { job } = await ada.createJob({ filename: 'fresh' });
    jobs.upsert(job);
    expect(jobs.state.jobs[0]).toMatchObject({ jobId: job.jobId, status: 'AWAITING_UPLOAD' });
    jobs.upsert({ ...job, status: 'DELETED' });
    expect(jobs.state.jobs.filter((j) => j.jobId === job.jobId)).toEqual([expect.objectContaining({ status: 'DELETED' })]);
    await jobs.load();
    expect(jobs.state.jobs.filter((j) => j.jobId === job.jobId)).toHaveLength(1);

    const late = jobs.load();
    jobs.reset();
    await late;
    expect(jobs.state).toMatchObject({ jobs: [], loaded: false, loading: false, more: false });
  });

  it('keeps what it had and reports a failed load', async () => {
    const jobs = new AccountJobs(
      client(() => 'token-ada-laptop'),
      () => undefined,
    );
    await jobs.load();
    const had = jobs.state.jobs.length;
    api.faults.push({ method: 'GET', path: /^\/jobs$/, kind: { status: 503, body: 'down' } });
    await jobs.load();
    expect(jobs.state.error).toBeInstanceOf(ApiError);
    expect(jobs.state.jobs).toHaveLength(had);
  });
});
