/**
 * What local mode runs of a synthesized stack: the functions something in the
 * template invokes, the buckets they or notifications use, the enabled
 * schedules and event rules. Whatever local mode cannot run fails here, before a server starts.
 */
import { bundleLimitsFromEnv } from '../../core/limits';
import type { BucketModel, EventRuleModel, FunctionModel, ScheduleModel, StackModel } from '../model/stack-model';
import { checkPattern } from '../stand-ins/event-bus';
import { rateToMs } from '../stand-ins/schedule';

export interface StackPlan {
  functions: FunctionModel[];
  buckets: BucketModel[];
  schedules: ScheduleModel[];
  eventRules: EventRuleModel[];
  /** The largest upload any function's presigned POST allows. */
  maxUploadBytes: number;
}

/** Functions local mode must run: API integrations, notification targets, schedule targets, state machine tasks. */
function referencedFunctions(model: StackModel): FunctionModel[] {
  const arns = new Set<string>();
  for (const route of model.api.routes) if (route.functionArn) arns.add(route.functionArn);
  for (const route of model.api.routes) if (route.authorizer) arns.add(route.authorizer.functionArn);
  for (const bucket of model.buckets) for (const n of bucket.notifications) arns.add(n.functionArn);
  for (const schedule of model.schedules) for (const arn of schedule.targetArns) arns.add(arn);
  for (const rule of model.eventRules) for (const arn of rule.targetArns) arns.add(arn);
  for (const machine of model.stateMachines) {
    for (const match of JSON.stringify(machine.definition).matchAll(/arn:aws[a-z-]*:lambda:[^:"]+:\d+:function:[^:"]+/g))
      arns.add(match[0]);
  }
  return [...arns].map((arn) => {
    const fn = model.functionByArn(arn);
    if (!fn.modulePath)
      throw new Error(`Local mode cannot run ${fn.logicalId} (${fn.runtime}): only Node.js bundles staged in cdk.out run locally.`);
    return fn;
  });
}

export function planStack(model: StackModel): StackPlan {
  const functions = referencedFunctions(model);
  const schedules = model.schedules.filter((s) => s.enabled);
  for (const schedule of schedules) rateToMs(schedule.expression);
  const eventRules = model.eventRules.filter((r) => r.enabled);
  for (const rule of eventRules) checkPattern(rule.pattern, rule.logicalId);
  const allEnv = functions.map((f) => Object.values(f.env).join('\n')).join('\n');
  return {
    functions,
    buckets: model.buckets.filter((b) => b.notifications.length > 0 || allEnv.includes(b.name)),
    schedules,
    eventRules,
    maxUploadBytes: Math.max(...functions.map((f) => bundleLimitsFromEnv(f.env).maxUploadBytes)),
  };
}
