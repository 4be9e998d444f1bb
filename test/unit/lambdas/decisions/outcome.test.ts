import { describe, expect, it } from 'vitest';
import { decideOutcome, taskErrorDetails } from '../../../../lambdas/decisions/outcome';
import { parseReport, type ReportRead } from '../../../../lambdas/decisions/report';

const report = (fields: Record<string, unknown>): ReportRead => {
  const parsed = parseReport(new TextEncoder().encode(JSON.stringify({ jobId: 'job-1', ...fields })), 'job-1');
  if (parsed.kind !== 'ok') throw new Error(`bad fixture: ${JSON.stringify(parsed)}`);
  return parsed;
};

describe('decideOutcome', () => {
  it('succeeds only with a SUCCEEDED report and a result', () => {
    expect(decideOutcome({ jobStatus: 'RUNNING', report: report({ outcome: 'SUCCEEDED', exitCode: 0 }), resultBytes: 10 })).toEqual({
      status: 'SUCCEEDED',
    });
    const missing = decideOutcome({ jobStatus: 'RUNNING', report: report({ outcome: 'SUCCEEDED', exitCode: 0 }) });
    expect(missing).toMatchObject({ status: 'FAILED', error: { code: 'RUNNER_FAILED' } });
  });

  it.each([
    [2, 'CONVERTER_INPUT_ERROR'],
    [3, 'CONVERTER_PARSE_ERROR'],
    [4, 'CONVERTER_NO_NODES'],
    [1, 'CONVERTER_FAILED'],
  ])('keeps the converter code of a FAILED report (exit %i → %s) and its exit code', (exitCode, code) => {
    const decision = decideOutcome({
      jobStatus: 'RUNNING',
      report: report({ outcome: 'FAILED', exitCode, error: { code, message: 'm' } }),
    });
    expect(decision).toMatchObject({ status: 'FAILED', error: { code, message: 'm', details: { exitCode } } });
  });

  it('never lets a report claim a non-conversion code', () => {
    const decision = decideOutcome({
      jobStatus: 'RUNNING',
      report: report({ outcome: 'FAILED', exitCode: 1, error: { code: 'NOT_FOUND', message: 'x' } }),
    });
    expect(decision).toMatchObject({ status: 'FAILED', error: { code: 'CONVERTER_FAILED' } });
  });

  it('maps TIMED_OUT reports, CONVERTER_TIMEOUT errors and States.Timeout to TIMED_OUT', () => {
    expect(decideOutcome({ jobStatus: 'RUNNING', report: report({ outcome: 'TIMED_OUT', exitCode: null }) }).status).toBe('TIMED_OUT');
    expect(
      decideOutcome({
        jobStatus: 'RUNNING',
        report: report({ outcome: 'FAILED', exitCode: null, error: { code: 'CONVERTER_TIMEOUT', message: 't' } }),
      }).status,
    ).toBe('TIMED_OUT');
    expect(decideOutcome({ jobStatus: 'RUNNING', report: { kind: 'missing' }, taskError: { Error: 'States.Timeout' } })).toMatchObject({
      status: 'TIMED_OUT',
      error: { code: 'CONVERTER_TIMEOUT' },
    });
  });

  it('prefers the report over the task error', () => {
    const decision = decideOutcome({
      jobStatus: 'RUNNING',
      report: report({ outcome: 'FAILED', exitCode: 3, error: { code: 'CONVERTER_PARSE_ERROR', message: 'p' } }),
      taskError: { Error: 'States.TaskFailed' },
    });
    expect(decision).toMatchObject({ error: { code: 'CONVERTER_PARSE_ERROR' } });
  });

  it('shows the user what the converter printed, without URLs', () => {
    const decision = decideOutcome({
      jobStatus: 'RUNNING',
      report: report({
        outcome: 'FAILED',
        exitCode: 3,
        error: { code: 'CONVERTER_PARSE_ERROR', message: 'p' },
        stderrTail: 'ERROR parsing flow/workflow.knime: bad see https://x.example/a?sig=1',
      }),
    });
    expect(decision).toMatchObject({
      error: { code: 'CONVERTER_PARSE_ERROR', details: { exitCode: 3, stderrTail: 'ERROR parsing flow/workflow.knime: bad see [url]' } },
    });
  });

  it('blames PrepareRun (INTERNAL_ERROR) when the job never left QUEUED, the sandbox (RUNNER_FAILED) otherwise', () => {
    expect(decideOutcome({ jobStatus: 'QUEUED', report: { kind: 'missing' }, taskError: { Error: 'Lambda.Unknown' } })).toMatchObject({
      error: { code: 'INTERNAL_ERROR', details: { stage: 'prepare-run' } },
    });
    expect(decideOutcome({ jobStatus: 'RUNNING', report: { kind: 'missing' }, taskError: { Error: 'States.TaskFailed' } })).toMatchObject({
      error: { code: 'RUNNER_FAILED', details: { reason: 'the conversion task failed without a report' } },
    });
    expect(decideOutcome({ jobStatus: 'RUNNING', report: { kind: 'missing' } })).toMatchObject({
      error: { code: 'RUNNER_FAILED', details: { reason: 'the conversion task ended without a report' } },
    });
    expect(decideOutcome({ jobStatus: 'RUNNING', report: { kind: 'invalid', reason: 'report.json is not JSON' } })).toMatchObject({
      error: { code: 'RUNNER_FAILED', details: { reason: 'report.json is not JSON' } },
    });
  });
});

describe('taskErrorDetails', () => {
  it('keeps the stop reason, stop code and exit code of an ECS task, and never its environment', () => {
    const url = 'https://bucket.s3.amazonaws.com/bundles/x/bundle.zip?X-Amz-Signature=abc';
    const details = taskErrorDetails({
      Error: 'States.TaskFailed',
      Cause: JSON.stringify({
        StoppedReason: `Essential container exited while fetching ${url}`,
        StopCode: 'EssentialContainerExited',
        Containers: [{ ExitCode: 1 }],
        Overrides: { ContainerOverrides: [{ Environment: [{ Name: 'INPUT_URL', Value: url }] }] },
      }),
    });
    expect(details).toEqual({
      taskError: 'States.TaskFailed',
      stoppedReason: 'Essential container exited while fetching [url]',
      stopCode: 'EssentialContainerExited',
      exitCode: 1,
    });
  });

  it('copes with a non-JSON cause and truncates long text', () => {
    expect(taskErrorDetails({ Error: 'x'.repeat(1000), Cause: 'not json' })).toEqual({ taskError: `${'x'.repeat(300)}…` });
    expect(taskErrorDetails(undefined)).toEqual({});
  });
});

describe('parseReport', () => {
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  it('refuses a report of another job, a report of the wrong shape and non-JSON', () => {
    expect(parseReport(bytes({ jobId: 'other', outcome: 'SUCCEEDED' }), 'job-1')).toEqual({
      kind: 'invalid',
      reason: 'report.json belongs to another job',
    });
    expect(parseReport(bytes({ jobId: 'job-1', outcome: 'MAYBE' }), 'job-1').kind).toBe('invalid');
    expect(parseReport(new TextEncoder().encode('{'), 'job-1')).toEqual({ kind: 'invalid', reason: 'report.json is not JSON' });
  });

  it('tolerates damaged optional parts', () => {
    const parsed = parseReport(bytes({ jobId: 'job-1', outcome: 'SUCCEEDED', summary: { nodes: -3, files: 'x' }, converter: 7 }), 'job-1');
    expect(parsed).toMatchObject({ kind: 'ok', report: { summary: { nodes: 0, files: [] }, converter: undefined } });
  });
});
