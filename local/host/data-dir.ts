/**
 * The local stack's data directory (default .k2p-local/): what survives a
 * restart (DynamoDB tables, S3 objects, the API keys, logs) and what does not
 * (each task's scratch), the state file the CLI reads to find a running stack,
 * and a guard against two stacks sharing one directory.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_STACK_FILE, LocalStackFileSchema, type LocalStackFile } from '../../core/local-stack-file';
import { processIsAlive } from '../../core/node/processes';
import type { LocalApiKey } from '../stand-ins/api-gateway/usage-plans';
import type { ApiKeyModel } from '../model/stack-model';

/** Marks a directory as ours, so --fresh never deletes anything else. */
const MARKER = '.k2p-local-data';

export const DATA_LAYOUT = {
  dynamodb: 'dynamodb',
  s3: 's3',
  scratch: 'scratch',
  /** A record per running task, until its stop is reported: what a crash leaves is stopped at the next start. */
  tasks: 'tasks',
  logs: 'logs',
  /** knime2py provisioned by local mode when none is installed (local/host/provision-converter.ts). */
  converter: 'knime2py',
  apiKeys: 'api-keys.json',
  /** The local OpenID provider's signing keys and seeded passwords (mode 0600). */
  oidc: 'oidc-provider.json',
  state: LOCAL_STACK_FILE,
} as const;

/** The state file of the stack running on `dataDir`, if there is a readable one. */
export function readStackState(dataDir: string): LocalStackFile | undefined {
  try {
    const parsed = LocalStackFileSchema.safeParse(JSON.parse(readFileSync(join(dataDir, DATA_LAYOUT.state), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Throws when another live process runs a stack on this data directory. */
export function assertNotInUse(dataDir: string): void {
  const state = readStackState(dataDir);
  if (state && state.pid !== process.pid && processIsAlive(state.pid)) {
    throw new Error(
      `Another k2p-web local stack (pid ${state.pid}, ${state.webUrl}) is already running on ${dataDir}. ` +
        'Stop it (Ctrl-C in its terminal), or start this one with another --data-dir and --port-base.',
    );
  }
}

export function prepareDataDir(dataDir: string, options: { fresh?: boolean } = {}): void {
  if (existsSync(dataDir)) {
    const entries = readdirSync(dataDir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(
        `${dataDir} exists and is not a k2p-web local data directory: choose another --data-dir (local mode never writes into, or cleans, other folders).`,
      );
    }
    assertNotInUse(dataDir);
    if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  }
  for (const dir of [DATA_LAYOUT.dynamodb, DATA_LAYOUT.s3, DATA_LAYOUT.logs]) mkdirSync(join(dataDir, dir), { recursive: true });
  // Scratch of tasks that were running when the last stack stopped: nothing in it is needed again.
  rmSync(join(dataDir, DATA_LAYOUT.scratch), { recursive: true, force: true });
  mkdirSync(join(dataDir, DATA_LAYOUT.scratch), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(dataDir, MARKER),
    'k2p-web local mode data (safe to delete when the stack is stopped; `npm start -- --fresh` does it)\n',
  );
}

/** The stack's log files (logs/ in the data dir): each opened on first use, appended to across restarts. */
export function openLogs(dataDir: string): { file(name: string): WriteStream; close(): Promise<unknown> } {
  const streams = new Map<string, WriteStream>();
  return {
    file(name) {
      let stream = streams.get(name);
      if (!stream) streams.set(name, (stream = createWriteStream(join(dataDir, DATA_LAYOUT.logs, name), { flags: 'a' })));
      return stream;
    },
    close: () => Promise.all([...streams.values()].map((s) => new Promise((r) => s.end(r)))),
  };
}

/** API Gateway-like key id (10 lowercase alphanumerics) and value (40 alphanumerics). */
function newKey(): { id: string; value: string } {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const pick = (n: number, size: number) => [...randomBytes(n)].map((b) => alphabet[b % size]).join('');
  return { id: pick(10, 36), value: pick(40, 62) };
}

/**
 * The template's API keys with local ids and values. Kept in the data dir, so
 * jobs (owned by the key id) stay visible to the same key after a restart.
 */
export function loadApiKeys(dataDir: string, keys: ApiKeyModel[]): LocalApiKey[] {
  const file = join(dataDir, DATA_LAYOUT.apiKeys);
  let stored: Record<string, { id: string; value: string }> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  } catch {
    // First start (or --fresh): new keys.
  }
  const result = keys.map((key) => {
    // A value the template sets (the People key, which the authorizer names) is that value here too.
    const local = key.value ? { id: stored[key.logicalId]?.id ?? newKey().id, value: key.value } : (stored[key.logicalId] ?? newKey());
    stored[key.logicalId] = local;
    return { logicalId: key.logicalId, id: local.id, value: local.value, enabled: key.enabled };
  });
  writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  return result;
}

/** Name of local mode's administrator key in the keys file. */
export const LOCAL_ADMIN = 'local-admin';

/**
 * A local-only key (not in the template) in the usage plan of `planKeyLogicalId`'s key, kept in the keys file
 * like the template's keys.
 */
export function loadLocalKey(dataDir: string, name: string, planKeyLogicalId: string): LocalApiKey {
  const file = join(dataDir, DATA_LAYOUT.apiKeys);
  let stored: Record<string, { id: string; value: string }> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  } catch {
    // No keys file yet: a new key.
  }
  const local = (stored[name] ??= newKey());
  writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  return { logicalId: planKeyLogicalId, id: local.id, value: local.value, enabled: true };
}

export function writeStackState(dataDir: string, state: LocalStackFile): void {
  writeFileSync(join(dataDir, DATA_LAYOUT.state), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the state file if it is this process's. */
export function removeStackState(dataDir: string): void {
  if (readStackState(dataDir)?.pid === process.pid) rmSync(join(dataDir, DATA_LAYOUT.state), { force: true });
}
