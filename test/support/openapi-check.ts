/**
 * Checks real responses against docs/openapi.yaml with ajv (OpenAPI 3.1
 * schemas are JSON Schema 2020-12): finds the documented response for
 * (method, path template, status), checks its headers and validates the JSON
 * body against the schema exactly where the document has it, so every `$ref`
 * resolves inside the document.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const OPENAPI_PATH = join(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml');

/** The document's id in ajv; schemas are compiled as `${DOCUMENT_ID}#<JSON pointer>`. */
const DOCUMENT_ID = 'k2p-web-openapi';
/** Keywords of the OpenAPI document (and of its Schema Objects) that are no JSON Schema vocabulary. */
const OPENAPI_KEYWORDS = ['openapi', 'info', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'example'];

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const validators = new WeakMap<object, Ajv2020>();

/** One ajv per document: strict (unknown keywords are errors), every error reported, formats checked. */
function ajvFor(doc: Json): Ajv2020 {
  let ajv = validators.get(doc);
  if (!ajv) {
    ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    ajv.addVocabulary(OPENAPI_KEYWORDS);
    ajv.addSchema({ ...doc, $id: DOCUMENT_ID });
    validators.set(doc, ajv);
  }
  return ajv;
}

export function loadOpenApi(path = OPENAPI_PATH): Json {
  return parse(readFileSync(path, 'utf8'));
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** The node at a JSON pointer, following `$ref`s to the end; returns it with its own pointer. */
export function resolve(doc: Json, pointer: string): { node: Json; pointer: string } {
  const seen = new Set<string>();
  let at = pointer;
  for (;;) {
    const node = at
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((value: Json, key) => value?.[key], doc);
    if (node === undefined) throw new Error(`Nothing at ${at} in the OpenAPI document`);
    if (typeof node?.$ref !== 'string') return { node, pointer: at };
    if (seen.has(at)) throw new Error(`Circular $ref at ${at}`);
    seen.add(at);
    at = node.$ref;
  }
}

/** The ajv validator of the schema at `pointer` (compiled once). */
export function schemaAt(doc: Json, pointer: string): ValidateFunction {
  const validate = ajvFor(doc).getSchema(`${DOCUMENT_ID}${pointer}`);
  if (!validate) throw new Error(`No schema at ${pointer}`);
  return validate;
}

function problems(validate: ValidateFunction, value: unknown, at: string): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${at}${e.instancePath}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Where the document describes `status` of an operation: the exact code, else its range (4XX), else default. */
export function documentedResponsePointer(doc: Json, method: string, pathTemplate: string, status: number): string | undefined {
  const operation = `#/paths/${escapePointer(pathTemplate)}/${method.toLowerCase()}`;
  const responses = doc.paths?.[pathTemplate]?.[method.toLowerCase()]?.responses;
  if (!responses) return undefined;
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((candidate) => candidate in responses);
  return key === undefined ? undefined : resolve(doc, `${operation}/responses/${key}`).pointer;
}

/** A header value as its schema types it (headers travel as text). */
function typedHeader(schema: Json, value: string): unknown {
  return schema?.type === 'integer' || schema?.type === 'number' ? Number(value) : value;
}

export interface DocumentedResponse {
  statusCode: number;
  headers?: Record<string, string | number | boolean | string[]>;
  body?: string;
}

/** Problems with a real response against the document; empty when it conforms. */
export function checkResponse(doc: Json, method: string, pathTemplate: string, response: DocumentedResponse): string[] {
  if (!doc.paths?.[pathTemplate]?.[method.toLowerCase()]) return [`${method} ${pathTemplate} is not documented`];
  const pointer = documentedResponsePointer(doc, method, pathTemplate, response.statusCode);
  if (!pointer) return [`${method} ${pathTemplate} does not document status ${response.statusCode}`];
  const spec = resolve(doc, pointer).node;
  const errors: string[] = [];
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  for (const name of Object.keys(spec.headers ?? {})) {
    const header = resolve(doc, `${pointer}/headers/${escapePointer(name)}`);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.node.required) errors.push(`header ${name} is required`);
      continue;
    }
    const schemaPointer = `${header.pointer}/schema`;
    errors.push(...problems(schemaAt(doc, schemaPointer), typedHeader(resolve(doc, schemaPointer).node, value), `header ${name}`));
  }
  const textType = Object.keys(spec.content ?? {}).find((type) => type.startsWith('text/'));
  if (textType && headers['content-type'] !== textType) errors.push(`content-type is ${headers['content-type']}, not ${textType}`);
  if (spec.content?.['application/json']?.schema) {
    if (!headers['content-type']?.startsWith('application/json')) errors.push(`content-type is ${headers['content-type']}`);
    let body: unknown;
    try {
      body = JSON.parse(response.body ?? '');
    } catch {
      return [...errors, 'body is not JSON'];
    }
    errors.push(...problems(schemaAt(doc, `${pointer}/content/application~1json/schema`), body, '$'));
  }
  return errors;
}

/** Every (method, path, status) the document describes, as `GET /jobs/{id} 404`. */
export function documentedResponses(doc: Json): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Json][]) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      for (const status of Object.keys(operation.responses ?? {})) out.push(`${method.toUpperCase()} ${path} ${status}`);
    }
  }
  return out;
}
