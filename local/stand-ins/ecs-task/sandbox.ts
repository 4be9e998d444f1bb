/**
 * A Fargate-like sandbox for the runner, built with bubblewrap from the task
 * definition: read-only root (only what the runner and the converter need,
 * bound read-only), the task's volume as the only writable place (a tmpfs
 * capped at the task's ephemeral storage), the container's numeric user,
 * every capability dropped and no new privileges, exactly the container's
 * environment, its own PID/IPC/UTS namespaces (nothing outlives the task),
 * its own network namespace where only local S3 answers (network.ts), memory
 * and CPU from the task in a cgroup when this machine lets local mode create
 * one, and the converter in its own empty network namespace nested inside. What this machine cannot enforce is listed, never claimed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { pythonOf, which, type Probe } from './converter';
import { RELAY_DIR } from './network';

/** Fargate's ephemeral storage when the task definition sets none (GiB). */
export const FARGATE_DEFAULT_EPHEMERAL_GIB = 20;
/** PATH of the runner image's base (Docker's default): the host's PATH is not the container's. */
export const IMAGE_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The system part of the root filesystem every sandbox gets, read-only (missing ones are skipped). */
const SYSTEM_BINDS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];
/** The few /etc files a Node and Python process read; the host's other configuration stays out. */
const ETC_BINDS = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/resolv.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/passwd',
  '/etc/group',
];

export type CgroupKind = 'cgroup-v2' | 'cgroup-v1';

/** What this machine lets local mode enforce, found once at start-up. */
export interface SandboxSupport {
  /** bubblewrap works with a nested network namespace for the converter. */
  available: boolean;
  /** Absolute path of bwrap (bound into the sandbox for the nested converter sandbox). */
  bwrap?: string;
  /** How memory/CPU are limited: a cgroup below local mode's own, else RLIMIT_AS on the converter only. */
  limits: CgroupKind | 'rlimit' | 'none';
  /** Why the sandbox (or the cgroup) is not available. */
  reason?: string;
}

/** The task definition's numbers the sandbox enforces. */
export interface TaskResources {
  memoryMiB?: number;
  cpuUnits?: number;
  ephemeralStorageGiB?: number;
  user?: string;
}

/** One line per property, for the banner, stack.json and /health. */
export function sandboxProperties(support: SandboxSupport, resources?: TaskResources): { enforced: string[]; notEnforced: string[] } {
  if (!support.available) {
    return {
      enforced: [],
      notEnforced: [
        `runner sandbox (${support.reason ?? 'bubblewrap unavailable'}): the runner runs as a plain local process with your user, your filesystem and your network`,
      ],
    };
  }
  const memory = resources?.memoryMiB ? `${resources.memoryMiB} MiB` : 'the task memory';
  const cpu = resources?.cpuUnits ? `${resources.cpuUnits / 1024} vCPU` : 'the task CPU';
  const storage = `${resources?.ephemeralStorageGiB ?? FARGATE_DEFAULT_EPHEMERAL_GIB} GiB`;
  const enforced = [
    'read-only root filesystem (only the runner, node and the converter bound read-only)',
    `/scratch the only writable path (tmpfs capped at the task's ephemeral storage, ${storage})`,
    `user ${resources?.user ?? '10001'}, no capabilities, no new privileges`,
    "exactly the task's environment (no host variables, no AWS credentials)",
    'own PID namespace: nothing outlives the task; SIGTERM, then SIGKILL after the stop timeout',
    'runner network: own namespace where only the local S3 endpoint answers (relayed, as the VPC allows S3 only)',
    'converter: own empty network namespace (reaches nothing)',
  ];
  const notEnforced: string[] = [];
  if (support.limits === 'cgroup-v2' || support.limits === 'cgroup-v1') {
    enforced.push(`memory ${memory} and CPU ${cpu} for the whole task (${support.limits}, no swap)`);
  } else if (support.limits === 'rlimit') {
    enforced.push(`memory: RLIMIT_AS ${memory} on the converter only (an approximation: no cgroup here)`);
    notEnforced.push(`CPU ${cpu} and the runner's memory (no cgroup here${support.reason ? `: ${support.reason}` : ''})`);
  }
  notEnforced.push("/scratch is memory-backed: what it holds counts toward the task's memory, unlike Fargate's disk");
  return { enforced, notEnforced };
}

/** The cgroup local mode itself runs in, per hierarchy (from /proc/self/cgroup). */
function ownCgroups(): { v2?: string; memory?: string; cpu?: string } {
  const found: { v2?: string; memory?: string; cpu?: string } = {};
  let text: string;
  try {
    text = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return found;
  }
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') {
      const root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
      found.v2 = join(root, path);
    }
    for (const controller of (controllers ?? '').split(',')) {
      if (controller === 'memory') found.memory = join('/sys/fs/cgroup/memory', path);
      if (controller === 'cpu') found.cpu = join('/sys/fs/cgroup/cpu', path);
    }
  }
  return found;
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A cgroup per task, below local mode's own (it never moves anything out of its own cgroup). */
export class TaskCgroup {
  private constructor(
    readonly kind: CgroupKind,
    readonly dirs: string[],
  ) {}

  /** Creates the task's cgroup with its limits; undefined when this machine does not let local mode. */
  static create(name: string, resources: TaskResources): TaskCgroup | undefined {
    const own = ownCgroups();
    const memory = resources.memoryMiB ? resources.memoryMiB * 1024 * 1024 : undefined;
    const quota = resources.cpuUnits ? Math.round((resources.cpuUnits / 1024) * 100_000) : undefined;
    const made: string[] = [];
    const write = (file: string, value: string, required: boolean) => {
      try {
        writeFileSync(file, value);
      } catch (error) {
        if (required) throw error;
      }
    };
    try {
      if (own.v2) {
        const dir = join(own.v2, name);
        mkdirSync(dir);
        made.push(dir);
        if (existsSync(join(dir, 'memory.max'))) {
          if (memory) write(join(dir, 'memory.max'), String(memory), true);
          write(join(dir, 'memory.swap.max'), '0', false);
          if (quota && existsSync(join(dir, 'cpu.max'))) write(join(dir, 'cpu.max'), `${quota} 100000`, true);
          return new TaskCgroup('cgroup-v2', made);
        }
        rmdirSync(made.pop()!);
      }
      if (own.memory) {
        const dir = join(own.memory, name);
        mkdirSync(dir);
        made.push(dir);
        if (memory) {
          write(join(dir, 'memory.limit_in_bytes'), String(memory), true);
          write(join(dir, 'memory.memsw.limit_in_bytes'), String(memory), false);
        }
        if (own.cpu && quota) {
          const cpuDir = join(own.cpu, name);
          mkdirSync(cpuDir);
          made.push(cpuDir);
          write(join(cpuDir, 'cpu.cfs_period_us'), '100000', true);
          write(join(cpuDir, 'cpu.cfs_quota_us'), String(quota), true);
        }
        return new TaskCgroup('cgroup-v1', made);
      }
    } catch {
      for (const dir of made.reverse()) TaskCgroup.remove(dir);
    }
    return undefined;
  }

  private static remove(dir: string): void {
    try {
      rmdirSync(dir);
    } catch {
      // Still busy or already gone; the next attempt (or the OS) removes it.
    }
  }

  /** The files a process writes its pid to, to join the task's cgroup (every hierarchy). */
  procsFiles(): string[] {
    return this.dirs.map((dir) => join(dir, 'cgroup.procs'));
  }

  /** Kills whatever is still in the cgroup and removes it. */
  async destroy(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      let busy = false;
      for (const file of this.procsFiles()) {
        for (const pid of readPids(file)) {
          busy = true;
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
      }
      if (!busy) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const dir of [...this.dirs].reverse()) TaskCgroup.remove(dir);
  }
}

/** Paths the converter command needs: its executable, absolute paths in its argv and env assignments, its Python's prefixes and sys.path. */
export function converterPaths(argv: string[], env: Record<string, string | undefined>, python = pythonPaths): string[] {
  const paths: string[] = [];
  const executable = argv[0] ? which(argv[0], env) : undefined;
  if (executable) paths.push(executable, realpathSync(executable));
  for (const token of argv.slice(1)) {
    const value = /^[A-Za-z_][A-Za-z0-9_]*=(.*)$/s.exec(token)?.[1] ?? token;
    for (const part of value.split(':')) if (isAbsolute(part) && existsSync(part)) paths.push(part);
  }
  // `env NAME=… python3 …` or a script with a python shebang: that interpreter's installation.
  const interpreters = [executable, ...argv.slice(1).map((t) => (t.includes('=') ? undefined : which(t, env)))]
    .filter((file): file is string => Boolean(file))
    .map((file) => pythonOf(file, env))
    .filter((file): file is string => Boolean(file));
  for (const interpreter of new Set(interpreters)) paths.push(interpreter, realpathSync(interpreter), ...python(interpreter));
  // A Node script needs its package's modules, as a Python one needs sys.path.
  for (const script of paths.filter((p) => /\.[cm]?js$/.test(p))) paths.push(...nodePackage(script));
  return paths;
}

/** The nearest package.json and node_modules above a script. */
function nodePackage(script: string): string[] {
  const found: string[] = [];
  for (let dir = dirname(script); ; dir = dirname(dir)) {
    for (const name of ['package.json', 'node_modules']) {
      if (!found.some((f) => f.endsWith(`/${name}`)) && existsSync(join(dir, name))) found.push(join(dir, name));
    }
    if (found.length === 2 || dir === dirname(dir)) return found;
  }
}

/** sys.prefix, sys.base_prefix and sys.path of an interpreter (empty when it cannot be asked). */
function pythonPaths(interpreter: string): string[] {
  try {
    const out = execFileSync(
      interpreter,
      ['-c', 'import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))'],
      { encoding: 'utf8', timeout: 15_000, env: { PATH: IMAGE_DEFAULT_PATH } },
    );
    return (JSON.parse(out) as string[]).filter((p) => isAbsolute(p) && existsSync(p));
  } catch {
    return [];
  }
}

/** Read-only binds at the same path: parents before children, nothing twice, nothing below the system binds. */
export function bindList(paths: string[]): string[] {
  const covered = (path: string, roots: string[]) => roots.some((root) => path === root || path.startsWith(`${root}/`));
  const system = SYSTEM_BINDS.filter((p) => existsSync(p)).map((p) => realpathSync(p));
  const chosen: string[] = [];
  for (const path of [...new Set(paths.filter((p) => isAbsolute(p) && p !== '/' && existsSync(p)))].sort((a, b) => a.length - b.length)) {
    if (!covered(path, [...system, ...SYSTEM_BINDS, ...chosen])) chosen.push(path);
  }
  return chosen;
}

export interface SandboxLaunchInput {
  support: SandboxSupport;
  /** The container's argv, with host paths for the image's files. */
  argv: string[];
  /** The container's environment, exactly (image ENV, template, overrides, local contract variables). */
  env: Record<string, string>;
  /** The image's files: container path → host path. */
  copies: Map<string, string>;
  /** The task's writable volume (its mount point). */
  scratchPath: string;
  resources: TaskResources;
  /** Host paths the runner and converter need, bound read-only at the same path. */
  binds: string[];
  cgroup?: TaskCgroup;
  /** Host folder of the network relay sockets (network.ts): the task gets its own network namespace. */
  relayDir?: string;
}

/** The outer sandbox's bwrap arguments (without the command). */
function outerArgs(input: SandboxLaunchInput): string[] {
  const uid = input.resources.user?.split(':')[0] ?? '10001';
  const gid = input.resources.user?.split(':')[1] ?? uid;
  const scratchBytes = (input.resources.ephemeralStorageGiB ?? FARGATE_DEFAULT_EPHEMERAL_GIB) * 1024 ** 3;
  const args = [
    '--unshare-user',
    '--uid',
    uid,
    '--gid',
    gid,
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(input.relayDir ? ['--unshare-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];
  for (const [name, value] of Object.entries(input.env)) args.push('--setenv', name, value);
  for (const path of SYSTEM_BINDS) args.push('--ro-bind-try', path, path);
  for (const path of ETC_BINDS) args.push('--ro-bind-try', path, path);
  for (const path of bindList(input.binds)) args.push('--ro-bind', path, path);
  for (const [containerPath, hostPath] of input.copies) args.push('--ro-bind', hostPath, containerPath);
  // /tmp exists read-only as in the image (the nested converter sandbox mounts its root there).
  args.push('--proc', '/proc', '--dev', '/dev', '--dir', '/tmp');
  if (input.relayDir) args.push('--ro-bind', input.relayDir, RELAY_DIR);
  args.push('--perms', '0700', '--size', String(scratchBytes), '--tmpfs', input.scratchPath);
  args.push('--remount-ro', '/', '--chdir', input.scratchPath);
  return args;
}

/**
 * The converter's own sandbox, started by the runner inside the task's: a
 * fresh user and network namespace (nothing to connect to, not even the host's
 * loopback), same user, no capabilities; RLIMIT_AS when no cgroup limits the task.
 */
export function converterPrefix(support: SandboxSupport, resources: TaskResources): string[] {
  const uid = resources.user?.split(':')[0] ?? '10001';
  const gid = resources.user?.split(':')[1] ?? uid;
  // bwrap reports a converter killed by signal N as exit 128+N; the shell dies of N again, so the runner sees the signal as on Fargate.
  const resignal = '"$@"; s=$?; if [ "$s" -gt 128 ]; then kill -$((s - 128)) $$; fi; exit "$s"';
  const prefix = ['/bin/sh', '-c', resignal, 'sh', support.bwrap ?? 'bwrap', '--unshare-user', '--uid', uid, '--gid', gid];
  prefix.push('--unshare-net', '--dev-bind', '/', '/', '--cap-drop', 'ALL', '--die-with-parent', '--');
  if (support.limits === 'rlimit' && resources.memoryMiB)
    prefix.push('/usr/bin/prlimit', `--as=${resources.memoryMiB * 1024 * 1024}`, '--');
  return prefix;
}

/**
 * argv that starts the sandboxed container: as root, joins the task's cgroup
 * first and drops to the container's uid on the host too (so host files owned
 * by root are not the sandbox user's), then bwrap.
 */
export function sandboxArgv(input: SandboxLaunchInput): string[] {
  const bwrap = [input.support.bwrap ?? 'bwrap', ...outerArgs(input), '--', ...input.argv];
  const files = input.cgroup?.procsFiles() ?? [];
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && files.length === 0) return bwrap;
  const uid = input.resources.user?.split(':')[0] ?? '10001';
  const gid = input.resources.user?.split(':')[1] ?? uid;
  const drop = asRoot ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'] : [];
  // sh: write our pid to each cgroup, then become bwrap (same pid, so everything it starts is inside).
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';
  return ['/bin/sh', '-c', script, 'sh', String(files.length), ...files, ...drop, ...bwrap];
}

/** What the runner and converter need bound: node (and its install) and the converter's paths. */
export function taskBinds(converterArgv: string[], env: Record<string, string | undefined>): string[] {
  const node = realpathSync(process.execPath);
  return [node, dirname(dirname(node)), ...converterPaths(converterArgv, env)];
}

/**
 * Finds what this machine supports: bwrap with the runner's user, a nested
 * network namespace inside it, and (given the converter) node, the image's
 * files (the runner bundle) and the converter's files readable there; then
 * whether a task cgroup can be made. bwrap runs as uid 10001, so a checkout or
 * data dir under a private (0700) folder makes the sandbox unavailable here.
 */
export async function detectSandbox(
  probe: Probe,
  wanted: 'auto' | 'none',
  converterArgv?: string[],
  imageFiles: string[] = [],
): Promise<SandboxSupport> {
  if (wanted === 'none') return { available: false, limits: 'none', reason: 'disabled with --sandbox none' };
  const bwrap = which('bwrap', probe.env);
  if (!bwrap) return { available: false, limits: 'none', reason: 'bubblewrap (bwrap) is not installed' };
  const support: SandboxSupport = { available: true, bwrap, limits: 'rlimit' };
  const resources: TaskResources = { user: '10001', ephemeralStorageGiB: 1 };
  const trial = (argv: string[], binds: string[]) =>
    probe.run(
      sandboxArgv({ support, argv, env: { PATH: IMAGE_DEFAULT_PATH }, copies: new Map(), scratchPath: '/scratch', resources, binds }),
      10_000,
    );
  if ((await trial([...converterPrefix(support, resources), '/bin/sh', '-c', 'exit 0'], [])).code !== 0) {
    return { available: false, limits: 'none', reason: 'bubblewrap cannot create user and network namespaces here' };
  }
  if (converterArgv) {
    const binds = [...taskBinds(converterArgv, probe.env), ...imageFiles];
    const check = 'for p; do [ -r "$p" ] || exit 1; done';
    if ((await trial([...converterPrefix(support, resources), '/bin/sh', '-c', check, 'sh', ...binds], binds)).code !== 0) {
      return {
        available: false,
        limits: 'none',
        reason: `node, the runner image's files or the converter are not readable by uid ${resources.user} (a private folder on the way?)`,
      };
    }
  }
  const cgroup = TaskCgroup.create(`k2p-probe-${process.pid}`, { memoryMiB: 64, cpuUnits: 512 });
  if (!cgroup) return { ...support, reason: 'no cgroup that local mode may create' };
  await cgroup.destroy();
  return { ...support, limits: cgroup.kind };
}
