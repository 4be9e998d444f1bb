/**
 * The steps of converting one workflow with the service, shared by
 * `k2p-web convert` for one workflow and for a whole workspace: each step
 * prints nothing itself and reports through callbacks, so each mode shows
 * progress its own way.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { backoffDelay, type ApiClient, type CapacityWait, type Clock, type CreatedJob } from '../core/api-client';
import type { UploadTicket } from '../core/api-schemas';
import { buildBundle, type BundlerError } from '../core/bundler';
import type { BundleLimits } from '../core/limits';
import { openBundleSource } from '../core/node/bundle-source';
import { uploadToPresignedPost, UploadError } from '../core/node/upload';
import { validateBundleFile } from '../core/node/validate-bundle';
import type { ManifestWarning, ValidationFailure } from '../core/types';
import { ZipReadError } from '../core/zip-read';

/** Longest total wait for capacity (SERVER_BUSY / RATE_LIMITED) before giving up. */
export const CAPACITY_WAIT_MS = 10 * 60_000;
const UPLOAD_ATTEMPTS = 3;
/** Time allowed to delete a job whose upload was abandoned (frees its capacity slot at once). */
const CLEANUP_TIMEOUT_MS = 5000;

export type BundleOutcome =
  | {
      ok: true;
      bytes: Uint8Array;
      filename: string;
      /** A .zip that was a valid bundle already, uploaded as it is. */
      asIs: boolean;
      files: number;
      nodes: number;
      workflowName: string;
      warnings: ManifestWarning[];
      /** Why a .zip input was bundled instead of uploaded as it is. */
      verdict?: ValidationFailure;
    }
  | { ok: false; errors: (BundlerError | { code: string; message: string })[]; verdict?: ValidationFailure };

/** The bytes to upload: a valid bundle .zip as it is, anything else through the bundler (`root` picks one of several workflows). */
export async function makeBundle(input: string, options: { root?: string; limits: BundleLimits }): Promise<BundleOutcome> {
  let verdict: ValidationFailure | undefined;
  if ((await stat(input)).isFile() && /\.zip$/i.test(input) && options.root === undefined) {
    const checked = await validateBundleFile(input, options.limits);
    if (checked.ok) {
      const bytes = new Uint8Array(await readFile(input));
      const { files, nodes } = checked.stats;
      const filename = basename(input);
      return { ok: true, bytes, filename, asIs: true, files, nodes, workflowName: filename.replace(/\.zip$/i, ''), warnings: [] };
    }
    // Not a bundle as it stands (e.g. a zipped workflow folder with data): bundle what it holds.
    verdict = checked;
  }
  const withVerdict = verdict ? { verdict } : {};
  let source;
  try {
    source = await openBundleSource(input, { limits: options.limits });
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    return { ok: false, errors: [{ code: error.code, message: error.message }], ...withVerdict };
  }
  try {
    const result = await buildBundle(source.files, {
      limits: options.limits,
      sourceName: source.name,
      ...(options.root !== undefined ? { root: options.root } : {}),
    });
    if (!result.ok) return { ok: false, errors: result.errors, ...withVerdict };
    const { workflowName, totals, warnings } = result.manifest;
    return {
      ok: true,
      bytes: result.zip,
      filename: workflowName,
      asIs: false,
      files: totals.present,
      nodes: totals.nodes,
      workflowName,
      warnings,
      ...withVerdict,
    };
  } finally {
    await source.close();
  }
}

export interface JobRequestOptions {
  workbook: 'py' | 'ipynb' | 'both';
  graph: 'json' | 'dot' | 'off' | 'both';
}

/** POST /jobs, waiting out SERVER_BUSY/RATE_LIMITED; one Idempotency-Key for every try, so at most one job exists. */
export function createJobWaitingForCapacity(
  client: ApiClient,
  bundle: { bytes: Uint8Array; filename: string },
  options: JobRequestOptions,
  signal: AbortSignal,
  onWait: (wait: CapacityWait) => void,
): Promise<CreatedJob> {
  const idempotencyKey = `k2p-cli-${crypto.randomUUID()}`;
  const request = {
    filename: bundle.filename,
    sizeBytes: bundle.bytes.length,
    options: { workbook: options.workbook, graph: options.graph },
  };
  return client.withCapacityRetry(() => client.createJob(request, { idempotencyKey, signal }), {
    onWait,
    signal,
    maxWaitMs: CAPACITY_WAIT_MS,
  });
}

export interface UploadHooks {
  signal: AbortSignal;
  clock: Clock;
  random?: () => number;
  onProgress?: (loaded: number, total: number) => void;
  /** A network failure that will be retried after `delayMs`. */
  onRetry?: (error: UploadError, delayMs: number) => void;
}

/** Uploads the bundle to the presigned POST, retrying network failures with back-off. */
export async function uploadBundle(
  ticket: UploadTicket,
  bundle: { bytes: Uint8Array; filename: string },
  hooks: UploadHooks,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await uploadToPresignedPost({ ...ticket }, bundle.bytes, {
        signal: hooks.signal,
        filename: `${bundle.filename.replace(/\.zip$/i, '')}.zip`,
        onProgress: ({ loaded, total }) => hooks.onProgress?.(loaded, total),
      });
      return;
    } catch (error) {
      if (hooks.signal.aborted || !(error instanceof UploadError) || !error.isNetwork || attempt >= UPLOAD_ATTEMPTS) throw error;
      const delay = backoffDelay(attempt, 1000, 8000, hooks.random);
      hooks.onRetry?.(error, delay);
      await hooks.clock.sleep(delay, hooks.signal);
    }
  }
}

/** A job whose bundle never arrives holds a capacity slot until its upload window ends: free it now. */
export async function abandonJob(client: ApiClient, jobId: string): Promise<string> {
  try {
    await client.deleteJob(jobId, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) });
    return `Job ${jobId} was deleted (nothing was converted).`;
  } catch {
    return `Job ${jobId} could not be deleted; it expires on its own when its upload window ends.`;
  }
}
