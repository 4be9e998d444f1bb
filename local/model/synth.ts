/**
 * Makes sure cdk.out holds a synthesis of the current sources: local mode runs
 * the synthesized template and bundles, never the TypeScript directly. Synthesizes
 * with the same CLI and context as `npm run synth` when the template is missing
 * or older than any source file cdk.json's `watch.include` names.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { processIsAlive } from '../../core/node/processes';

export interface SynthOptions {
  /** Repository root (where cdk.json is). */
  root: string;
  /** Output directory. @default <root>/cdk.out */
  outDir?: string;
  stackName: string;
  /** Synthesize even when the template looks fresh. */
  force?: boolean;
  /** Progress lines ("synthesizing…"). */
  log?: (line: string) => void;
  /** Context given with -c on top of cdk.json's (use a separate outDir per set: freshness is judged by time only). */
  context?: Record<string, string>;
}

export interface SynthResult {
  outDir: string;
  /** Whether this call ran `cdk synth`. */
  synthesized: boolean;
  /** Why it did (or did not). */
  reason: string;
}

/** The stack `npm run synth` synthesizes: cdk.json's context.stackName, else K2pWeb. */
export function contextStackName(root: string): string {
  try {
    const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: { stackName?: string } };
    return cdkJson.context?.stackName ?? 'K2pWeb';
  } catch {
    return 'K2pWeb';
  }
}

/** Build outputs and tests inside the watched folders do not change the template. */
const IGNORED = /(^|\/)(node_modules|dist|cdk\.out)(\/|$)|\.test\.ts$/;

function watchedRoots(root: string): string[] {
  const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { watch?: { include?: string[] } };
  const include = cdkJson.watch?.include ?? ['bin/**', 'lib/**'];
  return [...include.map((pattern) => pattern.replace(/\/?\*\*.*$/, '')), 'cdk.json', 'package.json', 'package-lock.json', 'tsconfig.json'];
}

/** The newest source file under the watched roots: [path, mtime ms]. */
export function newestSource(root: string): [string, number] {
  let newest: [string, number] = ['', 0];
  const visit = (path: string) => {
    const rel = relative(root, path);
    if (rel && IGNORED.test(rel)) return;
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (stat.mtimeMs > newest[1]) {
      newest = [rel, stat.mtimeMs];
    }
  };
  for (const entry of watchedRoots(root)) visit(join(root, entry));
  return newest;
}

export function synthStatus(root: string, outDir: string, stackName: string): { fresh: boolean; reason: string } {
  const template = join(outDir, `${stackName}.template.json`);
  if (!existsSync(template)) return { fresh: false, reason: `${relative(root, template)} is missing` };
  const templateTime = statSync(template).mtimeMs;
  const [source, sourceTime] = newestSource(root);
  if (sourceTime > templateTime) return { fresh: false, reason: `${source} changed after the last synthesis` };
  return { fresh: true, reason: 'the synthesized template is up to date' };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock directory, so two local stacks (or test files) never synthesize into one cdk.out at once. */
async function withLock<T>(lockDir: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
      } catch {
        // Being created right now: wait.
      }
      // An empty pid file (0) is one being written: only a named owner that is gone frees the lock.
      if (owner > 0 && !processIsAlive(owner)) rmSync(lockDir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for another synthesis (lock ${lockDir})`, { cause: error });
      else await sleep(500);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function runCdkSynth(
  root: string,
  outDir: string,
  stackName: string,
  context: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const contextArgs = Object.entries({ ...context, stackName }).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  return new Promise((resolvePromise) => {
    const child = spawn('npx', ['cdk', 'synth', '-q', '-o', outDir, ...contextArgs], {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => resolvePromise({ code: 1, output: error.message }));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

export async function ensureSynth(options: SynthOptions): Promise<SynthResult> {
  const root = resolve(options.root);
  const outDir = resolve(options.outDir ?? join(root, 'cdk.out'));
  const log = options.log ?? (() => undefined);
  const before = synthStatus(root, outDir, options.stackName);
  if (before.fresh && !options.force) return { outDir, synthesized: false, reason: before.reason };
  mkdirSync(dirname(outDir), { recursive: true });
  return withLock(`${outDir}.k2p-synth.lock`, async () => {
    // Someone else may have synthesized while we waited for the lock.
    const status = synthStatus(root, outDir, options.stackName);
    if (status.fresh && !options.force) return { outDir, synthesized: false, reason: status.reason };
    log(`Synthesizing the CDK app (${options.force ? 'forced' : status.reason}); this takes about a minute…`);
    for (let attempt = 1; ; attempt++) {
      const { code, output } = await runCdkSynth(root, outDir, options.stackName, options.context);
      if (code === 0) return { outDir, synthesized: true, reason: status.reason };
      // The CDK CLI locks cdk.out while another CLI reads or writes it: wait and retry.
      if (/currently (synthing|reading)|Other CLIs/i.test(output) && attempt < 20) {
        await sleep(3000);
        continue;
      }
      throw new Error(
        `cdk synth failed (exit ${code}); fix the app, then start again:\n${output.trim().split('\n').slice(-30).join('\n')}`,
      );
    }
  });
}
