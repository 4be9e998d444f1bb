/** Every failure the page shows gets a code, a plain explanation, what to do and the file concerned; and the stage line knows where a job stopped. */
import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError, ResponseFormatError } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { ERRORS } from '../../core/errors';
import { ZipReadError } from '../../core/zip-read';
import { ConfigError } from '../../web/src/config';
import { explainBundlerError, explainFailure, explainJobError } from '../../web/src/explain';
import { SelectionError } from '../../web/src/sources';
import { elapsedMs, stagesOf, statusLine, uploadingStages } from '../../web/src/stages';
import { UploadFailure } from '../../web/src/upload';

function job(status: JobView['status'], extra: Partial<JobView> = {}): JobView {
  return {
    jobId: 'job_12345678',
    status,
    terminal: !['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED', 'RUNNING'].includes(status),
    workflowName: 'flow',
    options: { workbook: 'both', graph: 'both' },
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:10.000Z',
    durationsMs: {},
    ...extra,
  };
}

describe('explainJobError', () => {
  it('explains a rejection with the code, the plain message, what to do and the entry', () => {
    const ex = explainJobError(
      job('REJECTED', {
        error: {
          code: 'ZIP_SYMLINK',
          message: 'Entry `CSV Reader (#1)/settings.xml` is a symbolic link.',
          details: { entry: 'CSV Reader (#1)/settings.xml' },
        },
      }),
    )!;
    expect(ex).toMatchObject({
      code: 'ZIP_SYMLINK',
      title: ERRORS.ZIP_SYMLINK.message,
      hint: ERRORS.ZIP_SYMLINK.hint,
      file: 'CSV Reader (#1)/settings.xml',
    });
    expect(ex.message).toContain('symbolic link');
  });

  it("shows a conversion failure's code, the converter's message and exit code", () => {
    const ex = explainJobError(
      job('FAILED', {
        error: {
          code: 'CONVERTER_PARSE_ERROR',
          message: 'knime2py could not parse the workflow (exit code 3).',
          details: { exitCode: 3, stderrTail: 'ERROR parsing x' },
        },
      }),
    )!;
    expect(ex.code).toBe('CONVERTER_PARSE_ERROR');
    expect(ex.message).toBeUndefined(); // the same words as the title are not repeated
    expect(ex.facts).toEqual([
      ['Converter exit code', '3'],
      ['Converter output', 'ERROR parsing x'],
    ]);
  });

  it('uses the hint the service sends over the generic one', () => {
    expect(explainJobError(job('FAILED', { error: { code: 'INTERNAL_ERROR', message: 'x', hint: 'Call us.' } }))!.hint).toBe('Call us.');
  });

  it('explains an expired job (no error record) by why it expired', () => {
    expect(explainJobError(job('EXPIRED', { expiredReason: 'UPLOAD_NOT_RECEIVED' }))!.title).toMatch(/upload never arrived/);
    expect(explainJobError(job('EXPIRED', { expiredReason: 'RESULT_RETENTION' }))!.title).toMatch(/retention/);
    expect(explainJobError(job('SUCCEEDED'))).toBeUndefined();
  });
});

describe('explainFailure', () => {
  it('keeps the API error code, request id and hint', () => {
    const ex = explainFailure(
      new ApiError({ status: 503, code: 'SERVER_BUSY', message: 'At capacity.', requestId: 'req-1', enveloped: true }),
    );
    expect(ex).toMatchObject({ code: 'SERVER_BUSY', title: ERRORS.SERVER_BUSY.message, retryable: true });
    expect(ex.facts).toContainEqual(['Request id', 'req-1']);
  });

  it('maps the page-side failures to stable codes', () => {
    expect(explainFailure(new NetworkError('down')).code).toBe('NETWORK_ERROR');
    expect(explainFailure(new ResponseFormatError('odd', 200)).code).toBe('UNEXPECTED_RESPONSE');
    expect(explainFailure(new ConfigError('no apiUrl')).code).toBe('CONFIG_INVALID');
    expect(explainFailure(new SelectionError('empty')).code).toBe('SELECTION_INVALID');
    expect(explainFailure(new UploadFailure('lost', 'network')).code).toBe('UPLOAD_FAILED');
    expect(explainFailure(new UploadFailure('too big', 'refused', 400, 'EntityTooLarge')).code).toBe('BUNDLE_TOO_LARGE');
    expect(explainFailure(new Error('boom'))).toMatchObject({ code: 'PAGE_ERROR', message: 'boom' });
  });

  it('gives a hostile archive its bundle code and entry', () => {
    expect(explainFailure(new ZipReadError('ZIP_ENCRYPTED', 'encrypted', 'a/settings.xml'))).toMatchObject({
      code: 'ZIP_ENCRYPTED',
      file: 'a/settings.xml',
      hint: ERRORS.ZIP_ENCRYPTED.hint,
    });
  });

  it('explains the two bundler-only codes', () => {
    expect(explainBundlerError({ code: 'SEVERAL_ROOTS', message: 'two' }).hint).toMatch(/Choose/);
    expect(explainBundlerError({ code: 'SOURCE_UNREADABLE', message: 'gone', path: 'x' })).toMatchObject({ file: 'x' });
  });
});

describe('stages', () => {
  const states = (j: JobView) => stagesOf(j).map((s) => s.state);

  it('marks the current stage and the finished ones', () => {
    expect(states(job('QUEUED', { uploadedAt: 'x', queuedAt: 'y' }))).toEqual(['done', 'done', 'current', 'pending', 'pending']);
    expect(states(job('SUCCEEDED'))).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(uploadingStages().map((s) => s.state)).toEqual(['current', 'pending', 'pending', 'pending', 'pending']);
  });

  it('shows where a job stopped', () => {
    expect(states(job('REJECTED'))).toEqual(['done', 'failed', 'pending', 'pending', 'pending']);
    expect(states(job('TIMED_OUT', { uploadedAt: 'a', queuedAt: 'b', startedAt: 'c' }))).toEqual([
      'done',
      'done',
      'done',
      'failed',
      'pending',
    ]);
    expect(states(job('FAILED', { uploadedAt: 'a', queuedAt: 'b' }))).toEqual(['done', 'done', 'failed', 'pending', 'pending']);
    expect(states(job('EXPIRED'))).toEqual(['failed', 'pending', 'pending', 'pending', 'pending']);
    expect(states(job('EXPIRED', { expiredReason: 'RESULT_RETENTION' }))).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('carries each stage duration and the state name in the status line', () => {
    const view = stagesOf(job('RUNNING', { durationsMs: { upload: 400, validation: 120, queue: 80 } }));
    expect(view.map((s) => s.durationMs)).toEqual([400, 120, 80, undefined, undefined]);
    expect(statusLine('RUNNING')).toBe('Converting (RUNNING)');
    expect(statusLine('TIMED_OUT')).toContain('TIMED_OUT');
  });

  it('shows a cancelled job in clear words, stopped where it was, nothing failed or still current', () => {
    const ran = { uploadedAt: 'a', queuedAt: 'b', startedAt: 'c' };
    expect(states(job('CANCELLING', { ...ran, terminal: false }))).toEqual(['done', 'done', 'done', 'pending', 'pending']);
    expect(states(job('CANCELLED', ran))).toEqual(['done', 'done', 'done', 'pending', 'pending']);
    expect(states(job('CANCELLED', { uploadedAt: 'a', queuedAt: 'b' }))).toEqual(['done', 'done', 'pending', 'pending', 'pending']);
    expect(statusLine('CANCELLING')).toBe('Cancelling (CANCELLING)');
    expect(statusLine('CANCELLED')).toBe('Cancelled (CANCELLED)');
  });

  it('measures elapsed time from creation, using the server total once finished and never going negative', () => {
    const created = Date.parse('2024-01-01T00:00:00.000Z');
    expect(elapsedMs(job('RUNNING'), created + 12_000)).toBe(12_000);
    expect(elapsedMs(job('RUNNING'), created - 5_000)).toBe(0);
    expect(elapsedMs(job('SUCCEEDED', { durationsMs: { total: 3_000 } }), created + 99_000)).toBe(3_000);
    expect(elapsedMs(job('FAILED', { finishedAt: '2024-01-01T00:00:04.000Z' }), created + 99_000)).toBe(4_000);
  });
});
