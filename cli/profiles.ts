/**
 * The user's `k2p-web login` profiles: {api, key} per name in one JSON file
 * only its owner can read (file 0600, created directory 0700), replaced
 * atomically (temporary file + rename) so a crash never leaves half a file.
 * The file is `$K2P_WEB_CONFIG`, else `$XDG_CONFIG_HOME/k2p-web/config.json`,
 * else `~/.config/k2p-web/config.json`. A key never leaves this module in a
 * message: only its fingerprint (maskKey).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod/mini';
import { UsageError } from './command';

/** The profile used when neither --profile nor K2P_WEB_PROFILE names one. */
export const DEFAULT_PROFILE = 'default';

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64. */
export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ProfileSchema = z.object({ api: z.string(), key: z.string() });
const ConfigSchema = z.object({ version: z.literal(1), profiles: z.record(z.string(), ProfileSchema) });

export type Profile = z.infer<typeof ProfileSchema>;
export type ProfileConfig = z.infer<typeof ConfigSchema>;

export interface LoadedConfig {
  path: string;
  config: ProfileConfig;
  /** Set when the file's mode lets others read or write it (the caller decides: refuse or rewrite). */
  looseMode?: number;
}

/**
 * Where the profiles live for this environment (not resolved through symlinks);
 * undefined when the environment names no home at all (no profiles then).
 */
export function findConfigPath(env: Record<string, string | undefined>, cwd: string): string | undefined {
  const explicit = env.K2P_WEB_CONFIG?.trim();
  if (explicit) return resolve(cwd, explicit);
  const xdg = env.XDG_CONFIG_HOME?.trim();
  // XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'k2p-web', 'config.json');
  const home = env.HOME?.trim() || env.USERPROFILE?.trim();
  return home ? join(home, '.config', 'k2p-web', 'config.json') : undefined;
}

/** Is the config file's folder k2p-web's own (XDG or HOME), so it may be made private? */
export function ownsConfigFolder(env: Record<string, string | undefined>): boolean {
  return !env.K2P_WEB_CONFIG?.trim();
}

/** findConfigPath for the commands that manage profiles: no home is a usage error. */
export function configPath(env: Record<string, string | undefined>, cwd: string): string {
  const path = findConfigPath(env, cwd);
  if (path === undefined) throw new UsageError('no config file: HOME is not set; set K2P_WEB_CONFIG to the file to use');
  return path;
}

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME_PATTERN.test(name))
    throw new UsageError(`"${name}" is not a profile name (letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit)`);
  return name;
}

/** Reads the profiles; a missing file is an empty set. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mode)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path, config: { version: 1, profiles: {} } };
    throw new Error(`cannot read the profiles in ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: ReturnType<typeof ConfigSchema.safeParse>;
  try {
    parsed = ConfigSchema.safeParse(JSON.parse(text));
  } catch {
    throw new UsageError(`${path} is not valid JSON; fix it or remove it and run \`k2p-web login\` again.`);
  }
  if (!parsed.success)
    throw new UsageError(
      `${path} does not hold k2p-web profiles (${parsed.error.issues[0]?.message}); fix it or remove it and run \`k2p-web login\` again.`,
    );
  // Windows has no POSIX modes: its ACLs decide, and stat reports 0o666 regardless.
  const loose = process.platform !== 'win32' && (mode & 0o077) !== 0 ? mode & 0o777 : undefined;
  return { path, config: parsed.data, ...(loose !== undefined ? { looseMode: loose } : {}) };
}

/** Refuses a file others can read or change: the keys in it may already be known to them, or swapped. */
export function refuseLooseConfig(loaded: LoadedConfig): void {
  const path = loaded.path;
  if (loaded.looseMode !== undefined)
    throw new UsageError(
      `${path} can be read or changed by other users (mode ${loaded.looseMode.toString(8).padStart(3, '0')}); ` +
        `run \`chmod 600 ${path}\` (and consider the keys in it exposed), or \`k2p-web login\` again, which rewrites it 0600.`,
    );
}

/**
 * Writes the profiles: a 0600 temporary file beside the target, flushed, then
 * renamed over it. Folders it creates are 0700; `privateFolder` also narrows
 * an existing one (the dedicated k2p-web folder, never a K2P_WEB_CONFIG's).
 */
export async function saveConfig(path: string, config: ProfileConfig, options: { privateFolder?: boolean } = {}): Promise<string> {
  // Through a symlink (dotfiles managers): replace the file it points to, keep the link.
  const target = await realpath(path).catch(() => path);
  const folder = dirname(target);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  if (options.privateFolder && process.platform !== 'win32') await chmod(folder, 0o700);
  const temporary = join(folder, `.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
    await file.sync();
    await file.close();
    // The mode given to open is subject to the umask, which can only take bits away; chmod makes it exact.
    await chmod(temporary, 0o600);
    await rename(temporary, target);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}

export interface ProfileChoice {
  name: string;
  /** false: no --profile and no K2P_WEB_PROFILE, so the default profile is used only when it exists. */
  explicit: boolean;
  /** Which setting named it, for messages. */
  from: '--profile' | 'K2P_WEB_PROFILE' | 'default';
}

/** --profile, then K2P_WEB_PROFILE, then the profile called "default". */
export function chooseProfile(flag: string | undefined, env: Record<string, string | undefined>): ProfileChoice {
  const fromFlag = flag?.trim();
  if (fromFlag) return { name: checkProfileName(fromFlag), explicit: true, from: '--profile' };
  const fromEnv = env.K2P_WEB_PROFILE?.trim();
  if (fromEnv) return { name: checkProfileName(fromEnv), explicit: true, from: 'K2P_WEB_PROFILE' };
  return { name: DEFAULT_PROFILE, explicit: false, from: 'default' };
}

/** The named profile; a name that is not there is a usage error listing the ones that are. */
export function requireProfile(loaded: LoadedConfig, choice: ProfileChoice): Profile {
  const profile = Object.hasOwn(loaded.config.profiles, choice.name) ? loaded.config.profiles[choice.name] : undefined;
  if (profile) return profile;
  throw new UsageError(unknownProfileMessage(loaded, choice.name, choice.from));
}

export function unknownProfileMessage(loaded: LoadedConfig, name: string, from: ProfileChoice['from'] = '--profile'): string {
  const known = Object.keys(loaded.config.profiles).sort();
  const named = from === 'K2P_WEB_PROFILE' ? ` (named by K2P_WEB_PROFILE)` : '';
  const list = known.length > 0 ? `known profiles: ${known.join(', ')}` : `no profiles yet in ${loaded.path}`;
  return `no profile "${name}"${named}: ${list}. Create it with \`k2p-web login --api <url> --profile ${name}\`.`;
}
