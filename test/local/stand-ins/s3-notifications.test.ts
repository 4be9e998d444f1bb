import type { S3Event } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { AsyncInvoker } from '../../../local/stand-ins/function-host/async-invoke';
import { encodeEventKey, eventMatches, invocationsFor } from '../../../local/stand-ins/s3/notifications';
import type { BucketModel, FunctionModel } from '../../../local/model/stack-model';

const VALIDATE = 'arn:aws:lambda:us-east-1:000000000000:function:validate';
const bucket: BucketModel = {
  logicalId: 'Data',
  name: 'data',
  cors: [],
  notifications: [{ functionArn: VALIDATE, events: ['s3:ObjectCreated:*'], prefix: 'bundles/' }],
};

/** An event as s3rver emits it: the key unencoded. */
function s3rverEvent(key: string, eventName = 'ObjectCreated:Post', bucketName = 'data'): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'x' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'x', 'x-amz-id-2': 'x' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'x',
          bucket: { name: bucketName, ownerIdentity: { principalId: 'x' }, arn: `arn:aws:s3:::${bucketName}` },
          object: { key, size: 1, eTag: 'e', sequencer: '1' },
        },
      },
    ],
  } as S3Event;
}

describe('bucket notifications', () => {
  it('match event types like S3: a wildcard covers Put, Post and Copy; removals are not created events', () => {
    expect(eventMatches('s3:ObjectCreated:*', 'ObjectCreated:Post')).toBe(true);
    expect(eventMatches('s3:ObjectCreated:*', 'ObjectCreated:Copy')).toBe(true);
    expect(eventMatches('s3:ObjectCreated:*', 'ObjectRemoved:Delete')).toBe(false);
    expect(eventMatches('s3:ObjectCreated:Put', 'ObjectCreated:Post')).toBe(false);
  });

  it('deliver only keys under the prefix, to the configured function, with the key encoded as S3 writes it', () => {
    expect(invocationsFor([bucket], s3rverEvent('results/j/result.zip'))).toEqual([]);
    expect(invocationsFor([bucket], s3rverEvent('bundles/j/bundle.zip', 'ObjectRemoved:Delete'))).toEqual([]);
    expect(invocationsFor([bucket], s3rverEvent('bundles/j/bundle.zip', 'ObjectCreated:Post', 'other'))).toEqual([]);
    const [invocation] = invocationsFor([bucket], s3rverEvent('bundles/a b/ü(1).zip'));
    expect(invocation!.functionArn).toBe(VALIDATE);
    expect(invocation!.event.Records[0]!.s3.object.key).toBe('bundles/a+b/%C3%BC(1).zip');
    expect(decodeURIComponent(encodeEventKey('x y/z+w').replace(/\+/g, ' '))).toBe('x y/z+w');
  });

  it('honour a suffix filter as well', () => {
    const withSuffix: BucketModel = { ...bucket, notifications: [{ ...bucket.notifications[0]!, suffix: '.zip' }] };
    expect(invocationsFor([withSuffix], s3rverEvent('bundles/j/bundle.zip'))).toHaveLength(1);
    expect(invocationsFor([withSuffix], s3rverEvent('bundles/j/bundle.tar'))).toHaveLength(0);
  });
});

describe('asynchronous invocation', () => {
  const fn = (retries: number, maxAgeSeconds = 3600): FunctionModel => ({
    logicalId: 'F',
    name: 'F',
    arn: VALIDATE,
    runtime: 'nodejs22.x',
    exportName: 'handler',
    env: {},
    timeoutSeconds: 1,
    memoryMb: 128,
    asyncInvoke: {
      maximumRetryAttempts: retries,
      maximumEventAgeSeconds: maxAgeSeconds,
      onFailure: 'arn:aws:sqs:us-east-1:000000000000:dlq',
    },
  });

  it('retries a failing event up to MaximumRetryAttempts, then hands it to the on-failure destination', async () => {
    let attempts = 0;
    const invoker = new AsyncInvoker({
      invoke: async () => {
        attempts++;
        throw Object.assign(new Error('nope'), { name: 'Boom' });
      },
      retryDelaysMs: [10, 20],
    });
    invoker.invoke(fn(2), { n: 1 });
    await invoker.idle();
    expect(attempts).toBe(3);
    expect(invoker.failures).toMatchObject([
      {
        attempts: 3,
        condition: 'RetriesExhausted',
        destination: 'arn:aws:sqs:us-east-1:000000000000:dlq',
        error: { type: 'Boom' },
        event: { n: 1 },
      },
    ]);
  });

  it('stops retrying an event older than MaximumEventAgeInSeconds, and delivers a recovered one once', async () => {
    let attempts = 0;
    const old = new AsyncInvoker({ invoke: async () => Promise.reject(new Error(`try ${++attempts}`)), retryDelaysMs: [2000] });
    old.invoke(fn(2, 1), {});
    await old.idle();
    expect(attempts).toBe(1);
    expect(old.failures[0]!.condition).toBe('EventAgeExceeded');

    let calls = 0;
    const flaky = new AsyncInvoker({ invoke: async () => (++calls === 1 ? Promise.reject(new Error('once')) : 'ok'), retryDelaysMs: [5] });
    flaky.invoke(fn(2), {});
    await flaky.idle();
    expect(calls).toBe(2);
    expect(flaky.failures).toEqual([]);
  });
});
