/**
 * Shared set-up of the local-mode tests: one synthesis of the real app (only
 * when cdk.out is stale; concurrent test files wait on the same lock) and its
 * model, and the converter contract double as K2P_COMMAND.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymousCdkOut, REPO_ROOT } from '../../local/host/local-stack';
import { loadStackModel, type StackModel } from '../../local/model/stack-model';
import { ensureSynth } from '../../local/model/synth';

/** A synthesis may be needed first (about a minute on a busy machine). */
export const SYNTH_TIMEOUT_MS = 300_000;

export const STACK_NAME = 'K2pWeb';

/** TESTS ONLY: the knime2py contract double (never used by the product). */
export const DOUBLE_COMMAND = `node ${join(REPO_ROOT, 'test', 'doubles', 'k2p-double.mjs')}`;

/** cdk.json's synthesis, or one with anonymousAccess overridden (as `npm start -- --anonymous` makes it). */
export async function synthesizedCdkOut(options: { anonymousAccess?: boolean } = {}): Promise<string> {
  const { anonymousAccess } = options;
  const override =
    anonymousAccess === undefined
      ? {}
      : { outDir: anonymousCdkOut(REPO_ROOT, anonymousAccess), context: { anonymousAccess: String(anonymousAccess) } };
  return (await ensureSynth({ root: REPO_ROOT, stackName: STACK_NAME, ...override })).outDir;
}

export async function realModel(webHost = '127.0.0.1:8780', options: { anonymousAccess?: boolean } = {}): Promise<StackModel> {
  return loadStackModel({ cdkOut: await synthesizedCdkOut(options), stackName: STACK_NAME, webHost });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
