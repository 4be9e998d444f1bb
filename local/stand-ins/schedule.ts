/**
 * EventBridge schedules for local mode: `rate(...)` expressions from the
 * template become timers, and each tick sends the function the event
 * EventBridge sends for a scheduled rule.
 */
import { randomUUID } from 'node:crypto';
import type { LocalClock } from '../host/clock';
import type { ScheduleModel } from '../model/stack-model';
import type { LocalFunctions } from './function-host/start-functions';

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

export interface LocalSchedules {
  /** Runs every schedule's targets now, synchronously, and resolves with their results. */
  fireAll(): Promise<unknown[]>;
  close(): void;
}

export interface SchedulesOptions {
  /** The enabled schedules. */
  schedules: ScheduleModel[];
  names: { region: string; accountId: string; partition: string; stackName: string };
  clock: LocalClock;
  /** The targets: fireAll invokes them synchronously, a timer asynchronously (as EventBridge does). */
  functions: Pick<LocalFunctions, 'invoke' | 'invokeAsync'>;
  /** Fire on the schedules' timers (off: only fireAll). */
  timers: boolean;
}

export function startSchedules(options: SchedulesOptions): LocalSchedules {
  const { clock, names } = options;
  const fire = (schedule: ScheduleModel, sync: boolean) =>
    schedule.targetArns.map((arn) => {
      const event = scheduledEvent(schedule, names, clock.now());
      if (sync) return options.functions.invoke(arn, event);
      options.functions.invokeAsync(arn, event);
      return Promise.resolve(undefined);
    });
  const timers = options.timers
    ? options.schedules.map((schedule) => setInterval(() => void fire(schedule, false), rateToMs(schedule.expression)))
    : [];
  return {
    fireAll: () => Promise.all(options.schedules.flatMap((schedule) => fire(schedule, true))),
    close: () => timers.forEach((t) => clearInterval(t)),
  };
}
