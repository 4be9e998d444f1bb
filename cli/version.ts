/**
 * `k2p-web --version` (`-V`): the CLI's version, and the service's and its
 * converter's from GET /health when a service is configured (--api,
 * K2P_API_URL, a `k2p-web login` profile, or the running local stack) and answers. It never fails for
 * want of a service: it says why the service could not be asked.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../core/api-client';
import { EXIT, type CliIO } from './command';
import { findLocalStack, findSavedProfile, packageRoot, type TargetDeps } from './local-stack';

/** How long to wait for /health: a version check must not hang on a dead address. */
const HEALTH_TIMEOUT_MS = 5000;

export interface VersionDeps extends TargetDeps {
  fetch?: typeof fetch;
}

export async function printVersion(args: string[], io: CliIO, deps: VersionDeps = {}): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { api: { type: 'string' }, profile: { type: 'string' } },
    allowPositionals: true,
    strict: false,
  });
  const cli = await cliVersion();
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  io.stdout.write(`k2p-web ${cli}\n${(await serviceLines(text(values.api), text(values.profile), io, deps)).join('\n')}\n`);
  return EXIT.ok;
}

export async function cliVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

async function serviceLines(api: string | undefined, profile: string | undefined, io: CliIO, deps: VersionDeps): Promise<string[]> {
  let url = api?.trim() || io.env.K2P_API_URL?.trim();
  let source = api ? 'flag' : 'env';
  if (!url) {
    try {
      const saved = await findSavedProfile({ profile, env: io.env, cwd: io.cwd });
      if (saved) [url, source] = [saved.profile.api, `profile "${saved.name}"`];
    } catch (error) {
      return [`service: not reachable (${(error as Error).message})`];
    }
  }
  if (!url) {
    try {
      const local = await findLocalStack(io.cwd, deps, io.env.K2P_LOCAL_DATA_DIR?.trim() || undefined);
      if (!local) return ['service: not reachable (no API configured: no --api, no K2P_API_URL, no local stack running)'];
      url = local.state.apiUrl;
      source = 'local stack';
    } catch (error) {
      return [`service: not reachable (${(error as Error).message})`];
    }
  }
  try {
    const client = new ApiClient({
      baseUrl: url,
      retry: { attempts: 1 },
      requestTimeoutMs: HEALTH_TIMEOUT_MS,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    const health = await client.health();
    const image = health.converter.image ? ` (image ${health.converter.image})` : '';
    return [
      `service: k2p-web ${health.version} at ${client.baseUrl} (${source})`,
      `converter: knime2py ${health.converter.version ?? 'unknown'}${image}`,
    ];
  } catch (error) {
    return [`service: not reachable (${url}: ${(error as Error).message})`];
  }
}
