/**
 * `k2p-web login`, `logout` and `profiles`: API keys kept per profile in the
 * user's config file (cli/profiles.ts). The key is read without echo, checked
 * against the service (GET /me, which also says whose key it is) before it is
 * stored, and never printed: only its fingerprint (maskKey).
 */
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, NetworkError } from '../../core/api-client';
import type { MeResponse } from '../../core/api-schemas';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
import { checkUrl, maskKey } from '../local-stack';
import {
  chooseProfile,
  configPath,
  DEFAULT_PROFILE,
  loadConfig,
  ownsConfigFolder,
  saveConfig,
  unknownProfileMessage,
  type LoadedConfig,
} from '../profiles';
import { EXIT_INTERRUPTED, InterruptedError } from '../remote';
import { readSecret, type SecretSource } from '../secret-input';
import { describePrincipal } from './whoami';

export interface LoginDeps {
  /** Where the key is read from. @default process.stdin */
  stdin?: SecretSource;
  fetch?: typeof fetch;
  /** Longest wait for the service's answer when checking the key. @default 15 s */
  verifyTimeoutMs?: number;
}

const LOGIN_HELP = `Usage: k2p-web login [--api URL] [--profile NAME] [--no-verify]
       k2p-web login --list

Stores an API key for the commands that talk to a k2p-web service. The key
is read without showing it when you type or paste it, or from standard input
when it is piped (echo "$KEY" | k2p-web login --api URL --profile ci); it is
checked with the service (GET /jobs) and only then saved, with the API URL,
under the profile's name in your config file, readable by you only (mode
0600): $K2P_WEB_CONFIG, else $XDG_CONFIG_HOME/k2p-web/config.json, else
~/.config/k2p-web/config.json. The key is never printed; only its
fingerprint (first 4 and last 2 characters).

Which service and key a command uses: --api/--key, else K2P_API_URL/
K2P_API_KEY, else the profile (--profile, else $K2P_WEB_PROFILE, else
"${DEFAULT_PROFILE}"), else the running local stack.

Options:
  --api <url>       the API's base URL (default: the profile's, when logging in again, else $K2P_API_URL)
  --profile <name>  the profile to store it under (default: $K2P_WEB_PROFILE, else "${DEFAULT_PROFILE}")
  --no-verify       store the key without checking it (e.g. the service is not reachable from here)
  --list            list the profiles (as \`k2p-web profiles\`)
  -h, --help        show this help

Exit status: 0 stored, 1 the service refused the key or could not be reached
(nothing stored), 2 usage error, 130 interrupted.`;

const LOGOUT_HELP = `Usage: k2p-web logout [--profile NAME]

Removes a profile (its API URL and key) from your config file. The key
itself keeps working until the service's operator revokes it.

Options:
  --profile <name>  the profile to remove (default: $K2P_WEB_PROFILE, else "${DEFAULT_PROFILE}")
  -h, --help        show this help

Exit status: 0 removed, 2 no such profile or another usage error.`;

const PROFILES_HELP = `Usage: k2p-web profiles [--json]

Lists the profiles saved by \`k2p-web login\`: name, API URL, key fingerprint,
and which one the commands use when given no --profile.

Options:
  --json        print one JSON object {ok, file, profiles: [{name, api, key, default, selected}]}
  -h, --help    show this help

Exit status: 0 listed, 2 usage error.`;

export function createLoginCommand(deps: LoginDeps = {}): Command {
  return {
    name: 'login',
    summary: 'store an API key (read without echo, checked with the service) under a profile',
    help: LOGIN_HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        options: {
          api: { type: 'string' },
          profile: { type: 'string' },
          'no-verify': { type: 'boolean', default: false },
          list: { type: 'boolean', default: false },
        },
        allowPositionals: true,
        strict: true,
      });
      // A key on the command line would be in the shell history and the process list.
      if (positionals.length > 0) throw new UsageError('login takes no arguments: type or pipe the key when asked');
      if (values.list) return listProfiles(io, false);
      const choice = chooseProfile(values.profile, io.env);
      const loaded = await loadConfig(configPath(io.env, io.cwd));
      const existing = Object.hasOwn(loaded.config.profiles, choice.name) ? loaded.config.profiles[choice.name] : undefined;
      const given = values.api?.trim() || existing?.api || io.env.K2P_API_URL?.trim();
      if (!given) throw new UsageError('give the API URL: k2p-web login --api <url> (the one your operator gave you, stage included)');
      const api = checkUrl(given);
      let key: string;
      try {
        key = await readSecret(deps.stdin ?? process.stdin, io.stderr, `API key for ${api} (typing is not shown): `);
      } catch (error) {
        if (error instanceof InterruptedError) return EXIT_INTERRUPTED;
        throw error;
      }
      if (key === '') throw new UsageError('no key given: type or paste it when asked, or pipe it in (echo "$KEY" | k2p-web login …)');
      if (/\s/.test(key)) throw new UsageError('the key contains white space: paste only the key');
      const verified = values['no-verify'] ? undefined : await verifyKey(api, key, io, deps);
      if (verified === false) return EXIT.failed;
      warnLoose(loaded, io);
      loaded.config.profiles[choice.name] = { api, key };
      const file = await saveConfig(loaded.path, loaded.config, { privateFolder: ownsConfigFolder(io.env) });
      const checked = values['no-verify'] ? ' (not checked: --no-verify)' : '';
      io.stdout.write(`✔ Saved profile "${choice.name}": ${api}, key ${maskKey(key)}${checked}, in ${file}\n`);
      if (verified && verified !== true) io.stdout.write(`  the key belongs to ${describePrincipal(verified)}, id ${verified.id}\n`);
      if (choice.name !== DEFAULT_PROFILE) io.stdout.write(`  use it with --profile ${choice.name} or K2P_WEB_PROFILE=${choice.name}\n`);
      return EXIT.ok;
    },
  };
}

/**
 * One authenticated call with the new key: GET /me (whose key it is), or GET /jobs?limit=1 for a service that
 * predates GET /me (true: valid, owner unknown). Explains a refusal (false); nothing is stored then.
 */
async function verifyKey(api: string, key: string, io: CliIO, deps: LoginDeps): Promise<MeResponse | boolean> {
  const client = new ApiClient({
    baseUrl: api,
    apiKey: key,
    retry: { attempts: 1 },
    requestTimeoutMs: deps.verifyTimeoutMs ?? 15_000,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  try {
    try {
      return await client.me();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      await client.listJobs({ limit: 1 });
      return true;
    }
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      io.stderr.write(
        `✖ ${api} refused the key ${maskKey(key)} (${error.code}, HTTP ${error.status}): nothing was stored.\n` +
          `  what to do: check that you pasted the whole key and that it is for this API; ${error.hint}\n`,
      );
    } else if (error instanceof NetworkError) {
      io.stderr.write(
        `✖ cannot reach ${api} to check the key (${error.message}): nothing was stored.\n` +
          '  what to do: check the URL and your connection, or pass --no-verify to store the key without checking it.\n',
      );
    } else {
      io.stderr.write(
        `✖ ${api} could not check the key (${(error as Error).message}): nothing was stored.\n` +
          '  what to do: check the URL (stage included), or pass --no-verify to store the key without checking it.\n',
      );
    }
    return false;
  }
}

function warnLoose(loaded: LoadedConfig, io: CliIO): void {
  if (loaded.looseMode === undefined) return;
  io.stderr.write(
    `! ${loaded.path} could be read by other users (mode ${loaded.looseMode.toString(8).padStart(3, '0')}); ` +
      'it is rewritten readable by you only — consider the keys that were in it exposed.\n',
  );
}

export function createLogoutCommand(): Command {
  return {
    name: 'logout',
    summary: "remove a profile's API URL and key from your config file",
    help: LOGOUT_HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, options: { profile: { type: 'string' } }, allowPositionals: true, strict: true });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (name the profile with --profile)`);
      const choice = chooseProfile(values.profile, io.env);
      const loaded = await loadConfig(configPath(io.env, io.cwd));
      const profile = Object.hasOwn(loaded.config.profiles, choice.name) ? loaded.config.profiles[choice.name] : undefined;
      if (!profile) throw new UsageError(unknownProfileMessage(loaded, choice.name, choice.from));
      warnLoose(loaded, io);
      delete loaded.config.profiles[choice.name];
      const file = await saveConfig(loaded.path, loaded.config, { privateFolder: ownsConfigFolder(io.env) });
      io.stdout.write(
        `✔ Removed profile "${choice.name}" (${profile.api}, key ${maskKey(profile.key)}) from ${file}.\n` +
          '  The key itself still works until the operator revokes it.\n',
      );
      return EXIT.ok;
    },
  };
}

export function createProfilesCommand(): Command {
  return {
    name: 'profiles',
    summary: 'list the profiles saved by `k2p-web login`',
    help: PROFILES_HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        options: { json: { type: 'boolean', default: false } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      return listProfiles(io, values.json ?? false);
    },
  };
}

async function listProfiles(io: CliIO, json: boolean): Promise<number> {
  const loaded = await loadConfig(configPath(io.env, io.cwd));
  const selected = chooseProfile(undefined, io.env).name;
  const rows = Object.entries(loaded.config.profiles)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, profile]) => ({
      name,
      api: profile.api,
      key: maskKey(profile.key),
      default: name === DEFAULT_PROFILE,
      selected: name === selected,
    }));
  if (loaded.looseMode !== undefined)
    io.stderr.write(
      `! ${loaded.path} can be read by other users: run \`chmod 600 ${loaded.path}\`; commands refuse to use it until then.\n`,
    );
  if (json) {
    io.stdout.write(`${JSON.stringify({ ok: true, file: loaded.path, profiles: rows })}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    io.stdout.write(`No profiles yet in ${loaded.path}: add one with \`k2p-web login --api <url> [--profile <name>]\`.\n`);
    return EXIT.ok;
  }
  const fromEnv = io.env.K2P_WEB_PROFILE?.trim();
  const note = (row: (typeof rows)[number]) => (row.selected ? (fromEnv ? '← K2P_WEB_PROFILE' : '← default') : '');
  const table = [['', 'PROFILE', 'API', 'KEY', ''], ...rows.map((row) => [row.selected ? '*' : '', row.name, row.api, row.key, note(row)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((cells) => cells[i]!.length)));
  const lines = table.map((cells) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join(' ')
      .trimEnd(),
  );
  io.stdout.write(`${lines.join('\n')}\n(in ${loaded.path}; * = used when no --profile is given)\n`);
  return EXIT.ok;
}

export const loginCommand = createLoginCommand();
export const logoutCommand = createLogoutCommand();
export const profilesCommand = createProfilesCommand();
