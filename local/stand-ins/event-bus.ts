/**
 * EventBridge's default bus for local mode: an event put on it goes to every
 * enabled rule of the template whose event pattern matches, and each rule's
 * target functions are invoked asynchronously, as EventBridge does. Patterns
 * are matched by exact value (arrays list the allowed values, objects nest);
 * any other pattern operator (prefix, anything-but, numeric, exists, …) is
 * refused when the bus starts, never silently ignored.
 */
import type { EventRuleModel } from '../model/stack-model';
import type { LocalFunctions } from './function-host/start-functions';

type Scalar = string | number | boolean | null;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Throws unless `pattern` uses only what local mode matches: nested objects and arrays of exact values. */
export function checkPattern(pattern: unknown, where: string): void {
  if (!isObject(pattern)) throw new Error(`Event pattern of ${where} must be an object`);
  for (const [key, value] of Object.entries(pattern)) {
    const path = `${where}: ${key}`;
    if (isObject(value)) {
      checkPattern(value, path);
      continue;
    }
    if (!Array.isArray(value)) throw new Error(`Event pattern of ${path} must be an array of values or an object`);
    for (const item of value) {
      if (item !== null && typeof item === 'object') {
        throw new Error(
          `Local mode's event bus matches exact values only; the pattern of ${path} uses ${JSON.stringify(item)}, which it does not support`,
        );
      }
    }
  }
}

/** Whether `event` matches `pattern` (EventBridge semantics for exact values: a field missing from the event does not match). */
export function matchesPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    if (!(key in event)) return false;
    const actual = event[key];
    if (isObject(expected)) return matchesPattern(expected, actual);
    const allowed = expected as Scalar[];
    // An array in the event matches when any of its elements is allowed.
    return Array.isArray(actual) ? actual.some((v) => allowed.includes(v as Scalar)) : allowed.includes(actual as Scalar);
  });
}

export interface LocalEventBus {
  /** Delivers `event` to the targets of every matching rule (asynchronously); returns the rules that matched. */
  put(event: unknown): string[];
}

export interface EventBusOptions {
  /** The enabled rules with event patterns. */
  rules: EventRuleModel[];
  functions: Pick<LocalFunctions, 'invokeAsync'>;
}

export function startEventBus(options: EventBusOptions): LocalEventBus {
  for (const rule of options.rules) checkPattern(rule.pattern, rule.logicalId);
  return {
    put(event) {
      const matched = options.rules.filter((rule) => matchesPattern(rule.pattern, event));
      for (const rule of matched) for (const arn of rule.targetArns) options.functions.invokeAsync(arn, event);
      return matched.map((rule) => rule.logicalId);
    },
  };
}
