import { describe, expect, it } from 'vitest';
import { stoppedTaskOf } from '../../../../lambdas/decisions/task-event';

const event = (detail: Record<string, unknown>, detailType = 'ECS Task State Change') => ({
  'detail-type': detailType,
  source: 'aws.ecs',
  detail: {
    lastStatus: 'STOPPED',
    taskArn: 'arn:aws:ecs:eu-central-1:123456789012:task/c/abc',
    stopCode: 'UserInitiated',
    overrides: {
      containerOverrides: [
        { name: 'Other', environment: [{ name: 'X', value: '1' }] },
        {
          name: 'Runner',
          environment: [
            { name: 'INPUT_URL', value: 'https://…' },
            { name: 'JOB_ID', value: 'mb1x9k2f0q7h3c5n8r2t4v6w1' },
          ],
        },
      ],
    },
    ...detail,
  },
});

describe('the job of a stopped ECS task', () => {
  it('is JOB_ID from the container overrides, with the stop code and task', () => {
    expect(stoppedTaskOf(event({}))).toEqual({
      jobId: 'mb1x9k2f0q7h3c5n8r2t4v6w1',
      taskArn: 'arn:aws:ecs:eu-central-1:123456789012:task/c/abc',
      stopCode: 'UserInitiated',
    });
  });

  it('is nothing for other states, other events, a task without a job, or a value that is not a job id', () => {
    expect(stoppedTaskOf(event({ lastStatus: 'DEPROVISIONING' }))).toBeUndefined();
    expect(stoppedTaskOf(event({}, 'ECS Container Instance State Change'))).toBeUndefined();
    expect(stoppedTaskOf(event({ overrides: { containerOverrides: [] } }))).toBeUndefined();
    expect(stoppedTaskOf(event({ overrides: undefined }))).toBeUndefined();
    expect(
      stoppedTaskOf(event({ overrides: { containerOverrides: [{ name: 'Runner', environment: [{ name: 'JOB_ID', value: '../x' }] }] } })),
    ).toBeUndefined();
    expect(stoppedTaskOf({ detail: 'nope' })).toBeUndefined();
    expect(stoppedTaskOf(undefined)).toBeUndefined();
  });
});
