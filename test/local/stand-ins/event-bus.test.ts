import { describe, expect, it } from 'vitest';
import { checkPattern, matchesPattern, startEventBus } from '../../../local/stand-ins/event-bus';

const PATTERN = {
  source: ['aws.ecs'],
  'detail-type': ['ECS Task State Change'],
  detail: { clusterArn: ['arn:aws:ecs:us-east-1:000000000000:cluster/c'], lastStatus: ['STOPPED'] },
};

const event = (detail: Record<string, unknown>, source = 'aws.ecs') => ({
  version: '0',
  source,
  'detail-type': 'ECS Task State Change',
  detail: { clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/c', lastStatus: 'STOPPED', ...detail },
});

describe('local event bus', () => {
  it('matches nested exact values, arrays in the event by any element, and nothing when a field is missing', () => {
    expect(matchesPattern(PATTERN, event({}))).toBe(true);
    expect(matchesPattern(PATTERN, event({ lastStatus: 'RUNNING' }))).toBe(false);
    expect(matchesPattern(PATTERN, event({ clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/other' }))).toBe(false);
    expect(matchesPattern(PATTERN, event({}, 'aws.s3'))).toBe(false);
    expect(matchesPattern(PATTERN, { source: 'aws.ecs', 'detail-type': 'ECS Task State Change' })).toBe(false);
    expect(matchesPattern({ resources: ['a'] }, { resources: ['b', 'a'] })).toBe(true);
    expect(matchesPattern({ detail: { n: [1] } }, { detail: { n: '1' } })).toBe(false);
  });

  it('refuses pattern operators it does not implement, loudly', () => {
    expect(() => checkPattern(PATTERN, 'Rule')).not.toThrow();
    expect(() => checkPattern({ detail: { taskArn: [{ prefix: 'arn:' }] } }, 'Rule')).toThrow(/exact values only.*prefix/);
    expect(() => checkPattern({ source: [{ 'anything-but': 'x' }] }, 'Rule')).toThrow(/does not support/);
    expect(() => checkPattern({ source: 'aws.ecs' }, 'Rule')).toThrow(/array of values or an object/);
    expect(() =>
      startEventBus({
        rules: [{ logicalId: 'R', pattern: { a: [{ exists: true }] }, enabled: true, targetArns: [] }],
        functions: { invokeAsync: () => undefined },
      }),
    ).toThrow();
  });

  it("invokes every matching rule's targets asynchronously with the event", () => {
    const calls: [string, unknown][] = [];
    const bus = startEventBus({
      rules: [
        { logicalId: 'Stopped', pattern: PATTERN, enabled: true, targetArns: ['arn:fn:a', 'arn:fn:b'] },
        { logicalId: 'Other', pattern: { source: ['aws.s3'] }, enabled: true, targetArns: ['arn:fn:c'] },
      ],
      functions: { invokeAsync: (arn, payload) => void calls.push([arn, payload]) },
    });
    const stopped = event({});
    expect(bus.put(stopped)).toEqual(['Stopped']);
    expect(calls).toEqual([
      ['arn:fn:a', stopped],
      ['arn:fn:b', stopped],
    ]);
    expect(bus.put(event({ lastStatus: 'PENDING' }))).toEqual([]);
  });
});
