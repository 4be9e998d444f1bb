/**
 * docs/openapi.yaml is what scripts/build-openapi.ts generates from core/
 * (regenerated in memory and compared), documents every route of
 * core/api-routes.ts, and its examples pass its own schemas. The ajv checker
 * the contract tests use is shown to reject what the document does not allow.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_ROUTES, API_STAGE, PUBLIC_HANDLERS } from '../../core/api-routes';
import { ERROR_CODES } from '../../core/errors';
import { DEFAULT_PORT_BASE, SERVICE_PORTS } from '../../local/host/ports';
import { OPENAPI_FILE, renderOpenApiYaml } from '../../scripts/openapi-document';
import { checkResponse, documentedResponses, HTTP_METHODS, loadOpenApi, resolve, schemaAt } from '../support/openapi-check';

const doc = loadOpenApi();

describe('docs/openapi.yaml', () => {
  it('is up to date with core/ (npm run build:openapi regenerates it)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8') === renderOpenApiYaml(), 'docs/openapi.yaml is stale: run npm run build:openapi').toBe(true);
  });

  it('documents exactly the routes of core/api-routes.ts, with the API key or a bearer token on every route but the public ones', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      HTTP_METHODS.filter((method) => (item as Record<string, unknown>)[method]).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(doc.components.securitySchemes.ApiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    // Either one: an API key (programs) or a bearer token (people).
    expect(doc.security).toEqual([{ ApiKey: [] }, { Bearer: [] }]);
    for (const route of API_ROUTES) {
      const operation = doc.paths[route.path][route.method.toLowerCase()];
      expect(operation.operationId).toBe(route.handler);
      if (PUBLIC_HANDLERS.has(route.handler)) expect(operation.security).toEqual([]);
      else expect(operation.security).toBeUndefined();
    }
  });

  it('names the stage on AWS and the default local-mode API port', () => {
    const urls = doc.servers.map((s: { url: string }) => s.url);
    expect(urls).toEqual([
      `https://{apiId}.execute-api.{region}.amazonaws.com/${API_STAGE}`,
      `http://127.0.0.1:${DEFAULT_PORT_BASE + SERVICE_PORTS.indexOf('api')}/${API_STAGE}`,
    ]);
  });

  it('lists every error code of core/errors.ts, and each error status narrows the envelope to codes from that list', () => {
    expect(doc.components.schemas.ErrorCode.enum).toEqual(ERROR_CODES);
    for (const [name, response] of Object.entries(doc.components.responses) as [
      string,
      { content: Record<string, { schema: { allOf: unknown[] } }> },
    ][]) {
      const [envelope, narrowed] = response.content['application/json']!.schema.allOf as [
        { $ref: string },
        { properties: { error: { properties: { code: { enum: string[] } } } } },
      ];
      expect(envelope.$ref, name).toBe('#/components/schemas/ErrorEnvelope');
      const codes = narrowed.properties.error.properties.code.enum;
      expect(codes.length, name).toBeGreaterThan(0);
      for (const code of codes) expect(ERROR_CODES, name).toContain(code);
    }
  });

  it('has an example for every operation, and every example passes its own schema', () => {
    let examples = 0;
    for (const entry of documentedResponses(doc)) {
      const [method, path, status] = entry.split(' ') as [string, string, string];
      const at = resolve(doc, `#/paths/${path.replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${status}`);
      const media = at.node.content?.['application/json'];
      if (!media) continue;
      expect(media.example, entry).toBeDefined();
      const validate = schemaAt(doc, `${at.pointer}/content/application~1json/schema`);
      expect(validate(media.example), `${entry}: ${JSON.stringify(validate.errors)}`).toBe(true);
      examples++;
    }
    const body = doc.paths['/jobs'].post.requestBody.content['application/json'];
    expect(schemaAt(doc, '#/paths/~1jobs/post/requestBody/content/application~1json/schema')(body.example)).toBe(true);
    expect(examples).toBeGreaterThanOrEqual(API_ROUTES.length);
  });

  it('stays valid YAML 1.1: dates and `off` are quoted strings', () => {
    const text = readFileSync(OPENAPI_FILE, 'utf8');
    const old = parse(text, { version: '1.1' });
    expect(old.components.schemas.ConversionOptions.properties.graph.enum).toContain('off');
    expect(typeof old.paths['/jobs'].post.responses['201'].content['application/json'].example.job.createdAt).toBe('string');
  });
});

describe('the ajv response checker', () => {
  const job = doc.paths['/jobs/{id}'].get.responses['200'].content['application/json'].example;
  const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => ({
    statusCode,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  });
  const envelope = (code: string) => ({ error: { code, message: 'm', requestId: 'r' } });

  it('accepts a response the document allows', () => {
    expect(checkResponse(doc, 'GET', '/jobs/{id}', json(200, job))).toEqual([]);
    expect(checkResponse(doc, 'POST', '/jobs', json(429, envelope('RATE_LIMITED'), { 'Retry-After': '10' }))).toEqual([]);
  });

  it.each([
    ['an undocumented status', 'GET', '/jobs/{id}', json(418, envelope('NOT_FOUND'))],
    ['an undocumented route', 'PUT', '/jobs/{id}', json(200, job)],
    ['an unknown property', 'GET', '/jobs/{id}', json(200, { ...job, owner: 'key-a' })],
    ['a missing required property', 'GET', '/jobs/{id}', json(200, { ...job, jobId: undefined })],
    ['a timestamp that is not one', 'GET', '/jobs/{id}', json(200, { ...job, createdAt: 'yesterday' })],
    ['an unknown status', 'GET', '/jobs/{id}', json(200, { ...job, status: 'PAUSED' })],
    ['another status’s error code', 'GET', '/jobs/{id}', json(404, envelope('RESULT_GONE'))],
    ['an error without requestId', 'GET', '/jobs/{id}', json(404, { error: { code: 'NOT_FOUND', message: 'm' } })],
    ['a 429 without Retry-After', 'POST', '/jobs', json(429, envelope('RATE_LIMITED'))],
    ['a Retry-After that is no number', 'POST', '/jobs', json(503, envelope('SERVER_BUSY'), { 'Retry-After': 'soon' })],
    ['a 302 without Location', 'GET', '/jobs/{id}/result', { statusCode: 302, headers: {}, body: '' }],
    ['a 201 without Location', 'POST', '/jobs', json(201, { job })],
    ['a body that is not JSON', 'GET', '/health', { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '<html>' }],
    ['another content type', 'GET', '/health', { statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: '{}' }],
  ])('rejects %s', (_name, method, path, response) => {
    expect(checkResponse(doc, method, path, response).length).toBeGreaterThan(0);
  });
});
