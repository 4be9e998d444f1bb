/** The display vocabulary the CLI and the web page share (core/format.ts). */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, plural, PROGRESS_STAGES, STATUS_LABELS, statusLabel } from '../../core/format';
import { JOB_STATUSES } from '../../core/job-states';

describe('job-state words', () => {
  it('names every state, each differently', () => {
    const labels = JOB_STATUSES.map(statusLabel);
    expect(labels.every((label) => label.length > 0)).toBe(true);
    expect(new Set(labels).size).toBe(JOB_STATUSES.length);
    expect(Object.keys(STATUS_LABELS).sort()).toEqual([...JOB_STATUSES].sort());
  });

  it('shows the way to SUCCEEDED as five stages in the same words', () => {
    expect(PROGRESS_STAGES).toEqual([
      { status: 'AWAITING_UPLOAD', label: 'Uploading' },
      { status: 'VALIDATING', label: 'Validating' },
      { status: 'QUEUED', label: 'Queued' },
      { status: 'RUNNING', label: 'Converting' },
      { status: 'SUCCEEDED', label: 'Done' },
    ]);
  });
});

describe('formatters', () => {
  it.each([
    [0, 'file', undefined, '0 files'],
    [1, 'file', undefined, '1 file'],
    [2, 'entry', 'entries', '2 entries'],
    [12_345, 'node', undefined, '12,345 nodes'],
  ])('plural(%d, %s)', (count, word, pluralWord, expected) => {
    expect(plural(count, word, pluralWord)).toBe(expected);
  });

  it.each([
    [-250, '0.0 s'],
    [420, '0.4 s'],
    [42_000, '42 s'],
    [185_000, '3 min 05 s'],
    [3_599_000, '59 min 59 s'],
    [3_780_000, '1 h 03 min'],
  ])('formatDuration(%d) = %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it.each([
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1_572_864, '1.5 MiB'],
  ])('formatBytes(%d) = %s', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });
});
