/**
 * Where `k2p-web convert|jobs|status` send their requests: --api/--key flags,
 * then K2P_API_URL/K2P_API_KEY, then the profile saved by `k2p-web login`
 * (--profile, else K2P_WEB_PROFILE, else the one called "default"), then the
 * running local stack (the state file
 * `.k2p-local/stack.json` that `npm start` writes, or `$K2P_LOCAL_DATA_DIR/stack.json`
 * for a stack started with another --data-dir), else a clear error.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_DATA_DIR, LOCAL_STACK_FILE, LocalStackFileSchema, type LocalStackFile } from '../core/local-stack-file';
import { processIsAlive } from '../core/node/processes';
import { UsageError } from './command';
import {
  chooseProfile,
  configPath,
  DEFAULT_PROFILE,
  findConfigPath,
  loadConfig,
  refuseLooseConfig,
  requireProfile,
  type Profile,
} from './profiles';

export interface ApiTarget {
  apiUrl: string;
  apiKey: string;
  /** Where the URL came from, for the "using …" line. */
  source: 'flag' | 'env' | 'profile' | 'local stack';
  /** The state file used, when the local stack supplied anything. */
  stateFile?: string;
  /** The profile used, when a saved profile supplied anything. */
  profile?: string;
}

export interface TargetInput {
  api?: string;
  key?: string;
  /** --profile: a profile saved by `k2p-web login`. */
  profile?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Which of the local stack's keys to fall back to: its CLI key (role user), or its administrator's. @default 'cli' */
  localKey?: 'cli' | 'admin';
}

export interface TargetDeps {
  /** Is this process running? @default processIsAlive */
  isAlive?: (pid: number) => boolean;
  /** Folders searched for `.k2p-local/stack.json` after the cwd and its parents. @default - the k2p-web checkout holding this CLI */
  extraRoots?: string[];
}

const HOW_TO =
  'Start local mode with `npm start` in the k2p-web folder, or sign in to a deployed API with ' +
  '`k2p-web login --api <url>` (or pass --api <url> --key <key>, or set K2P_API_URL and K2P_API_KEY).';

/** Resolves the API URL and key, field by field: flag, then environment, then the saved profile, then the running local stack. */
export async function resolveApiTarget(input: TargetInput, deps: TargetDeps = {}): Promise<ApiTarget> {
  const api = nonEmpty(input.api) ?? nonEmpty(input.env.K2P_API_URL);
  const key = nonEmpty(input.key) ?? nonEmpty(input.env.K2P_API_KEY);
  const apiSource: ApiTarget['source'] = nonEmpty(input.api) ? 'flag' : 'env';
  const choice = chooseProfile(input.profile, input.env);
  // --profile must name a profile even when --api/--key override it (a typo should not pass silently);
  // K2P_WEB_PROFILE, often set for a whole shell or CI job, is looked at only when it is needed.
  const needed = choice.from === '--profile' || api === undefined || key === undefined;
  const saved = needed ? await findSavedProfile(input, choice) : undefined;
  if (api !== undefined && key !== undefined) return { apiUrl: checkUrl(api), apiKey: key, source: apiSource };
  if (saved) {
    const fromProfile: ApiTarget = {
      apiUrl: checkUrl(saved.profile.api),
      apiKey: saved.profile.key,
      source: 'profile',
      profile: saved.name,
    };
    if (api === undefined) return key === undefined ? fromProfile : { ...fromProfile, apiKey: key };
    // The profile's key is only good for the profile's API.
    if (sameUrl(api, saved.profile.api)) return { ...fromProfile, apiUrl: checkUrl(api), source: apiSource };
    if (choice.explicit)
      throw new UsageError(
        `profile "${saved.name}" is for ${saved.profile.api}, not ${api}: drop --api/K2P_API_URL, or run \`k2p-web login --api ${api} --profile <name>\`.`,
      );
  }
  const local = await findLocalStack(input.cwd, deps, nonEmpty(input.env.K2P_LOCAL_DATA_DIR));
  if (api === undefined && key === undefined && local) return fromStack(local, input.localKey);
  if (api === undefined && local) return { ...fromStack(local), apiKey: key! };
  // The local stack's key is only good for the local stack's API.
  if (api !== undefined && local && sameUrl(api, local.state.apiUrl))
    return { ...fromStack(local, input.localKey), apiUrl: checkUrl(api), source: apiSource };
  throw new UsageError(missingMessage(api, key, local === undefined));
}

/** The chosen profile; the implicit "default" only when it exists, a named one or a usage error. */
export async function findSavedProfile(
  input: Pick<TargetInput, 'profile' | 'env' | 'cwd'>,
  choice = chooseProfile(input.profile, input.env),
): Promise<{ name: string; profile: Profile } | undefined> {
  const path = findConfigPath(input.env, input.cwd);
  if (path === undefined && !choice.explicit) return undefined;
  const loaded = await loadConfig(path ?? configPath(input.env, input.cwd));
  if (!choice.explicit && !Object.hasOwn(loaded.config.profiles, DEFAULT_PROFILE)) return undefined;
  refuseLooseConfig(loaded);
  return { name: choice.name, profile: requireProfile(loaded, choice) };
}

function fromStack(local: FoundStack, which: TargetInput['localKey'] = 'cli'): ApiTarget {
  // A stack from before the admin key has none: its CLI key then gets the API's 403, which says what is missing.
  const apiKey = which === 'admin' ? (local.state.adminApiKey ?? local.state.cliApiKey) : local.state.cliApiKey;
  return { apiUrl: checkUrl(local.state.apiUrl), apiKey, source: 'local stack', stateFile: local.file };
}

function missingMessage(api: string | undefined, key: string | undefined, noStack: boolean): string {
  if (api !== undefined && key === undefined)
    return `no API key for ${api}: run \`k2p-web login --api ${api}\` (or pass --key <key>, or set K2P_API_KEY).`;
  if (api === undefined && key !== undefined)
    return `no API URL: pass --api <url> or set K2P_API_URL. ${noStack ? 'No local stack is running. ' : ''}`;
  return `no API to talk to: no --api/--key, no K2P_API_URL/K2P_API_KEY, no profile saved by \`k2p-web login\`, and no local stack running. ${HOW_TO}`;
}

interface FoundStack {
  file: string;
  state: LocalStackFile;
}

/**
 * The running local stack's state: searched in the cwd and its parents, then in
 * the checkout this CLI comes from. A state file whose process is gone is
 * stale (the stack crashed or was killed) and is reported as such.
 */
export async function findLocalStack(cwd: string, deps: TargetDeps = {}, dataDir?: string): Promise<FoundStack | undefined> {
  const isAlive = deps.isAlive ?? processIsAlive;
  let stale: { file: string; pid: number } | undefined;
  for (const file of candidateFiles(cwd, deps.extraRoots ?? [packageRoot()], dataDir)) {
    const state = await readState(file);
    if (!state) continue;
    if (isAlive(state.pid)) return { file, state };
    stale ??= { file, pid: state.pid };
  }
  if (stale) {
    throw new UsageError(
      `the local stack in ${stale.file} is not running (process ${stale.pid} is gone; it was stopped or crashed). ${HOW_TO}`,
    );
  }
  return undefined;
}

/** `npm start -- --data-dir` (env K2P_LOCAL_DATA_DIR) first, then `.k2p-local/` in the cwd, its parents and the checkout. */
function candidateFiles(cwd: string, extraRoots: string[], dataDir: string | undefined): string[] {
  const folders: string[] = [];
  for (let folder = resolve(cwd); ; folder = dirname(folder)) {
    folders.push(folder);
    if (dirname(folder) === folder) break;
  }
  for (const root of extraRoots) if (!folders.includes(resolve(root))) folders.push(resolve(root));
  const files = folders.map((folder) => join(folder, LOCAL_DATA_DIR, LOCAL_STACK_FILE));
  return dataDir ? [join(resolve(cwd, dataDir), LOCAL_STACK_FILE), ...files] : files;
}

async function readState(file: string): Promise<LocalStackFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: ReturnType<typeof LocalStackFileSchema.safeParse>;
  try {
    parsed = LocalStackFileSchema.safeParse(JSON.parse(text));
  } catch {
    throw new UsageError(`${file} is not valid JSON; stop local mode and start it again with \`npm start\`.`);
  }
  if (!parsed.success)
    throw new UsageError(
      `${file} does not describe a local stack (${parsed.error.issues[0]?.message}); restart local mode with \`npm start\`.`,
    );
  return parsed.data;
}

/** The checkout holding this file: cli/local-stack.ts from the sources, dist/k2p-web.mjs once bundled; both sit one level below it. */
export function packageRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `the API URL "${url}" is not a URL (e.g. http://127.0.0.1:3000 or https://abc.execute-api.eu-central-1.amazonaws.com/prod)`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`the API URL must start with http:// or https:// (got ${url})`);
  return url.replace(/\/+$/, '');
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** Enough of a key to tell keys apart, never enough to use it. */
export function maskKey(key: string): string {
  if (key.length < 12) return '****';
  return `${key.slice(0, 4)}…${key.slice(-2)}`;
}
