/**
 * The admin listing over 2,400 job records in dynalite (seeded with BatchWrite, as JobStore.create writes items):
 * every filter and the counts are served by Query on an index — the commands sent are recorded, and no Scan is
 * among them — and the pages, followed to the end, are exactly the matching jobs, newest first, each once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../core/errors';
import { JOB_STATUSES, type JobStatus } from '../../core/job-states';
import { TABLE } from '../../core/service-env';
import { newJobItem, JobStore, type StoredJob } from '../../lambdas/storage/job-store';
import { countAdminJobs, JOB_ERROR_CODES, listAdminJobs } from '../../lambdas/use-cases/admin-jobs';
import { startLocalAws, TEST_CREDENTIALS, TEST_REGION, type LocalAws } from '../support/local-aws';

const JOBS = 2400;
const NOW = Date.parse('2026-03-15T12:00:00.000Z');
const DAY = 86_400_000;
const OWNERS = ['owner-a', 'owner-b', 'owner-c', 'owner-d', 'owner-e'];
const CODES: ErrorCode[] = ['ZIP_CORRUPT', 'SETTINGS_MISSING', 'CONVERTER_PARSE_ERROR', 'CONVERTER_TIMEOUT'];

let aws: LocalAws;
let store: JobStore;
const sent: { command: string; input: Record<string, unknown> }[] = [];
const jobs: StoredJob[] = [];

/** Job i: created i × 53 minutes before NOW (about 88 days: four month partitions), owner, status and code by rotation. */
function job(i: number): StoredJob {
  const createdAt = new Date(NOW - i * 53 * 60_000).toISOString();
  const status = JOB_STATUSES[i % JOB_STATUSES.length] as JobStatus;
  const failed = status === 'FAILED' || status === 'REJECTED' || status === 'TIMED_OUT';
  return {
    jobId: `job${String(i).padStart(6, '0')}abcdefghijklmnop`,
    owner: OWNERS[i % OWNERS.length]!,
    status,
    workflowName: `flow ${i}`,
    options: { workbook: 'both', graph: 'both' },
    createdAt,
    updatedAt: createdAt,
    uploadExpiresAt: createdAt,
    expiresAt: Math.floor(NOW / 1000) + 30 * 86_400,
    ...(failed ? { error: { code: CODES[i % CODES.length]!, message: 'failed' } } : {}),
  };
}

beforeAll(async () => {
  aws = await startLocalAws();
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS, endpoint: aws.endpoints.dynamodb }),
  );
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName as string, input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  store = new JobStore(ddb, aws.tableName);
  for (let i = 0; i < JOBS; i++) jobs.push(job(i));
  for (let i = 0; i < JOBS; i += 25) {
    const batch = jobs.slice(i, i + 25).map((j) => ({ PutRequest: { Item: newJobItem(j) } }));
    await aws.ddb.send(new BatchWriteCommand({ RequestItems: { [aws.tableName]: batch } }));
  }
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

beforeEach(() => {
  sent.length = 0;
});

/** Every page of a listing, followed to the end. */
async function listAll(filters: { state?: JobStatus; code?: ErrorCode; owner?: string; since?: string; until?: string }, limit = 100) {
  const seen: StoredJob[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await listAdminJobs(store, { ...filters, limit, nextToken }, NOW);
    expect(page.jobs.length).toBeLessThanOrEqual(limit);
    seen.push(...page.jobs);
    nextToken = page.nextToken;
    pages++;
  } while (nextToken && pages < 200);
  return seen.map((j) => j.jobId);
}

function expected(filter: (j: StoredJob) => boolean, since = NOW - 30 * DAY, until = NOW): string[] {
  return jobs
    .filter((j) => Date.parse(j.createdAt) >= since && Date.parse(j.createdAt) <= until && filter(j))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .map((j) => j.jobId);
}

/** Only Queries were sent, each on the index named. */
function expectQueriesOn(...indexes: string[]) {
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.filter((s) => s.command !== 'QueryCommand')).toEqual([]);
  expect([...new Set(sent.map((s) => s.input.IndexName))].sort()).toEqual([...indexes].sort());
}

describe(`admin listing over ${JOBS} jobs`, () => {
  it('no filter: every job of the default 30 days, newest first, from the creation-month index', async () => {
    const ids = await listAll({});
    expect(ids).toEqual(expected(() => true));
    expect(ids.length).toBeGreaterThan(700);
    expectQueriesOn(TABLE.monthIndex);
  });

  it('a range across four months, in pages of 37', async () => {
    const since = new Date(NOW - 85 * DAY).toISOString();
    const ids = await listAll({ since, until: new Date(NOW - DAY).toISOString() }, 37);
    expect(ids).toEqual(expected(() => true, NOW - 85 * DAY, NOW - DAY));
    expectQueriesOn(TABLE.monthIndex);
    expect(new Set(sent.map((s) => (s.input.ExpressionAttributeValues as Record<string, unknown>)[':p'])).size).toBe(4);
  });

  it('state: from the status index', async () => {
    expect(await listAll({ state: 'FAILED', since: '60d' })).toEqual(expected((j) => j.status === 'FAILED', NOW - 60 * DAY));
    expectQueriesOn(TABLE.statusIndex);
  });

  it('code (with and without state): from the sparse error-code index', async () => {
    expect(await listAll({ code: 'SETTINGS_MISSING', since: '80d' })).toEqual(
      expected((j) => j.error?.code === 'SETTINGS_MISSING', NOW - 80 * DAY),
    );
    expect(await listAll({ code: 'ZIP_CORRUPT', state: 'REJECTED', since: '80d' }, 5)).toEqual(
      expected((j) => j.error?.code === 'ZIP_CORRUPT' && j.status === 'REJECTED', NOW - 80 * DAY),
    );
    expectQueriesOn(TABLE.codeIndex);
  });

  it('owner (with and without state): from the owner index', async () => {
    expect(await listAll({ owner: 'owner-c', since: '24h' })).toEqual(expected((j) => j.owner === 'owner-c', NOW - DAY));
    expect(await listAll({ owner: 'owner-b', state: 'SUCCEEDED', since: '45d' }, 7)).toEqual(
      expected((j) => j.owner === 'owner-b' && j.status === 'SUCCEEDED', NOW - 45 * DAY),
    );
    expectQueriesOn(TABLE.ownerIndex);
  });

  it('counts by state and by code: COUNT Queries on the status and error-code indexes that match the records', async () => {
    const since = NOW - 50 * DAY;
    const counts = await countAdminJobs(store, { since: '50d' }, NOW);
    const inRange = jobs.filter((j) => Date.parse(j.createdAt) >= since);
    expect(counts.total).toBe(inRange.length);
    for (const status of JOB_STATUSES) expect(counts.byState[status], status).toBe(inRange.filter((j) => j.status === status).length);
    const byCode: Record<string, number> = {};
    for (const j of inRange) if (j.error) byCode[j.error.code] = (byCode[j.error.code] ?? 0) + 1;
    expect(counts.byCode).toEqual(byCode);
    expectQueriesOn(TABLE.statusIndex, TABLE.codeIndex);
    expect(sent.every((s) => s.input.Select === 'COUNT')).toBe(true);
    expect(sent.length).toBe(JOB_STATUSES.length + JOB_ERROR_CODES.length);
    expect(JOB_ERROR_CODES.length).toBeLessThan(ERROR_CODES.length);
  });

  it('a token is refused (400) for another listing, outside the range, or when hand-made', async () => {
    const page = await listAdminJobs(store, { state: 'QUEUED', limit: 3 }, NOW);
    expect(page.nextToken).toBeDefined();
    const refusals = [
      listAdminJobs(store, { state: 'RUNNING', limit: 3, nextToken: page.nextToken }, NOW),
      listAdminJobs(store, { state: 'QUEUED', limit: 3, nextToken: page.nextToken, until: '20d' }, NOW),
      listAdminJobs(store, { limit: 3, nextToken: 'bm90LWpzb24' }, NOW),
      listAdminJobs(store, { limit: 3, nextToken: Buffer.from('{"p":"2026-03","k":{"pk":"x"}}').toString('base64url') }, NOW),
    ];
    for (const refusal of refusals)
      await expect(refusal).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'nextToken' } });
    await expect(listAdminJobs(store, { limit: 3, since: 'yesterday' }, NOW)).rejects.toMatchObject({ details: { field: 'since' } });
  });
});
