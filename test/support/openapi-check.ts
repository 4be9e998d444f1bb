/**
 * A small OpenAPI 3.0 response checker for the tests: finds the documented
 * response for (method, path template, status), checks required headers and
 * validates the JSON body against the schema (the subset docs/openapi.yaml
 * uses: $ref, type, nullable, enum, required, properties,
 * additionalProperties, items, pattern, min/max, date-time format).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const OPENAPI_PATH = join(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml');

export function loadOpenApi(path = OPENAPI_PATH): Json {
  return parse(readFileSync(path, 'utf8'));
}

function resolveRef(doc: Json, node: Json): Json {
  let current = node;
  const seen = new Set<string>();
  while (current && typeof current === 'object' && typeof current.$ref === 'string') {
    if (seen.has(current.$ref)) throw new Error(`Circular $ref ${current.$ref}`);
    seen.add(current.$ref);
    const path = String(current.$ref).replace(/^#\//, '').split('/');
    current = path.reduce((value: Json, key) => value?.[key], doc);
    if (current === undefined) throw new Error(`Unresolved $ref ${[...seen].pop()}`);
  }
  return current;
}

export function validateSchema(doc: Json, schemaNode: Json, value: unknown, at = '$'): string[] {
  const schema = resolveRef(doc, schemaNode);
  if (!schema || typeof schema !== 'object') return [];
  if (value === null) return schema.nullable ? [] : [`${at}: null is not allowed`];
  const errors: string[] = [];
  const type = schema.type as string | undefined;
  const actual = Array.isArray(value) ? 'array' : typeof value;
  if (type === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value)) return [`${at}: expected integer, got ${JSON.stringify(value)}`];
  } else if (type === 'number') {
    if (typeof value !== 'number') return [`${at}: expected number, got ${actual}`];
  } else if (type && type !== actual) {
    return [`${at}: expected ${type}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value))
      errors.push(`${at}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => errors.push(...validateSchema(doc, schema.items, item, `${at}[${i}]`)));
  if (actual === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${at}: missing required ${key}`);
    const properties = schema.properties ?? {};
    for (const [key, child] of Object.entries(object)) {
      if (key in properties) errors.push(...validateSchema(doc, properties[key], child, `${at}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property ${key}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errors.push(...validateSchema(doc, schema.additionalProperties, child, `${at}.${key}`));
      }
    }
  }
  return errors;
}

export interface DocumentedResponse {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
}

/** Problems with a real response against the document; empty when it conforms. */
export function checkResponse(doc: Json, method: string, pathTemplate: string, response: DocumentedResponse): string[] {
  const operation = doc.paths?.[pathTemplate]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${pathTemplate} is not documented`];
  const documented = operation.responses?.[String(response.statusCode)] ?? operation.responses?.default;
  if (!documented) return [`${method} ${pathTemplate} does not document status ${response.statusCode}`];
  const spec = resolveRef(doc, documented);
  const errors: string[] = [];
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  for (const [name, headerNode] of Object.entries(spec.headers ?? {})) {
    const header = resolveRef(doc, headerNode);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) errors.push(`header ${name} is required`);
      continue;
    }
    const schema = resolveRef(doc, header.schema ?? {});
    const parsed = schema.type === 'integer' ? Number(value) : value;
    errors.push(...validateSchema(doc, schema, parsed, `header ${name}`));
  }
  const jsonSchema = spec.content?.['application/json']?.schema;
  if (jsonSchema) {
    if (!headers['content-type']?.startsWith('application/json')) errors.push(`content-type is ${headers['content-type']}`);
    let body: unknown;
    try {
      body = JSON.parse(response.body ?? '');
    } catch {
      return [...errors, 'body is not JSON'];
    }
    errors.push(...validateSchema(doc, jsonSchema, body));
  }
  return errors;
}

/** Every (method, path, status) the document describes. */
export function documentedResponses(doc: Json): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Json][]) {
    for (const method of ['get', 'post', 'delete', 'put', 'patch']) {
      const operation = item[method];
      if (!operation) continue;
      for (const status of Object.keys(operation.responses ?? {})) out.push(`${method.toUpperCase()} ${path} ${status}`);
    }
  }
  return out;
}
