import { describe, expect, it, vi } from 'vitest';
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { CreateJobRequestSchema } from '../../../../core/api-schemas';
import { DomainError } from '../../../../core/errors';
import { apiHandler, json, jsonBody, ownerOf, pathJobId, requireRole } from '../../../../lambdas/runtime/http';
import { apiEvent, lambdaContext } from '../../../support/lambda-harness';

const run = async (
  fn: Parameters<typeof apiHandler>[0],
  request: Parameters<typeof apiEvent>[0] = { method: 'GET', resource: '/jobs', apiKeyId: 'k' },
) => {
  const result = await apiHandler(fn)(apiEvent(request), lambdaContext());
  return { ...result, json: JSON.parse(result.body) };
};

describe('error envelope middleware', () => {
  it('turns a DomainError into its status, the envelope and Retry-After', async () => {
    const response = await run(async () => {
      throw new DomainError('SERVER_BUSY', undefined, { retryAfterSeconds: 30, details: { limit: 20 } });
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('30');
    expect(response.json).toEqual({
      error: {
        code: 'SERVER_BUSY',
        message: 'The service is at capacity.',
        details: { limit: 20 },
        requestId: expect.stringMatching(/^api-request-/),
      },
    });
  });

  it('turns a schema error into 400 INVALID_REQUEST listing the fields', async () => {
    const response = await run(
      async (event) => {
        CreateJobRequestSchema.parse(jsonBody(event));
        return json(200, {});
      },
      { method: 'POST', resource: '/jobs', apiKeyId: 'k', body: { sizeBytes: 'big', options: { graph: 'svg' } } },
    );
    expect(response.statusCode).toBe(400);
    expect(response.json.error.code).toBe('INVALID_REQUEST');
    expect(response.json.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['options.graph', 'sizeBytes']);
  });

  it('hides unexpected errors behind 500 INTERNAL_ERROR', async () => {
    const response = await run(async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.1:443 secret-table-name');
    });
    expect(response.statusCode).toBe(500);
    expect(response.json.error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'An internal error occurred.' });
    expect(response.body).not.toContain('secret-table-name');
  });

  it('passes successful responses through with JSON and no-store headers', async () => {
    const response = await run(async () => json(200, { ok: true }));
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  });
});

describe('request helpers', () => {
  it('require an API key id and a well-formed job id', () => {
    expect(() => ownerOf(apiEvent({ method: 'GET', resource: '/jobs', apiKeyId: null }))).toThrow(
      expect.objectContaining({ code: 'UNAUTHORIZED' }),
    );
    expect(() => pathJobId(apiEvent({ method: 'GET', resource: '/jobs/{id}', pathParameters: { id: 'a/b' }, apiKeyId: 'k' }))).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  it('reads an empty or base64 body', () => {
    const event = apiEvent({ method: 'POST', resource: '/jobs', apiKeyId: 'k' });
    expect(jsonBody(event)).toEqual({});
    expect(jsonBody({ ...event, isBase64Encoded: true, body: Buffer.from('{"filename":"a"}').toString('base64') })).toEqual({
      filename: 'a',
    });
  });
});

describe('requireRole', () => {
  const admin = { id: 'oidc:https://idp.example#a1', name: 'Ada', kind: 'person' as const, role: 'admin' as const };
  const user = { ...admin, id: 'oidc:https://idp.example#u1', role: 'user' as const };
  const adminRoute = async (event: Parameters<typeof requireRole>[0]) => json(200, { principal: requireRole(event, 'admin').id });

  it('lets the admin through with their principal', async () => {
    const response = await run(adminRoute, { method: 'GET', resource: '/admin/keys', principal: admin });
    expect([response.statusCode, response.json]).toEqual([200, { principal: admin.id }]);
  });

  it('answers 403 FORBIDDEN in the envelope, about the role, to a user; 401 without a principal', async () => {
    const refused = await run(adminRoute, { method: 'GET', resource: '/admin/keys', principal: user });
    expect(refused.statusCode).toBe(403);
    expect(refused.json.error).toEqual({
      code: 'FORBIDDEN',
      message: 'Your role does not allow this request.',
      details: { requiredRoles: ['admin'] },
      requestId: expect.any(String),
    });
    const anonymous = await run(adminRoute, { method: 'GET', resource: '/admin/keys', principal: null, apiKeyId: null });
    expect([anonymous.statusCode, anonymous.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
    // Several roles: any of them will do.
    expect(requireRole(apiEvent({ method: 'GET', resource: '/x', principal: user }), 'user', 'admin').id).toBe(user.id);
  });
});
