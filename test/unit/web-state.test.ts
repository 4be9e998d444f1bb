/** The page's small state helpers: config.json, the job in the URL, and the recent-jobs list in local storage. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE_LIMITS } from '../../core/limits';
import { ConfigError, loadPageConfig, parsePageConfig } from '../../web/src/config';
import { formatDuration, formatWhen, plural } from '../../web/src/format';
import { MAX_RECENT_JOBS, RECENT_JOBS_KEY, RecentJobs, type KeyValueStore } from '../../web/src/recent-jobs';
import { jobIdFromUrl, jobLink, urlWithJob } from '../../web/src/url-state';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe('config.json', () => {
  const signIn = { issuer: 'https://idp.example', clientId: 'client-1', scopes: ['openid', 'profile', 'email'] };

  it('takes the deployment config with its limits', () => {
    const config = parsePageConfig({
      apiUrl: 'https://api.example/prod/',
      anonymousAccess: true,
      apiKey: 'k',
      bundleLimits: { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 10 },
      limits: { resultRetentionDays: 7 },
    });
    expect(config).toMatchObject({ apiUrl: 'https://api.example/prod/', anonymousAccess: true, apiKey: 'k', resultRetentionDays: 7 });
    expect(config.signIn).toBeUndefined();
    expect(config.bundleLimits.maxEntries).toBe(10);
    expect(parsePageConfig({ apiUrl: 'http://127.0.0.1:1/v1/', anonymousAccess: true, apiKey: 'k' }).bundleLimits).toEqual(
      DEFAULT_BUNDLE_LIMITS,
    );
  });

  it('takes sign-in without a key when anonymous access is off, and both when it is on', () => {
    const off = parsePageConfig({ apiUrl: 'https://api.example/prod/', anonymousAccess: false, signIn });
    expect(off).toMatchObject({ anonymousAccess: false, signIn });
    expect(off.apiKey).toBeUndefined();
    const cognito = { ...signIn, signOutUrl: 'https://auth.example/logout' };
    expect(parsePageConfig({ apiUrl: 'https://x/', anonymousAccess: true, apiKey: 'k', signIn: cognito })).toMatchObject({
      apiKey: 'k',
      signIn: cognito,
    });
  });

  it('names what is wrong', () => {
    expect(() => parsePageConfig(null)).toThrow(ConfigError);
    expect(() => parsePageConfig({ apiUrl: 'javascript:alert(1)', anonymousAccess: true, apiKey: 'k' })).toThrow(/apiUrl/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', apiKey: 'k' })).toThrow(/anonymousAccess must be true or false/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: true, apiKey: '' })).toThrow(/anonymousAccess on but no apiKey/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, apiKey: 'k', signIn })).toThrow(/must publish no key/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false })).toThrow(/no signIn: nobody could use the page/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: 'https://idp' })).toThrow(
      /signIn must be an object/,
    );
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: { ...signIn, issuer: 'idp' } })).toThrow(
      /signIn.issuer/,
    );
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: { ...signIn, clientId: ' ' } })).toThrow(
      /signIn.clientId/,
    );
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: { ...signIn, scopes: ['profile'] } })).toThrow(
      /"openid"/,
    );
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: { ...signIn, scopes: 'openid' } })).toThrow(
      /signIn.scopes/,
    );
    expect(() =>
      parsePageConfig({ apiUrl: 'https://x', anonymousAccess: false, signIn: { ...signIn, signOutUrl: 'javascript:x' } }),
    ).toThrow(/signIn.signOutUrl/);
    expect(() => parsePageConfig({ apiUrl: 'https://x', anonymousAccess: true, apiKey: 'k', bundleLimits: { maxEntries: -1 } })).toThrow(
      /maxEntries/,
    );
  });

  it('loads config.json uncached and reports HTTP failures', async () => {
    let seen: RequestInit | undefined;
    const ok = (async (_url: string, init?: RequestInit) => (
      (seen = init),
      new Response(JSON.stringify({ apiUrl: 'https://x/', anonymousAccess: true, apiKey: 'k' }))
    )) as typeof fetch;
    await expect(loadPageConfig(ok)).resolves.toMatchObject({ apiKey: 'k' });
    expect(seen?.cache).toBe('no-store');
    await expect(loadPageConfig((async () => new Response('nope', { status: 404 })) as typeof fetch)).rejects.toThrow(/HTTP 404/);
  });
});

describe('job in the URL', () => {
  it('reads only well-formed job ids and keeps other parameters', () => {
    expect(jobIdFromUrl('https://site/?job=abcDEF12_-')).toBe('abcDEF12_-');
    expect(jobIdFromUrl('https://site/?job=../../x')).toBeUndefined();
    expect(jobIdFromUrl('https://site/')).toBeUndefined();
    expect(urlWithJob('https://site/?lang=en#top', 'abcdefgh12')).toBe('https://site/?lang=en&job=abcdefgh12#top');
    expect(urlWithJob('https://site/?job=abcdefgh12&lang=en', undefined)).toBe('https://site/?lang=en');
    expect(jobLink('abcdefgh12')).toBe('?job=abcdefgh12');
  });
});

describe('recent jobs', () => {
  const entry = (n: number) => ({
    jobId: `job_0000000${n}`.slice(-12),
    workflowName: `wf${n}`,
    createdAt: `2024-01-0${(n % 9) + 1}T00:00:00.000Z`,
    status: 'QUEUED' as const,
  });

  it('remembers newest first, updates in place and keeps a bounded list', () => {
    const store = memoryStore();
    const recent = new RecentJobs(store);
    for (let n = 0; n < MAX_RECENT_JOBS + 3; n++) recent.remember(entry(n));
    const list = recent.list();
    expect(list).toHaveLength(MAX_RECENT_JOBS);
    expect(list[0]!.workflowName).toBe(`wf${MAX_RECENT_JOBS + 2}`);
    recent.remember({ ...list[3]!, status: 'SUCCEEDED' });
    expect(recent.list()[3]!.status).toBe('SUCCEEDED');
    recent.updateStatus(list[0]!.jobId, 'DELETED');
    expect(recent.list()[0]!.status).toBe('DELETED');
    recent.forget(list[0]!.jobId);
    expect(recent.list().map((j) => j.jobId)).not.toContain(list[0]!.jobId);
    recent.clear();
    expect(store.data.has(RECENT_JOBS_KEY)).toBe(false);
  });

  it('drops unreadable or tampered entries instead of trusting them', () => {
    const store = memoryStore();
    store.setItem(
      RECENT_JOBS_KEY,
      JSON.stringify([
        entry(1),
        { jobId: '<script>', workflowName: 'x', createdAt: 'x', status: 'QUEUED' },
        { jobId: 'job_12345678', status: 'HACKED' },
      ]),
    );
    expect(new RecentJobs(store).list()).toEqual([entry(1)]);
    store.setItem(RECENT_JOBS_KEY, '{not json');
    expect(new RecentJobs(store).list()).toEqual([]);
  });

  it('works without storage (privacy mode) and when storage throws', () => {
    expect(new RecentJobs(undefined).remember(entry(1))).toHaveLength(1);
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => undefined,
    };
    expect(new RecentJobs(broken).list()).toEqual([]);
    expect(() => new RecentJobs(broken).remember(entry(1))).not.toThrow();
  });
});

describe('format', () => {
  it('formats durations, counts and times', () => {
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_780_000)).toBe('1 h 03 min');
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(1200, 'node')).toBe('1,200 nodes');
    expect(formatWhen('2024-05-01T14:03:00.000Z', 'UTC')).toBe('2024-05-01 14:03');
  });
});
