import { randomBytes } from 'node:crypto';

const TIME_CHARS = 9; // base36 milliseconds: enough until the year 5188
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A new job id: base36 creation time (so ids sort by age and the reaper can
 * tell how old an id is even when its record is missing) + 16 random chars.
 */
export function newJobId(nowMs: number = Date.now()): string {
  const time = nowMs.toString(36).padStart(TIME_CHARS, '0');
  const bytes = randomBytes(16);
  let random = '';
  for (const byte of bytes) random += ALPHABET[byte % 36];
  return time + random;
}

/** Creation time encoded in a job id, or undefined for ids not made by newJobId. */
export function jobIdTime(jobId: string): number | undefined {
  if (!/^[0-9a-z]{25}$/.test(jobId)) return undefined;
  const ms = parseInt(jobId.slice(0, TIME_CHARS), 36);
  return Number.isFinite(ms) ? ms : undefined;
}
