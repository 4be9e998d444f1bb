/**
 * Shapes shared by lambdas, runner, web page and CLI: the job record, the
 * validation verdict, the bundle manifest and the conversion report.
 */
import type { BundleErrorCode, ErrorInfo } from './errors';
import type { JobStatus } from './job-states';

/** knime2py output options (`--workbook`, `--graph`); `both` runs the converter with both formats. */
export interface ConversionOptions {
  workbook: 'py' | 'ipynb' | 'both';
  graph: 'json' | 'dot' | 'off' | 'both';
}

export const DEFAULT_CONVERSION_OPTIONS: ConversionOptions = Object.freeze({ workbook: 'both', graph: 'both' });

/** What the validator learned about an accepted bundle. */
export interface BundleStats {
  /** Entries in the ZIP's central directory (directories included). */
  entries: number;
  /** Files kept (workflow.knime and settings.xml). */
  files: number;
  /** Size of the ZIP, bytes. */
  zipBytes: number;
  /** Sum of the inflated sizes actually measured while streaming, bytes. */
  unpackedBytes: number;
  /** sha256 of the ZIP bytes, hex. */
  sha256: string;
  /** Nodes listed by all workflow.knime files (root and nested). */
  nodes: number;
  /** settings.xml files referenced by `node_settings_file` entries. */
  referencedSettings: number;
  /** Folders of nested workflows (metanodes and components), relative to the root. */
  nestedWorkflows: string[];
  /** Name of the workflow (the root folder's name when the bundle has one, else derived). */
  workflowName?: string;
}

export interface ValidationFailure {
  ok: false;
  code: BundleErrorCode;
  message: string;
  /** The ZIP entry the verdict is about, when there is one. */
  entry?: string;
}

export interface ValidationSuccess {
  ok: true;
  stats: BundleStats;
}

export type ValidationVerdict = ValidationFailure | ValidationSuccess;

/** One file the bundler looked at. */
export interface ManifestFile {
  path: string;
  size: number;
  /** false when workflow.knime references it but it is not in the source. */
  present: boolean;
}

export type ManifestWarningKind = 'SEVERAL_ROOTS' | 'SETTINGS_MISSING' | 'CREDENTIAL_VALUE' | 'FILES_SKIPPED' | 'XML_INVALID';

export interface ManifestWarning {
  kind: ManifestWarningKind;
  message: string;
  path?: string;
  /** For CREDENTIAL_VALUE: the node folder and the settings key, never the value. */
  node?: string;
  key?: string;
}

export interface Manifest {
  /** Path of the root workflow folder inside the source ('' when workflow.knime is at the top). */
  root: string;
  /** Name of the workflow (the root folder's name). */
  workflowName: string;
  /** Every top-level workflow folder of the selection, when there are several ('' is the top). */
  roots?: string[];
  files: ManifestFile[];
  totals: { files: number; present: number; missing: number; bytes: number; nodes: number; skipped: number };
  warnings: ManifestWarning[];
}

/** One connected component as knime2py reports it, with paths made relative to the result. */
export interface ComponentSummary {
  workflowId: string;
  nodes: number;
  edges: number;
  idle: number;
  notImplementedCount: number;
  notImplementedNames: string[];
  files: { json?: string; dot?: string; workbookPy?: string; workbookIpynb?: string };
}

export interface ResultSummary {
  components: number;
  nodes: number;
  edges: number;
  idle: number;
  notImplemented: number;
  notImplementedNames: string[];
  /** Names of the files in result.zip. */
  files: string[];
  resultBytes?: number;
}

/** report.json: written by the runner into result.zip and next to it. */
export interface ConversionReport {
  schemaVersion: 1;
  jobId: string;
  workflow: string;
  inputSha256: string;
  outcome: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  error?: ErrorInfo;
  exitCode: number | null;
  converter: { command: string; version: string | null; image: string | null };
  options: ConversionOptions;
  components: ComponentSummary[];
  summary: ResultSummary;
  /** The converter's stderr, truncated and with scratch paths rewritten. */
  stderrTail?: string;
  durationsMs: { download: number; validate: number; convert: number; package: number; total: number };
  startedAt: string;
  finishedAt: string;
}

export interface JobTimestamps {
  createdAt: string;
  updatedAt: string;
  uploadedAt?: string;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** A job as stored in DynamoDB. */
export interface JobRecord extends JobTimestamps {
  jobId: string;
  /** API key id of the creator; the only key that may see the job. */
  owner: string;
  status: JobStatus;
  filename?: string;
  workflowName?: string;
  options: ConversionOptions;
  /** Declared size at creation, bytes. */
  sizeBytes?: number;
  /** When the presigned upload stops working (ISO). */
  uploadExpiresAt: string;
  /** When a non-terminal job is considered stuck and finished by the reaper (ISO). */
  deadlineAt?: string;
  bundle?: BundleStats;
  error?: ErrorInfo;
  result?: ResultSummary;
  /** When the result is removed by retention (ISO). */
  resultExpiresAt?: string;
  converter?: { image?: string; version?: string | null };
  executionArn?: string;
  idempotencyKey?: string;
  /** Where the job.finished event goes (the job's callbackUrl or the owner's default at creation). */
  callback?: { url: string };
  /** Delivery of the job.finished event so far (set by the webhook sender). */
  webhook?: WebhookDelivery;
  /** The job's first terminal state, snapshotted by the move into it: what the event reports. */
  webhookEvent?: { id: string; status: JobStatus; at: string };
  /** DynamoDB TTL, epoch seconds. */
  expiresAt: number;
}

export type BundleRejection = ValidationFailure;

/** One job's webhook delivery record (the job view shows it with the URL). */
export interface WebhookDelivery {
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastAttemptAt: string | null;
  lastResponseCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}
