/**
 * Process-tree helpers for the local "containers": a stopped task must take
 * every process it started with it (the runner puts the converter in its own
 * process group, so killing the runner's group alone would leave it running).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** pid → parent pid of every process we can see. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  if (existsSync('/proc/self/stat')) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(name), Number(fields[1]));
      } catch {
        // The process ended while we looked.
      }
    }
    return parents;
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid && ppid !== undefined) parents.set(pid, ppid);
    }
  } catch {
    // No ps: only the process group can be signalled.
  }
  return parents;
}

/** Every descendant of `pid` (children, grandchildren…), not `pid` itself. */
export function descendants(pid: number): number[] {
  const parents = parentMap();
  const children = new Map<number, number[]>();
  for (const [child, parent] of parents) {
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The direct children of `pid`. */
export function children(pid: number): number[] {
  return [...parentMap()].filter(([, parent]) => parent === pid).map(([child]) => child);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone.
  }
}

/** Sends `sig` to the process group led by `pid` and to every descendant (and its group). */
export function signalTree(pid: number, sig: NodeJS.Signals): void {
  const tree = descendants(pid);
  signal(-pid, sig);
  for (const child of tree) {
    signal(-child, sig);
    signal(child, sig);
  }
}

/**
 * Processes whose environment holds `name=value` (Linux /proc only; elsewhere none).
 * Finds what a process tree left behind after its root died: orphans are
 * re-parented away, but they keep the environment they inherited.
 */
export function processesWithEnv(name: string, value: string): number[] {
  if (!existsSync('/proc/self/environ')) return [];
  const needle = Buffer.from(`${name}=${value}\0`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`);
      if (environ.indexOf(needle) === 0 || environ.includes(Buffer.concat([Buffer.from([0]), needle]))) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** Whether `pid` still runs (a zombie, dead but not yet reaped, runs nothing and counts as gone). */
export function isAlive(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once none of `pids()` is alive (it is asked again each time), or rejects after `timeoutMs`. */
export async function waitUntilGone(pids: () => number[], timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids().filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`Processes still running after ${timeoutMs} ms: ${alive.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
