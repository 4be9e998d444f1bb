/**
 * Every route's path and query parameters, fuzzed against the real handlers on
 * dynalite and s3rver: whatever a caller sends, the answer is never a 5xx and
 * every refusal is the project's JSON error envelope. nextToken gets the most
 * attention: hand-made tokens that decode to JSON with empty, odd or foreign key
 * fields must be 400 INVALID_REQUEST, not a DynamoDB error.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, PUBLIC_HANDLERS, type ApiRoute } from '../../core/api-routes';
import { ErrorEnvelopeSchema } from '../../core/api-schemas';
import { applyEnv, callApi, loadHandlers, type AnyHandler, type ApiResponse } from '../support/lambda-harness';
import { startLocalAws, type LocalAws } from '../support/local-aws';

const OWNER = 'key-fuzz-0001';
const HANDLERS = API_ROUTES.map((r) => r.handler);
let aws: LocalAws;
let handlers: Record<(typeof HANDLERS)[number], AnyHandler>;
/** A real job (cancelled, so a valid waitSeconds is answered at once) and a real nextToken. */
let jobId: string;
let realToken: string;

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

async function call(route: ApiRoute, request: { id?: string; query?: Record<string, string> }): Promise<ApiResponse> {
  const hasId = route.path.includes('{id}');
  return callApi(handlers[route.handler], {
    method: route.method,
    resource: route.path,
    apiKeyId: PUBLIC_HANDLERS.has(route.handler) ? null : OWNER,
    ...(hasId ? { pathParameters: { id: request.id ?? jobId } } : {}),
    ...(request.query ? { query: request.query } : {}),
    ...(route.method === 'POST' ? { body: {} } : route.method === 'PUT' ? { body: { url: null } } : {}),
  });
}

function expectWellFormed(response: ApiResponse, what: string) {
  expect(response.statusCode, `${what} → ${response.statusCode} ${response.body}`).toBeLessThan(500);
  if (response.statusCode >= 400) {
    expect(ErrorEnvelopeSchema.safeParse(response.json).success, `${what} → ${response.body}`).toBe(true);
  }
}

/** Odd strings: empty, whitespace, numbers in every spelling, unicode, control and URL characters, very long. */
const oddString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1',
    '20',
    '21',
    '100',
    '101',
    '1e1',
    '0x10',
    '1.5',
    'NaN',
    'Infinity',
    'true',
    'null',
    '%00',
    '../x',
    '\u0000',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 2000, maxLength: 3000 }),
);

/** Tokens: arbitrary text, base64url of arbitrary JSON, and of key-shaped objects with fuzzed fields. */
const tokenFuzz = () =>
  fc.oneof(
    oddString,
    fc.jsonValue().map(b64),
    fc
      .record(
        {
          pk: fc.oneof(fc.constantFrom('', 'JOB#', `JOB#${jobId}`, 'CAP#global', 'JOB#x'), fc.string()),
          createdAt: fc.oneof(fc.constantFrom('', '2026-01-01T00:00:00Z', 'not-a-date', '2026-13-40T99:99:99Z'), fc.string()),
          owner: fc.oneof(fc.constantFrom('', OWNER, 'someone-else'), fc.string()),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map(b64),
    fc
      .nat({ max: realToken.length - 1 })
      .chain((at) =>
        fc
          .string({ minLength: 1, maxLength: 1 })
          .map((c) => b64(`${Buffer.from(realToken, 'base64url').toString('utf8').slice(0, at)}${c}`)),
      ),
    fc.constant(realToken),
  );

/** Known query names with fuzzed values, plus unknown names. */
const queryFuzz = () =>
  fc.dictionary(
    fc.oneof(fc.constantFrom('limit', 'nextToken', 'waitSeconds', 'redirect'), fc.string({ maxLength: 12 })),
    fc.oneof(oddString, tokenFuzz()),
    { maxKeys: 4 },
  );

const idFuzz = () => fc.oneof(oddString, fc.constantFrom('zzzzzzzzzzzzzzzzzzzzzzzzz', 'a'.repeat(65), 'a'.repeat(64)), fc.constant(jobId));

beforeAll(async () => {
  aws = await startLocalAws();
  applyEnv({ ...aws.env, LIMIT_GLOBAL_IN_FLIGHT: '100000', LIMIT_PER_KEY_IN_FLIGHT: '100000' });
  handlers = (await loadHandlers(HANDLERS)) as typeof handlers;
  const createJob = API_ROUTES.find((r) => r.handler === 'createJob')!;
  const listJobs = API_ROUTES.find((r) => r.handler === 'listJobs')!;
  for (let i = 0; i < 3; i++) expect((await call(createJob, {})).statusCode).toBe(201);
  const page = await call(listJobs, { query: { limit: '1' } });
  expect(page.statusCode).toBe(200);
  jobId = page.json.jobs[0].jobId;
  realToken = page.json.nextToken;
  expect(realToken).toBeTruthy();
  expect(
    (
      await call(
        API_ROUTES.find((r) => r.handler === 'cancelJob')!,
        { id: jobId },
      )
    ).statusCode,
  ).toBeLessThan(300);
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

describe('no parameter a caller can send gives a 5xx', () => {
  it('GET /jobs: a nextToken decoding to empty or foreign key fields is 400 INVALID_REQUEST', async () => {
    for (const key of [
      { pk: '', createdAt: '', owner: '' },
      { pk: '', createdAt: '2026-01-01T00:00:00Z', owner: OWNER },
      { pk: `JOB#${jobId}`, createdAt: '', owner: OWNER },
      { pk: `JOB#${jobId}`, createdAt: '2026-01-01T00:00:00Z', owner: 'someone-else' },
      {},
      [],
    ]) {
      const response = await call(
        API_ROUTES.find((r) => r.handler === 'listJobs')!,
        { query: { nextToken: b64(key) } },
      );
      expect(response.statusCode, JSON.stringify(key)).toBe(400);
      expect(response.json.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('GET /jobs: fuzzed nextToken and limit', async () => {
    const listJobs = API_ROUTES.find((r) => r.handler === 'listJobs')!;
    await fc.assert(
      fc.asyncProperty(fc.option(tokenFuzz(), { nil: undefined }), fc.option(oddString, { nil: undefined }), async (nextToken, limit) => {
        const query = { ...(nextToken !== undefined ? { nextToken } : {}), ...(limit !== undefined ? { limit } : {}) };
        const response = await call(listJobs, { query });
        expectWellFormed(response, `GET /jobs ${JSON.stringify(query).slice(0, 200)}`);
        if (nextToken !== undefined && nextToken !== realToken && response.statusCode === 200) {
          // Only a token this service issued may page: anything else accepted must at least decode to our owner's key.
          expect(JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')).owner).toBe(OWNER);
        }
      }),
      { numRuns: 300 },
    );
  }, 300_000);

  it('query names that are Object.prototype members are parameters like any other', async () => {
    const query = JSON.parse('{"__proto__":"x","valueOf":"1","constructor":"2","hasOwnProperty":"3"}') as Record<string, string>;
    for (const route of API_ROUTES) expectWellFormed(await call(route, { query }), `${route.method} ${route.path}`);
  });

  for (const route of API_ROUTES) {
    it(`${route.method} ${route.path}: fuzzed path and query parameters`, async () => {
      await fc.assert(
        fc.asyncProperty(idFuzz(), queryFuzz(), async (id, query) => {
          const response = await call(route, { id, query });
          expectWellFormed(
            response,
            `${route.method} ${route.path} id=${JSON.stringify(id).slice(0, 80)} ${JSON.stringify(query).slice(0, 200)}`,
          );
        }),
        { numRuns: route.handler === 'createJob' ? 30 : 60 },
      );
    }, 300_000);
  }
});
