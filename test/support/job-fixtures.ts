/**
 * What a client and the runner do around the handlers in the tests: bundles
 * from the sample workflows, the browser-style POST upload, the runner's PUTs
 * of report.json and result.zip through its presigned URLs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { SAMPLES_DIR } from './samples';
import type { UploadTicket } from '../../core/api-schemas';
import type { ConversionErrorCode } from '../../core/errors';
import type { ConversionReport } from '../../core/types';

export { sampleBundle, sha256 } from './samples';
export const FIXTURE_SAMPLES = SAMPLES_DIR;

/** A ZIP that breaks the allowlist (a data file next to the workflow). */
export function bundleWithDataFile(): Uint8Array {
  const root = join(FIXTURE_SAMPLES, 'KNIME_single_csv');
  return zipSync({
    'workflow.knime': readFileSync(join(root, 'workflow.knime')),
    'CSV Reader (#1)/settings.xml': readFileSync(join(root, 'CSV Reader (#1)', 'settings.xml')),
    'data/customers.csv': new TextEncoder().encode('id,name\n1,Ada\n'),
  });
}

/** Uploads like a browser: multipart form with every policy field, then the file. Returns the HTTP status and body. */
export async function uploadBundle(
  upload: UploadTicket,
  bytes: Uint8Array,
  overrides: { fields?: Record<string, string>; contentType?: string } = {},
): Promise<{ status: number; body: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...upload.fields, ...overrides.fields })) form.append(name, value);
  form.append('file', new Blob([Buffer.from(bytes)], { type: overrides.contentType ?? 'application/zip' }), 'bundle.zip');
  const response = await fetch(upload.url, { method: 'POST', body: form });
  return { status: response.status, body: await response.text() };
}

export async function putObject(url: string, body: Uint8Array | string): Promise<number> {
  const response = await fetch(url, { method: 'PUT', body: typeof body === 'string' ? body : Buffer.from(body) });
  await response.arrayBuffer();
  return response.status;
}

export interface ReportSpec {
  jobId: string;
  workflow?: string;
  outcome: ConversionReport['outcome'];
  exitCode: number | null;
  code?: ConversionErrorCode;
  inputSha256?: string;
}

/** report.json as the runner writes it, for a given converter outcome. */
export function runnerReport(spec: ReportSpec): ConversionReport {
  const succeeded = spec.outcome === 'SUCCEEDED';
  const workflow = spec.workflow ?? 'KNIME_single_csv';
  const component = {
    workflowId: `${workflow}__g01`,
    nodes: 1,
    edges: 0,
    idle: 1,
    notImplementedCount: 0,
    notImplementedNames: [],
    files: { json: `${workflow}__g01.json`, workbookPy: `${workflow}__g01_workbook.py` },
  };
  const files = succeeded ? [`${workflow}__g01.json`, `${workflow}__g01_workbook.py`, 'report.json', 'README.md'] : [];
  return {
    schemaVersion: 1,
    jobId: spec.jobId,
    workflow,
    inputSha256: spec.inputSha256 ?? '0'.repeat(64),
    outcome: spec.outcome,
    ...(spec.code ? { error: { code: spec.code, message: `converter said ${spec.code}`, details: { exitCode: spec.exitCode } } } : {}),
    exitCode: spec.exitCode,
    converter: { command: 'k2p', version: '0.1.11', image: 'ghcr.io/vitalii-kaplan/knime2py:v0.1.11' },
    options: { workbook: 'both', graph: 'both' },
    components: succeeded ? [component] : [],
    summary: {
      components: succeeded ? 1 : 0,
      nodes: succeeded ? 1 : 0,
      edges: 0,
      idle: succeeded ? 1 : 0,
      notImplemented: 0,
      notImplementedNames: [],
      files,
    },
    durationsMs: { download: 5, validate: 3, convert: 1234, package: 7, total: 1260 },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

/** A stand-in result.zip (the handlers only check that it exists and how big it is). */
export function resultZip(workflow = 'KNIME_single_csv'): Uint8Array {
  return zipSync({ [`${workflow}__g01_workbook.py`]: new TextEncoder().encode('import pandas as pd\n') });
}
