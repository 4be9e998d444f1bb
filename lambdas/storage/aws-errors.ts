/** True when `error` is the named AWS service exception (matched by name: works across SDK copies and bundles). */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && names.includes(name);
}

export const isConditionFailure = (error: unknown) => isAwsError(error, 'ConditionalCheckFailedException');
