import { describe, expect, it } from 'vitest';
import { flatten, fullStack, logicalIdOf, resourcesOf, statementsOfRole } from './fixtures';
import type { Loose } from './fixtures';

describe('cancel: task-stopped events and StopExecution rights', () => {
  const { stack, template } = fullStack();
  const cluster = logicalIdOf(stack, stack.conversion.cluster);
  const machine = logicalIdOf(stack, stack.conversion.stateMachine);
  const stateActions = (role: Parameters<typeof logicalIdOf>[1]) =>
    statementsOfRole(template, logicalIdOf(stack, role))
      .filter((s) => [s.Action].flat().some((a: string) => a.startsWith('states:')))
      .map((s) => ({ actions: [s.Action].flat().sort(), resource: flatten(s.Resource) }));

  it("routes the conversion cluster's STOPPED task state changes, and only those, to the task-stopped function", () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [{ 'Fn::GetAtt': [cluster, 'Arn'] }], lastStatus: ['STOPPED'] },
    });
    const fn = logicalIdOf(stack, stack.taskStopEvents.function.fn);
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 },
      }),
    ]);
    // EventBridge may invoke it, nobody else.
    const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(([, p]) => flatten(p.Properties.FunctionName).includes(fn));
    expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(['events.amazonaws.com']);
  });

  it('lets the task-stopped function use the table and delete job data, and nothing of Step Functions', () => {
    const role = stack.taskStopEvents.function.role;
    expect(stateActions(role)).toEqual([]);
    const s3 = statementsOfRole(template, logicalIdOf(stack, role)).filter((s: Loose) => String(s.Action).startsWith('s3:'));
    expect(s3.map((s: Loose) => `${s.Action} ${flatten(s.Resource).replace(/^\$\{[^}]+\}/, '<bucket>')}`).sort()).toEqual([
      's3:DeleteObject <bucket>/bundles/*',
      's3:DeleteObject <bucket>/results/*',
    ]);
  });

  it('lets cancel and delete stop executions of the conversion state machine only (StopExecution and reading their history, nothing else)', () => {
    for (const handler of ['cancelJob', 'deleteJob'] as const) {
      const statements = stateActions(stack.api.functions[handler].role);
      expect(statements).toHaveLength(1);
      expect(statements[0]!.actions).toEqual(['states:GetExecutionHistory', 'states:StopExecution']);
      expect(statements[0]!.resource).toContain(':execution:');
      expect(statements[0]!.resource).toContain(machine);
    }
    const cancelS3 = statementsOfRole(template, logicalIdOf(stack, stack.api.functions.cancelJob.role)).filter((s: Loose) =>
      String(s.Action).startsWith('s3:'),
    );
    expect(cancelS3.map((s: Loose) => `${s.Action} ${flatten(s.Resource).replace(/^\$\{[^}]+\}/, '<bucket>')}`)).toEqual([
      's3:DeleteObject <bucket>/bundles/*',
    ]);
    // Reading jobs never stops anything.
    for (const handler of ['getJob', 'listJobs', 'getResult', 'createJob'] as const)
      expect(stateActions(stack.api.functions[handler].role)).toEqual([]);
  });
});
