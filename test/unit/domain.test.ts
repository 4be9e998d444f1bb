import { describe, expect, it } from 'vitest';
import { checkEntryName, collisionKey, isAllowlistedFile, requiredFilesOf } from '../../core/bundle-policy';
import { converterExitCodeToError, DomainError, ERROR_CODES, ERRORS, isErrorCode } from '../../core/errors';
import { allowedPredecessors, canTransition, IN_FLIGHT_STATUSES, isTerminal, JOB_STATUSES, TERMINAL_STATUSES } from '../../core/job-states';
import {
  bundleLimitsFromEnv,
  DEFAULT_BUNDLE_LIMITS,
  DEFAULT_SERVICE_LIMITS,
  limitsToEnv,
  resolveServiceLimits,
  serviceLimitsFromEnv,
} from '../../core/limits';
import { jobIdFromBundleKey, s3Keys } from '../../core/service-env';
import { findCredentialValues, parseWorkflow } from '../../core/workflow';

const enc = new TextEncoder();

describe('job states', () => {
  it('has exactly the lifecycle of docs/architecture.md', () => {
    expect(JOB_STATUSES).toEqual([
      'AWAITING_UPLOAD',
      'VALIDATING',
      'QUEUED',
      'RUNNING',
      'SUCCEEDED',
      'REJECTED',
      'FAILED',
      'TIMED_OUT',
      'EXPIRED',
      'DELETED',
      'CANCELLING',
      'CANCELLED',
    ]);
    expect([...TERMINAL_STATUSES].sort()).toEqual(['CANCELLED', 'DELETED', 'EXPIRED', 'FAILED', 'REJECTED', 'SUCCEEDED', 'TIMED_OUT']);
  });

  it('moves forward along the happy path only', () => {
    expect(canTransition('AWAITING_UPLOAD', 'VALIDATING')).toBe(true);
    expect(canTransition('VALIDATING', 'QUEUED')).toBe(true);
    expect(canTransition('QUEUED', 'RUNNING')).toBe(true);
    expect(canTransition('RUNNING', 'SUCCEEDED')).toBe(true);
    expect(canTransition('RUNNING', 'QUEUED')).toBe(false);
    expect(canTransition('QUEUED', 'VALIDATING')).toBe(false);
    expect(canTransition('SUCCEEDED', 'RUNNING')).toBe(false);
  });

  it('lets every non-deleted job be deleted, a running one only through CANCELLING, and nothing leave DELETED', () => {
    for (const status of JOB_STATUSES) expect(canTransition(status, 'DELETED')).toBe(status !== 'DELETED' && status !== 'RUNNING');
    for (const status of JOB_STATUSES) expect(canTransition('DELETED', status)).toBe(false);
    expect(canTransition('RUNNING', 'CANCELLING')).toBe(true);
  });

  it('cancels a job that runs no task at once, and a running one only once its task has stopped (CANCELLING)', () => {
    for (const status of ['AWAITING_UPLOAD', 'VALIDATING', 'QUEUED'] as const) {
      expect(canTransition(status, 'CANCELLED')).toBe(true);
      expect(canTransition(status, 'CANCELLING')).toBe(false);
    }
    expect(canTransition('RUNNING', 'CANCELLED')).toBe(false);
    expect(allowedPredecessors('CANCELLING')).toEqual(['RUNNING']);
    expect(allowedPredecessors('CANCELLED').sort()).toEqual(['AWAITING_UPLOAD', 'CANCELLING', 'QUEUED', 'VALIDATING']);
    // CANCELLING holds its slot and may only end: CANCELLED, or DELETED when a DELETE asked for it.
    expect(IN_FLIGHT_STATUSES.has('CANCELLING')).toBe(true);
    expect(isTerminal('CANCELLING')).toBe(false);
    expect(JOB_STATUSES.filter((to) => canTransition('CANCELLING', to)).sort()).toEqual(['CANCELLED', 'DELETED']);
    expect(JOB_STATUSES.filter((to) => canTransition('CANCELLED', to))).toEqual(['DELETED']);
    // Cancel and the natural finish race from RUNNING: each wins with one conditional write, never both.
    for (const natural of ['SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const) {
      expect(canTransition('CANCELLING', natural)).toBe(false);
      expect(canTransition(natural, 'CANCELLING')).toBe(false);
      expect(canTransition(natural, 'CANCELLED')).toBe(false);
    }
  });

  it('gives every in-flight state a terminal exit, so no job can be stuck', () => {
    for (const status of IN_FLIGHT_STATUSES) {
      expect(isTerminal(status)).toBe(false);
      expect(JOB_STATUSES.some((to) => isTerminal(to) && to !== 'DELETED' && canTransition(status, to))).toBe(true);
    }
  });

  it('derives conditional-write predecessors from the table', () => {
    expect(allowedPredecessors('VALIDATING')).toEqual(['AWAITING_UPLOAD']);
    expect(allowedPredecessors('RUNNING')).toEqual(['QUEUED']);
    expect(allowedPredecessors('TIMED_OUT').sort()).toEqual(['QUEUED', 'RUNNING']);
  });
});

describe('error codes', () => {
  it('defines every code of docs/architecture.md once, with a message, hint and status', () => {
    const expected = [
      'BUNDLE_TOO_LARGE',
      'ZIP_CORRUPT',
      'ZIP_UNSUPPORTED',
      'ZIP_ENCRYPTED',
      'ZIP_TOO_MANY_ENTRIES',
      'ZIP_ENTRY_TOO_LARGE',
      'ZIP_TOO_LARGE_UNPACKED',
      'ZIP_RATIO_EXCEEDED',
      'ZIP_UNSAFE_PATH',
      'ZIP_DUPLICATE_ENTRY',
      'ZIP_SYMLINK',
      'ZIP_DISALLOWED_FILE',
      'WORKFLOW_MISSING',
      'XML_INVALID',
      'XML_FORBIDDEN_DTD',
      'SETTINGS_MISSING',
      'CONVERTER_INPUT_ERROR',
      'CONVERTER_PARSE_ERROR',
      'CONVERTER_NO_NODES',
      'CONVERTER_FAILED',
      'CONVERTER_TIMEOUT',
      'RUNNER_FAILED',
      'INTERNAL_ERROR',
      'UNAUTHORIZED',
      'FORBIDDEN',
      'INVALID_REQUEST',
      'NOT_FOUND',
      'SERVER_BUSY',
      'RATE_LIMITED',
      'RESULT_NOT_READY',
      'RESULT_GONE',
      'WEBHOOK_NOT_CONFIGURED',
      'CALLBACK_URL_REFUSED',
      'JOB_ALREADY_ENDED',
      'LOG_NOT_AVAILABLE',
      'AUTH_UNAVAILABLE',
    ];
    expect([...ERROR_CODES].sort()).toEqual([...expected].sort());
    for (const code of ERROR_CODES) {
      expect(ERRORS[code].message.length).toBeGreaterThan(10);
      expect(ERRORS[code].hint.length).toBeGreaterThan(10);
    }
    expect(ERRORS.SERVER_BUSY.httpStatus).toBe(503);
    expect(ERRORS.RATE_LIMITED.httpStatus).toBe(429);
    expect(ERRORS.RESULT_NOT_READY.httpStatus).toBe(409);
    expect(ERRORS.RESULT_GONE.httpStatus).toBe(410);
    expect(ERRORS.NOT_FOUND.httpStatus).toBe(404);
    expect(isErrorCode('ZIP_CORRUPT')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('maps knime2py exit codes', () => {
    expect([0, 2, 3, 4, 1, 137].map(converterExitCodeToError)).toEqual([
      undefined,
      'CONVERTER_INPUT_ERROR',
      'CONVERTER_PARSE_ERROR',
      'CONVERTER_NO_NODES',
      'CONVERTER_FAILED',
      'CONVERTER_FAILED',
    ]);
  });

  it('carries status, details and Retry-After in DomainError', () => {
    const error = new DomainError('SERVER_BUSY', undefined, { retryAfterSeconds: 30, details: { limit: 20 } });
    expect(error.httpStatus).toBe(503);
    expect(error.toInfo()).toEqual({ code: 'SERVER_BUSY', message: ERRORS.SERVER_BUSY.message, details: { limit: 20 } });
    expect(error.retryAfterSeconds).toBe(30);
  });
});

describe('limits', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_BUNDLE_LIMITS).toMatchObject({
      maxUploadBytes: 50 * 1024 * 1024,
      maxEntries: 5000,
      maxEntryBytes: 10 * 1024 * 1024,
      maxTotalUnpackedBytes: 200 * 1024 * 1024,
      maxCompressionRatio: 100,
      maxPathBytes: 512,
      maxPathDepth: 12,
    });
    expect(DEFAULT_SERVICE_LIMITS).toMatchObject({
      globalInFlight: 20,
      perPrincipalInFlight: 5,
      perPrincipalPerDay: 200,
      resultRetentionDays: 7,
      bundleRetentionDays: 1,
    });
  });

  it('round-trips through environment variables and rejects bad values', () => {
    const env = limitsToEnv({ ...DEFAULT_BUNDLE_LIMITS, maxEntries: 7 }, { ...DEFAULT_SERVICE_LIMITS, globalInFlight: 3 });
    expect(bundleLimitsFromEnv(env).maxEntries).toBe(7);
    expect(serviceLimitsFromEnv(env).globalInFlight).toBe(3);
    expect(() => bundleLimitsFromEnv({ LIMIT_MAX_ENTRIES: 'many' })).toThrow(/maxEntries/);
    expect(() => resolveServiceLimits({ uploadUrlSeconds: 3600 })).toThrow(/at most 900/);
  });
});

describe('bundle policy helpers', () => {
  const limits = DEFAULT_BUNDLE_LIMITS;
  it('accepts KNIME folder names and rejects unsafe ones', () => {
    expect(checkEntryName('Column Filter (#1395)/settings.xml', limits)).toEqual({ ok: true });
    expect(checkEntryName('Folder/', limits)).toEqual({ ok: true });
    expect(checkEntryName('a\\b', limits).ok).toBe(false);
    expect(checkEntryName('\u0085x', limits).ok).toBe(false);
  });

  it('folds case and Unicode form for collisions', () => {
    expect(collisionKey('Cafe\u0301/X')).toBe(collisionKey('CAF\u00c9/x'));
  });

  it('allowlists only workflow.knime and settings.xml', () => {
    expect(isAllowlistedFile('a/settings.xml')).toBe(true);
    expect(isAllowlistedFile('workflow.knime')).toBe(true);
    expect(isAllowlistedFile('a/settings.xml.bak')).toBe(false);
    expect(isAllowlistedFile('a/workflow.svg')).toBe(false);
  });

  it('resolves metanode and component references relative to their workflow', () => {
    const resolved = requiredFilesOf(
      'Outer (#1)/workflow.knime',
      [
        { id: '2', settingsFile: 'Meta (#2)/workflow.knime', nodeType: 'MetaNode' },
        { id: '3', settingsFile: 'Comp (#3)/settings.xml', nodeType: 'SubNode' },
      ],
      limits,
    );
    expect(resolved).toMatchObject({
      ok: true,
      required: [
        { path: 'Outer (#1)/Meta (#2)/workflow.knime', nestedWorkflow: true },
        { path: 'Outer (#1)/Comp (#3)/settings.xml', nestedWorkflow: false },
        { path: 'Outer (#1)/Comp (#3)/workflow.knime', nestedWorkflow: true },
      ],
    });
    expect(requiredFilesOf('workflow.knime', [{ id: '9', settingsFile: 'x/data.csv' }], limits).ok).toBe(false);
  });
});

describe('KNIME config reading', () => {
  it('lists nodes and connections of a workflow.knime', () => {
    const xml = `<config key="workflow.knime"><config key="nodes"><config key="node_1"><entry key="id" type="xint" value="1"/><entry key="node_settings_file" type="xstring" value="A (#1)/settings.xml"/><entry key="node_is_meta" type="xboolean" value="false"/><entry key="node_type" type="xstring" value="NativeNode"/></config></config><config key="connections"><config key="connection_0"><entry key="sourceID" type="xint" value="-1"/><entry key="destID" type="xint" value="1"/></config></config></config>`;
    expect(parseWorkflow(enc.encode(xml))).toEqual({
      ok: true,
      nodes: [{ id: '1', settingsFile: 'A (#1)/settings.xml', nodeType: 'NativeNode', isMeta: false }],
      connections: [{ sourceId: '-1', destId: '1' }],
    });
  });

  it('finds credential-like values by key, never returning the value', () => {
    const xml = `<config key="settings.xml"><config key="model">
      <entry key="password" type="xstring" value="hunter2"/>
      <entry key="api_key" type="xstring" value="sk-123"/>
      <entry key="encrypted" type="xpassword" value="AbCd"/>
      <entry key="use_token" type="xboolean" value="false"/>
      <entry key="token" type="xstring" value=""/>
      <entry key="secret" type="xstring" isnull="true" value=""/>
      <entry key="user" type="xstring" value="alice"/>
    </config></config>`;
    const findings = findCredentialValues(enc.encode(xml));
    expect(findings).toEqual([{ key: 'model/password' }, { key: 'model/api_key' }, { key: 'model/encrypted' }]);
    expect(JSON.stringify(findings)).not.toMatch(/hunter2|sk-123|AbCd/);
  });
});

describe('service layout', () => {
  it('round-trips bundle keys and ignores keys outside the layout', () => {
    expect(jobIdFromBundleKey(s3Keys.bundle('01JABCDEF0123456789ABCDEFG'))).toBe('01JABCDEF0123456789ABCDEFG');
    expect(jobIdFromBundleKey('bundles/../x/bundle.zip')).toBeUndefined();
    expect(jobIdFromBundleKey('results/01JABCDEF0123456789ABCDEFG/result.zip')).toBeUndefined();
  });
});

describe('utf8Length', () => {
  it('agrees with TextEncoder, including astral characters and lone surrogates', async () => {
    const { utf8Length } = await import('../../core/bundle-policy');
    for (const text of ['', 'abc', 'Café (#2)/settings.xml', '日本語/settings.xml', '😀/x', 'a\ud800b', '\udc00']) {
      expect(utf8Length(text), text).toBe(new TextEncoder().encode(text).length);
    }
  });
});
