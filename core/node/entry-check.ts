/**
 * The per-file part of bundle validation: inflate one entry with a hard
 * output cap, check its size and CRC against the headers, then its XML.
 *
 * The plain engine (Node's public zlib API and the JavaScript XML scanner in
 * core/xml.ts) is complete on its own; fast-path/ may swap in faster parts
 * (an EntryEngine), which must never change an outcome.
 */
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
import type { WorkflowNodeRef } from '../bundle-policy';
import type { BundleErrorCode } from '../errors';
import { parseWorkflow } from '../workflow';
import { checkXml, type XmlError, type XmlFastPath } from '../xml';
import { METHOD } from '../zip-format';

export interface EntryTask {
  name: string;
  dataStart: number;
  compressedSize: number;
  uncompressedSize: number;
  method: number;
  crc32: number;
  isWorkflow: boolean;
}

export type EntryOutcome =
  { ok: true; nodes?: WorkflowNodeRef[]; data?: Uint8Array } | { ok: false; code: BundleErrorCode; message: string; entry: string };

/** Damaged or truncated deflate data. */
export class InflateError extends Error {}

/** How an entry's data is inflated and its XML scanned. */
export interface EntryEngine {
  /**
   * Raw-deflate `input` inflated, or undefined when it holds more than
   * `maxBytes` (found without inflating past that). Throws InflateError for
   * damaged or truncated data. The result may be reused by the next call.
   */
  inflate(input: Uint8Array, maxBytes: number): Uint8Array | undefined;
  /** Accepts well-formed documents early; core/xml.ts decides everything else. */
  xml?: XmlFastPath;
}

/** Node's public zlib API, bounded: one output chunk of the cap (a lying header costs at most a second one). */
export function inflateRawPublic(input: Uint8Array, maxBytes: number): Uint8Array | undefined {
  const cap = maxBytes + 1;
  let data: Buffer;
  try {
    data = zlib.inflateRawSync(input, { maxOutputLength: cap, chunkSize: publicChunkSize(cap) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw new InflateError((error as Error).message);
  }
  return data.length > maxBytes ? undefined : data;
}

/** The output chunk inflateRawPublic asks zlib for (its smallest is 64 bytes). */
export function publicChunkSize(cap: number): number {
  return Math.max(zlib.constants.Z_MIN_CHUNK, cap);
}

export const PLAIN_ENGINE: EntryEngine = { inflate: inflateRawPublic };

export function checkEntryData(
  zip: Uint8Array,
  task: EntryTask,
  maxXmlDepth: number,
  keepData: boolean,
  engine: EntryEngine = PLAIN_ENGINE,
): EntryOutcome {
  const fail = (code: BundleErrorCode, message: string): EntryOutcome => ({ ok: false, code, message, entry: task.name });
  const compressed = zip.subarray(task.dataStart, task.dataStart + task.compressedSize);
  let data: Uint8Array;
  if (task.method === METHOD.STORED) {
    data = compressed;
  } else {
    // Inflating past the declared size proves the header lies; the cap bounds memory and time.
    let inflated: Uint8Array | undefined;
    try {
      inflated = engine.inflate(compressed, task.uncompressedSize);
    } catch (error) {
      if (!(error instanceof InflateError)) throw error;
      return fail('ZIP_CORRUPT', `\`${task.name}\` has damaged compressed data (${error.message}).`);
    }
    if (!inflated) {
      return fail('ZIP_CORRUPT', `\`${task.name}\` inflates to more than the ${task.uncompressedSize} bytes its header declares.`);
    }
    data = inflated;
  }
  if (data.length !== task.uncompressedSize) {
    return fail('ZIP_CORRUPT', `\`${task.name}\` inflates to ${data.length} bytes but its header declares ${task.uncompressedSize}.`);
  }
  if (zlib.crc32(data) !== task.crc32) return fail('ZIP_CORRUPT', `\`${task.name}\` fails its CRC-32 check.`);
  // parseWorkflow wants events, so only checkXml below uses the fast path.
  const options = { isUtf8, maxDepth: maxXmlDepth, ...(engine.xml ? { fastPath: engine.xml } : {}) };
  const xmlFailure = (problem: XmlError): EntryOutcome => {
    const what = problem.code === 'XML_FORBIDDEN_DTD' ? 'declares a DTD' : 'is not well-formed XML';
    return fail(problem.code, `\`${task.name}\` ${what}: ${problem.reason} (line ${problem.line}).`);
  };
  let nodes: WorkflowNodeRef[] | undefined;
  if (task.isWorkflow) {
    const workflow = parseWorkflow(data, options);
    if (!workflow.ok) return xmlFailure(workflow);
    nodes = workflow.nodes;
  } else {
    const result = checkXml(data, options);
    if (!result.ok) return xmlFailure(result);
  }
  // An engine may inflate into memory that the next entry reuses: keep a copy.
  const kept = keepData ? (task.method === METHOD.STORED ? data : new Uint8Array(data)) : undefined;
  return { ok: true, ...(nodes ? { nodes } : {}), ...(kept ? { data: kept } : {}) };
}
