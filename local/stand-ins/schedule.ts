/**
 * EventBridge schedules for local mode: `rate(...)` expressions from the
 * template become timers, and each tick sends the function the event
 * EventBridge sends for a scheduled rule.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduleModel } from '../model/stack-model';

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** `rate(5 minutes)` → 300000. Local mode runs rate schedules only. */
export function rateToMs(expression: string): number {
  const match = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (!match) throw new Error(`Local mode runs rate(...) schedules only; the template has ${expression}`);
  const value = Number(match[1]);
  if (value < 1) throw new Error(`Invalid schedule ${expression}`);
  return value * UNIT_MS[match[2]!.replace(/s$/, '')]!;
}

/** The event EventBridge delivers for a scheduled rule. */
export function scheduledEvent(
  schedule: ScheduleModel,
  names: { region: string; accountId: string; partition: string; stackName: string },
  now: number,
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: names.accountId,
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: names.region,
    resources: [`arn:${names.partition}:events:${names.region}:${names.accountId}:rule/${names.stackName}-${schedule.logicalId}`],
    detail: {},
  };
}
