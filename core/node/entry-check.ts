/**
 * The per-file part of bundle validation: inflate one entry with a hard
 * output cap, check its size and CRC against the headers, then its XML.
 * Pure and synchronous, so it runs the same inline or in a worker thread.
 */
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
import type { WorkflowNodeRef } from '../bundle-policy';
import type { BundleErrorCode } from '../errors';
import { parseWorkflow } from '../workflow';
import { checkXml, type XmlError } from '../xml';
import { wasmXmlFastPath, xmlScratch } from '../xml-wasm';
import { InflateError, inflateRawInto } from './inflate';

export interface EntryTask {
  /** Position in central-directory order: the first failing index is the verdict. */
  index: number;
  name: string;
  dataStart: number;
  compressedSize: number;
  uncompressedSize: number;
  method: number;
  crc32: number;
  isWorkflow: boolean;
}

export type EntryOutcome =
  | { ok: true; index: number; nodes?: WorkflowNodeRef[]; data?: Uint8Array }
  | { ok: false; index: number; code: BundleErrorCode; message: string; entry: string };

export function checkEntryData(zip: Uint8Array, task: EntryTask, maxXmlDepth: number, keepData: boolean): EntryOutcome {
  const fail = (code: BundleErrorCode, message: string): EntryOutcome => ({
    ok: false,
    index: task.index,
    code,
    message,
    entry: task.name,
  });
  const compressed = zip.subarray(task.dataStart, task.dataStart + task.compressedSize);
  let data: Uint8Array;
  if (task.method === 0) {
    data = compressed;
  } else {
    // One byte past the declared size proves the header lies; the cap bounds memory and time.
    // The output goes straight into the XML fast path's memory, where it is then scanned.
    const cap = task.uncompressedSize + 1;
    const output = xmlScratch(cap) ?? Buffer.allocUnsafe(cap);
    let length: number;
    try {
      length = inflateRawInto(compressed, output);
    } catch (error) {
      if (!(error instanceof InflateError)) throw error;
      return fail('ZIP_CORRUPT', `\`${task.name}\` has damaged compressed data (${error.message}).`);
    }
    if (length === cap) {
      return fail('ZIP_CORRUPT', `\`${task.name}\` inflates to more than the ${task.uncompressedSize} bytes its header declares.`);
    }
    data = output.subarray(0, length);
  }
  if (data.length !== task.uncompressedSize) {
    return fail('ZIP_CORRUPT', `\`${task.name}\` inflates to ${data.length} bytes but its header declares ${task.uncompressedSize}.`);
  }
  if (zlib.crc32(data) !== task.crc32) return fail('ZIP_CORRUPT', `\`${task.name}\` fails its CRC-32 check.`);
  // parseWorkflow wants events, so only checkXml below uses the fast path.
  const options = { isUtf8, maxDepth: maxXmlDepth, fastPath: wasmXmlFastPath };
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
  // Inflated data lives in a scratch buffer that the next entry reuses: keep a copy.
  const kept = keepData ? (task.method === 0 ? data : data.slice()) : undefined;
  return { ok: true, index: task.index, ...(nodes ? { nodes } : {}), ...(kept ? { data: kept } : {}) };
}

/** Checks a batch in order, stopping at its first failure (later tasks cannot win). Workers and the main thread share it. */
export function checkBatch(zip: Uint8Array, batch: readonly EntryTask[], maxXmlDepth: number): EntryOutcome[] {
  const outcomes: EntryOutcome[] = [];
  for (const task of batch) {
    const outcome = checkEntryData(zip, task, maxXmlDepth, false);
    outcomes.push(outcome);
    if (!outcome.ok) break;
  }
  return outcomes;
}
