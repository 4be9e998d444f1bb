import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_LIMITS } from '../../../core/limits';
import { DomainError } from '../../../core/errors';
import { deadlineOf, runnerUrlSeconds, UPLOAD_GRACE_SECONDS } from '../../../lambdas/decisions/deadlines';
import { executionArnFor } from '../../../lambdas/storage/executions';
import { requestHash } from '../../../lambdas/storage/idempotency';
import { jobIdTime, newJobId } from '../../../lambdas/decisions/ids';
import { decodeNextToken, encodeNextToken } from '../../../lambdas/use-cases/job-queries';
import { isExpiredRecord } from '../../../lambdas/storage/job-store';
import { idempotencyPk } from '../../../lambdas/storage/table-keys';
import { decodeS3Key } from '../../../lambdas/use-cases/upload-validation';
import { jobIdFromBundleKey, s3Keys } from '../../../core/service-env';

describe('job ids', () => {
  it('are valid bundle-key ids that sort by creation time and carry it', () => {
    const early = newJobId(1_700_000_000_000);
    const late = newJobId(1_700_000_000_001);
    expect(early < late).toBe(true);
    expect(jobIdFromBundleKey(s3Keys.bundle(early))).toBe(early);
    expect(jobIdTime(early)).toBe(1_700_000_000_000);
    expect(jobIdTime('not-one-of-ours')).toBeUndefined();
    expect(new Set(Array.from({ length: 1000 }, () => newJobId(0))).size).toBe(1000);
  });
});

describe('idempotency', () => {
  it('hashes requests independently of key order and undefined fields', () => {
    expect(requestHash({ a: 1, b: { c: 2, d: undefined } })).toBe(requestHash({ b: { c: 2 }, a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
  });

  it('keys records by API key and a hash of the client key', () => {
    expect(idempotencyPk('k1', 'x')).not.toBe(idempotencyPk('k2', 'x'));
    expect(idempotencyPk('k1', 'y'.repeat(255))).toMatch(/^IDEM#k1#[0-9a-f]{64}$/);
  });
});

describe('list pagination tokens', () => {
  it('round-trip for their owner only', () => {
    const key = { pk: 'JOB#0mxbfdvouymh10y3ub6knocdj', owner: 'k1', createdAt: '2025-01-01T00:00:00.000Z' };
    const token = encodeNextToken(key)!;
    expect(decodeNextToken(token, 'k1')).toEqual(key);
    expect(() => decodeNextToken(token, 'k2')).toThrow(DomainError);
    expect(() => decodeNextToken('%%%', 'k1')).toThrow(DomainError);
    expect(() => decodeNextToken(Buffer.from(JSON.stringify({ ...key, extra: 1 })).toString('base64url'), 'k1')).toThrow(DomainError);
    expect(encodeNextToken(undefined)).toBeUndefined();
  });

  const tokenOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const good = { pk: 'JOB#0mxbfdvouymh10y3ub6knocdj', owner: 'k1', createdAt: '2025-01-01T00:00:00.000Z' };

  it.each([
    ['an empty pk', { ...good, pk: '' }],
    ['an empty createdAt', { ...good, createdAt: '' }],
    ['a pk that is not a job', { ...good, pk: 'CAP#GLOBAL' }],
    ['a job pk with a bad id', { ...good, pk: 'JOB#../x' }],
    ['a createdAt that is not a timestamp', { ...good, createdAt: 'yesterday' }],
    ['a numeric createdAt', { ...good, createdAt: 1 }],
    ['an empty owner', { ...good, owner: '' }],
    ['a missing field', { pk: good.pk, owner: good.owner }],
    ['an array', [good]],
    ['null', null],
  ])('refuses a hand-made token with %s as 400 INVALID_REQUEST (never a DynamoDB error)', (_, value) => {
    const owner = (value as { owner?: string } | null)?.owner ?? 'k1';
    expect(() => decodeNextToken(tokenOf(value), owner)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });

  it('answers every token with a key or INVALID_REQUEST, nothing else (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map(tokenOf),
          fc.record({ pk: fc.string(), owner: fc.constant('k1'), createdAt: fc.string() }).map(tokenOf),
        ),
        (token) => {
          try {
            const key = decodeNextToken(token, 'k1');
            if (key) expect(key).toEqual(expect.objectContaining({ owner: 'k1', pk: expect.stringMatching(/^JOB#/) }));
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
            expect((error as DomainError).code).toBe('INVALID_REQUEST');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('deadlines', () => {
  const job = { uploadExpiresAt: '2025-01-01T00:15:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' };
  it('uses the stored deadline, else the stage allowance', () => {
    expect(deadlineOf({ ...job, status: 'QUEUED', deadlineAt: '2025-01-01T01:00:00.000Z' }, DEFAULT_SERVICE_LIMITS)).toBe(
      Date.parse('2025-01-01T01:00:00.000Z'),
    );
    expect(deadlineOf({ ...job, status: 'AWAITING_UPLOAD' }, DEFAULT_SERVICE_LIMITS)).toBe(
      Date.parse(job.uploadExpiresAt) + UPLOAD_GRACE_SECONDS * 1000,
    );
    expect(deadlineOf({ ...job, status: 'RUNNING' }, DEFAULT_SERVICE_LIMITS)).toBe(Date.parse(job.updatedAt) + (300 + 1800) * 1000);
    expect(deadlineOf({ ...job, status: 'FAILED' }, DEFAULT_SERVICE_LIMITS)).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives the runner URLs that outlive the converter time limit', () => {
    expect(runnerUrlSeconds(DEFAULT_SERVICE_LIMITS)).toBeGreaterThan(DEFAULT_SERVICE_LIMITS.converterTimeoutSeconds);
  });

  it('treats records past their TTL as gone', () => {
    expect(isExpiredRecord({ expiresAt: 100 }, 101_000)).toBe(true);
    expect(isExpiredRecord({ expiresAt: 100 }, 100_000)).toBe(false);
  });
});

describe('AWS naming', () => {
  it('derives the execution ARN from the state machine ARN and the job id', () => {
    expect(executionArnFor('arn:aws:states:eu-central-1:123456789012:stateMachine:conv', 'job1')).toBe(
      'arn:aws:states:eu-central-1:123456789012:execution:conv:job1',
    );
  });

  it('decodes S3 event keys (URL-encoded with + for spaces) and leaves raw keys alone', () => {
    expect(decodeS3Key('bundles/abc%2Bdef/bundle+1.zip')).toBe('bundles/abc+def/bundle 1.zip');
    expect(decodeS3Key('bundles/abcdefgh/bundle.zip')).toBe('bundles/abcdefgh/bundle.zip');
    expect(decodeS3Key('bad%zz')).toBe('bad%zz');
  });
});
