/**
 * Per-principal limits through the real POST /jobs handler against dynalite
 * and s3rver (the DynamoDB and S3 protocols the service speaks in AWS):
 * concurrent creates from one principal admit exactly its in-flight limit and
 * exactly its daily count; the count starts again on the next UTC day; and
 * creates whose upload never comes stop holding the principal's capacity once
 * their upload window (plus a short grace) is over. Time passes by moving the
 * clock the handlers see.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../core/principal';
import { s3Keys } from '../../core/service-env';
import { UPLOAD_SLOT_GRACE_SECONDS } from '../../lambdas/decisions/deadlines';
import { dailyCountPk, globalCapacityPk, jobPk, ownerCapacityPk } from '../../lambdas/storage/table-keys';
import { sampleBundle, uploadBundle } from '../support/job-fixtures';
import { applyEnv, callApi, lambdaContext, loadHandlers, type AnyHandler, type ApiResponse } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';

const NAMES = ['createJob', 'cancelJob', 'validateUpload'] as const;
type Handlers = Record<(typeof NAMES)[number], AnyHandler>;

const person = (id: string, role: Principal['role'] = 'user'): Principal => ({ id, name: `${id}@example.org`, kind: 'person', role });

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
  applyEnv({ ...aws.env, AWS_MAX_ATTEMPTS: '1' });
});

beforeEach(async () => {
  applyEnv({ JOBS_TABLE_NAME: await aws.freshTable() });
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await aws?.stop();
});

async function handlers(env: Record<string, string>): Promise<Handlers> {
  return loadHandlers(NAMES, {
    LIMIT_GLOBAL_IN_FLIGHT: '1000',
    LIMIT_PER_PRINCIPAL_IN_FLIGHT: '1000',
    LIMIT_PER_PRINCIPAL_PER_DAY: '1000',
    ...env,
  }) as Promise<Handlers>;
}

const create = (h: Handlers, principal: Principal, i = 0): Promise<ApiResponse> =>
  callApi(h.createJob, { method: 'POST', resource: '/jobs', principal, body: { filename: `flow-${i}.zip` } });

const burst = (h: Handlers, principal: Principal, n: number) => Promise.all(Array.from({ length: n }, (_, i) => create(h, principal, i)));

async function item(pk: string): Promise<Record<string, unknown> | undefined> {
  return (await aws.ddb.send(new GetCommand({ TableName: aws.tableName, Key: { pk }, ConsistentRead: true }))).Item;
}

async function members(pk: string, attribute: 'holders' | 'jobs'): Promise<string[]> {
  const set = (await item(pk))?.[attribute];
  return set instanceof Set ? [...(set as Set<string>)].sort() : [];
}

const ids = (responses: ApiResponse[]) => responses.map((r) => r.json.job.jobId as string).sort();

/** Moves the handlers' clock to `iso` (only Date: timers and the SDK's sockets keep real time). */
function clockAt(iso: string | number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(iso));
}

describe('jobs in flight per principal', () => {
  it('admits exactly the limit of 50 concurrent POST /jobs from one principal, and the refusals leave nothing taken', async () => {
    const h = await handlers({ LIMIT_PER_PRINCIPAL_IN_FLIGHT: '7' });
    const alice = person('person-alice');
    const responses = await burst(h, alice, 50);
    const created = responses.filter((r) => r.statusCode === 201);
    const refused = responses.filter((r) => r.statusCode === 429);
    expect([created.length, refused.length]).toEqual([7, 43]);
    for (const response of refused) {
      expect(response.json.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 7 } });
      expect(response.json.error.message).toMatch(/7 jobs in flight/);
      expect(response.json.error.message).not.toMatch(/API key/i);
      expect(Number(response.headers['Retry-After'])).toBeGreaterThan(0);
    }
    // The slots, the day's count and the global ledger hold exactly the admitted jobs.
    expect(await members(ownerCapacityPk(alice.id), 'holders')).toEqual(ids(created));
    expect(await members(globalCapacityPk(), 'holders')).toEqual(ids(created));
    const today = await item(dailyCountPk(alice.id, new Date().toISOString().slice(0, 10)));
    expect(today).toMatchObject({ admitted: 7, capacityOwner: alice.id });
    expect([...(today!.jobs as Set<string>)].sort()).toEqual(ids(created));

    // Another principal is not affected; an admin is held to the same limit.
    expect((await create(h, person('person-bob'))).statusCode).toBe(201);
    const admin = await burst(h, person('person-root', 'admin'), 10);
    expect(admin.filter((r) => r.statusCode === 201)).toHaveLength(7);

    // A job that ends gives its slot back.
    const cancelled = await callApi(h.cancelJob, {
      method: 'POST',
      resource: '/jobs/{id}/cancel',
      pathParameters: { id: created[0]!.json.job.jobId },
      principal: alice,
    });
    expect(cancelled.statusCode).toBe(200);
    expect((await create(h, alice)).statusCode).toBe(201);
    expect((await create(h, alice)).statusCode).toBe(429);
  });

  it('still reads the limit from its earlier variable LIMIT_PER_KEY_IN_FLIGHT', async () => {
    const h = (await loadHandlers(NAMES, { LIMIT_PER_PRINCIPAL_IN_FLIGHT: undefined, LIMIT_PER_KEY_IN_FLIGHT: '2' })) as Handlers;
    const responses = await burst(h, person('person-carol'), 6);
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(2);
  });
});

describe('conversions per principal per day', () => {
  it('admits exactly the daily limit of 50 concurrent creates, refuses until 00:00 UTC, then allows the next day', async () => {
    const h = await handlers({ LIMIT_PER_PRINCIPAL_PER_DAY: '5' });
    const dana = person('person-dana');
    clockAt('2026-12-06T20:00:00.000Z');
    const responses = await burst(h, dana, 50);
    const created = responses.filter((r) => r.statusCode === 201);
    const refused = responses.filter((r) => r.statusCode === 429);
    expect([created.length, refused.length]).toEqual([5, 45]);
    for (const response of refused) {
      expect(response.json.error).toMatchObject({
        code: 'RATE_LIMITED',
        details: { limit: 5, period: 'day', resetsAt: '2026-12-07T00:00:00.000Z' },
      });
      expect(response.json.error.message).toMatch(/5 conversions today/);
      // Four hours to midnight: capped at an hour, so a client checks back.
      expect(response.headers['Retry-After']).toBe('3600');
    }
    // Refused creates gave their in-flight slots back; only the admitted jobs hold any.
    expect(await members(ownerCapacityPk(dana.id), 'holders')).toEqual(ids(created));
    expect(await members(globalCapacityPk(), 'holders')).toEqual(ids(created));
    const day = await item(dailyCountPk(dana.id, '2026-12-06'));
    expect(day).toMatchObject({ admitted: 5, expiresAt: Date.parse('2026-12-08T00:00:00.000Z') / 1000 });

    // A cancelled job does not give its count back: the day stays spent.
    const id = created[0]!.json.job.jobId as string;
    const cancelled = await callApi(h.cancelJob, {
      method: 'POST',
      resource: '/jobs/{id}/cancel',
      pathParameters: { id },
      principal: dana,
    });
    expect(cancelled.json.status).toBe('CANCELLED');
    clockAt('2026-12-06T23:59:00.000Z');
    const late = await create(h, dana);
    expect([late.statusCode, late.headers['Retry-After']]).toEqual([429, '60']);
    expect((await create(h, person('person-erin'))).statusCode).toBe(201);

    clockAt('2026-12-07T00:00:01.000Z');
    const nextDay = await burst(h, dana, 8);
    expect(nextDay.filter((r) => r.statusCode === 201)).toHaveLength(5);
    expect((await item(dailyCountPk(dana.id, '2026-12-07')))?.admitted).toBe(5);
    expect((await item(dailyCountPk(dana.id, '2026-12-06')))?.admitted).toBe(5);
  });
});

describe('creates whose upload never comes', () => {
  const WINDOW_SECONDS = 60;

  it("free the principal's capacity once the upload window and its short grace are over", async () => {
    const h = await handlers({ LIMIT_PER_PRINCIPAL_IN_FLIGHT: '5', LIMIT_UPLOAD_URL_SECONDS: String(WINDOW_SECONDS) });
    const frank = person('person-frank');
    const start = Date.now();
    clockAt(start);
    const abandoned = await burst(h, frank, 5);
    expect(abandoned.every((r) => r.statusCode === 201)).toBe(true);
    expect((await create(h, frank)).statusCode).toBe(429);

    // Within the window plus grace the jobs may still get their bundle: they keep their slots.
    clockAt(start + (WINDOW_SECONDS + UPLOAD_SLOT_GRACE_SECONDS - 1) * 1000);
    expect((await create(h, frank)).statusCode).toBe(429);

    // Past it, the next create expires them inline and is admitted: no reaper run needed.
    clockAt(start + (WINDOW_SECONDS + UPLOAD_SLOT_GRACE_SECONDS + 1) * 1000);
    const admitted = await create(h, frank);
    expect(admitted.statusCode).toBe(201);
    for (const id of ids(abandoned)) {
      expect(await item(jobPk(id))).toMatchObject({ status: 'EXPIRED', expiredReason: 'UPLOAD_NOT_RECEIVED' });
    }
    expect(await members(ownerCapacityPk(frank.id), 'holders')).toEqual([admitted.json.job.jobId]);
    expect(await members(globalCapacityPk(), 'holders')).toEqual([admitted.json.job.jobId]);
    // Four more fit again, then the limit holds.
    const refill = await burst(h, frank, 6);
    expect(refill.filter((r) => r.statusCode === 201)).toHaveLength(4);
  });

  it('free global capacity for another principal the same way (503 SERVER_BUSY until then)', async () => {
    const h = await handlers({ LIMIT_GLOBAL_IN_FLIGHT: '3', LIMIT_UPLOAD_URL_SECONDS: String(WINDOW_SECONDS) });
    const start = Date.now();
    clockAt(start);
    expect((await burst(h, person('person-hank'), 3)).every((r) => r.statusCode === 201)).toBe(true);
    const ivy = person('person-ivy');
    expect((await create(h, ivy)).statusCode).toBe(503);
    clockAt(start + (WINDOW_SECONDS + UPLOAD_SLOT_GRACE_SECONDS + 1) * 1000);
    const admitted = await burst(h, ivy, 4);
    expect(admitted.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, 503]);
    expect(await members(ownerCapacityPk('person-hank'), 'holders')).toEqual([]);
  });

  it('keeps a job whose bundle arrived but whose S3 event is late, and validation still takes it', async () => {
    const h = await handlers({ LIMIT_PER_PRINCIPAL_IN_FLIGHT: '2', LIMIT_UPLOAD_URL_SECONDS: String(WINDOW_SECONDS) });
    const gina = person('person-gina');
    const start = Date.now();
    clockAt(start);
    const [uploaded, abandoned] = [await create(h, gina, 1), await create(h, gina, 2)];
    vi.useRealTimers(); // the presigned POST is checked by s3rver against the real clock
    expect((await uploadBundle(uploaded.json.upload, sampleBundle())).status).toBe(204);
    const event = await aws.nextCreated(s3Keys.bundle(uploaded.json.job.jobId));

    clockAt(start + (WINDOW_SECONDS + UPLOAD_SLOT_GRACE_SECONDS + 1) * 1000);
    expect((await create(h, gina, 3)).statusCode).toBe(201);
    expect((await item(jobPk(abandoned.json.job.jobId)))?.status).toBe('EXPIRED');
    expect((await item(jobPk(uploaded.json.job.jobId)))?.status).toBe('AWAITING_UPLOAD');
    expect((await create(h, gina, 4)).statusCode).toBe(429);
    expect(await h.validateUpload(event, lambdaContext())).toEqual({ outcomes: ['queued'] });
  });
});
