import { describe, expect, it } from 'vitest';
import {
  CreateJobRequestSchema,
  ErrorEnvelopeSchema,
  ListJobsQuerySchema,
  resultContentDisposition,
  resultFilename,
  workflowNameFromFilename,
} from '../../../core/api-schemas';

describe('workflowNameFromFilename', () => {
  it.each([
    ['KNIME_PP_2022_LR.knwf', 'KNIME_PP_2022_LR'],
    ['bundle.ZIP', 'bundle'],
    ['C:\\Users\\ada\\My Flow.knwf', 'My Flow'],
    ['exports/Customer Churn (v2).zip', 'Customer Churn (v2)'],
    ['Übersicht Kunden.knwf', 'Übersicht Kunden'],
    ['a"b;c<d>.zip', 'a_b_c_d_'],
    ['..hidden.zip', 'hidden'],
    ['...', 'workflow'],
    ['.zip', 'workflow'],
    ['$$$.zip', 'workflow'],
    [undefined, 'workflow'],
  ])('%s → %s', (input, expected) => {
    expect(workflowNameFromFilename(input)).toBe(expected);
  });

  it('never yields a path, a dot-name or more than 100 characters', () => {
    for (const input of ['../../etc/passwd', 'a/..', `${'x'.repeat(300)}.zip`, '\u0000evil', ' . ']) {
      const name = workflowNameFromFilename(input);
      expect(name).not.toMatch(/[\\/]/);
      expect(name.includes('\u0000')).toBe(false);
      expect(name.startsWith('.')).toBe(false);
      expect(Array.from(name).length).toBeLessThanOrEqual(100);
      expect(name.length).toBeGreaterThan(0);
    }
  });
});

describe('resultContentDisposition', () => {
  it('names the download after the workflow', () => {
    expect(resultFilename('Flow')).toBe('Flow-k2p.zip');
    expect(resultContentDisposition('My Flow')).toBe('attachment; filename="My Flow-k2p.zip"');
  });

  it('adds an RFC 5987 filename* for names that are not ASCII', () => {
    expect(resultContentDisposition('Übersicht')).toBe(`attachment; filename="_bersicht-k2p.zip"; filename*=UTF-8''%C3%9Cbersicht-k2p.zip`);
  });
});

describe('request schemas', () => {
  it('accepts the documented POST /jobs body and nothing else', () => {
    expect(CreateJobRequestSchema.parse({ filename: 'a.zip', sizeBytes: 10, options: { workbook: 'ipynb', graph: 'off' } })).toBeTruthy();
    expect(CreateJobRequestSchema.safeParse({ options: { workbook: 'both', extra: 1 } }).success).toBe(false);
    expect(CreateJobRequestSchema.safeParse({ sizeBytes: 1.5 }).success).toBe(false);
    expect(CreateJobRequestSchema.safeParse({ filename: 'x'.repeat(256) }).success).toBe(false);
  });

  it('coerces and bounds the list limit, with readable messages', () => {
    expect(ListJobsQuerySchema.parse({ limit: '7' })).toEqual({ limit: 7 });
    const issue = ListJobsQuerySchema.safeParse({ limit: '0' }).error?.issues[0];
    expect(issue?.path).toEqual(['limit']);
    expect(issue?.message).toMatch(/>=1/);
  });

  it('describes the error envelope', () => {
    expect(ErrorEnvelopeSchema.safeParse({ error: { code: 'NOT_FOUND', message: 'm', requestId: 'r' } }).success).toBe(true);
    expect(ErrorEnvelopeSchema.safeParse({ error: { code: 'NOPE', message: 'm', requestId: 'r' } }).success).toBe(false);
  });
});
