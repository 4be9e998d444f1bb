/**
 * The page's runtime configuration: config.json next to index.html, written
 * by the deployment (lib/website.ts SiteConfig) or served by local mode.
 */
import { DEFAULT_BUNDLE_LIMITS, resolveBundleLimits, type BundleLimits } from '../../core/limits';

export interface PageConfig {
  /** Base URL of the jobs API, stage included. */
  apiUrl: string;
  /** The public web key (its usage plan blocks GET /jobs). */
  apiKey: string;
  bundleLimits: BundleLimits;
  /** Days a result stays downloadable, when the deployment says. */
  resultRetentionDays?: number;
  /** Converter time limit, seconds, when the deployment says. */
  converterTimeoutSeconds?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Checks config.json's content; throws a ConfigError naming what is wrong. */
export function parsePageConfig(value: unknown): PageConfig {
  if (typeof value !== 'object' || value === null) throw new ConfigError('config.json is not a JSON object.');
  const raw = value as Record<string, unknown>;
  const apiUrl = raw.apiUrl;
  if (typeof apiUrl !== 'string' || !/^https?:\/\//.test(apiUrl))
    throw new ConfigError('config.json has no valid apiUrl (http or https URL).');
  const apiKey = raw.apiKey;
  if (typeof apiKey !== 'string' || apiKey === '') throw new ConfigError('config.json has no apiKey.');
  let bundleLimits = DEFAULT_BUNDLE_LIMITS;
  if (raw.bundleLimits !== undefined) {
    if (typeof raw.bundleLimits !== 'object' || raw.bundleLimits === null)
      throw new ConfigError('config.json: bundleLimits must be an object.');
    try {
      bundleLimits = resolveBundleLimits(raw.bundleLimits as Record<string, unknown>);
    } catch (error) {
      throw new ConfigError(`config.json: ${(error as Error).message}.`);
    }
  }
  const limits = typeof raw.limits === 'object' && raw.limits !== null ? (raw.limits as Record<string, unknown>) : {};
  const positive = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const config: PageConfig = { apiUrl, apiKey, bundleLimits };
  const retention = positive(limits.resultRetentionDays);
  if (retention !== undefined) config.resultRetentionDays = retention;
  const timeout = positive(limits.converterTimeoutSeconds);
  if (timeout !== undefined) config.converterTimeoutSeconds = timeout;
  return config;
}

/** Loads config.json from the page's own origin (never cached: it changes on every deploy). */
export async function loadPageConfig(fetchImpl: typeof fetch = fetch): Promise<PageConfig> {
  let response: Response;
  try {
    response = await fetchImpl('config.json', { cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    throw new ConfigError(`config.json could not be loaded (${(error as Error).message}).`);
  }
  if (!response.ok) throw new ConfigError(`config.json could not be loaded (HTTP ${response.status}).`);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new ConfigError('config.json is not valid JSON.');
  }
  return parsePageConfig(json);
}
