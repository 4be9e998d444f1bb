/**
 * The page's runtime configuration: config.json next to index.html, in the shape of core/site-config.ts, written by
 * the deployment (lib/website.ts) or served by local mode. Invariants checked here, each with a ConfigError naming
 * the field: `apiKey` is present exactly when `anonymousAccess` is on, and a page with anonymous access off has
 * `signIn` (otherwise nobody could use it).
 */
import { DEFAULT_BUNDLE_LIMITS, resolveBundleLimits, type BundleLimits } from '../../core/limits';
import type { SiteSignInConfig } from '../../core/site-config';

export interface PageConfig {
  /** Base URL of the jobs API, stage included. */
  apiUrl: string;
  /** On: the page works signed out, through the shared public key and its tight usage plan. */
  anonymousAccess: boolean;
  /** The public web key (its usage plan blocks GET /jobs); only when anonymousAccess is on. */
  apiKey?: string;
  /** How people sign in; absent for an anonymous-only deployment. */
  signIn?: SiteSignInConfig;
  bundleLimits: BundleLimits;
  /** Days a result stays downloadable, when the deployment says. */
  resultRetentionDays?: number;
  /** Converter time limit, seconds, when the deployment says. */
  converterTimeoutSeconds?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const HTTP_URL = /^https?:\/\//;

function parseSignIn(value: unknown): SiteSignInConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('config.json: signIn must be an object.');
  const raw = value as Record<string, unknown>;
  if (typeof raw.issuer !== 'string' || !HTTP_URL.test(raw.issuer))
    throw new ConfigError('config.json: signIn.issuer must be the identity provider’s issuer URL (http or https).');
  if (typeof raw.clientId !== 'string' || raw.clientId.trim() === '')
    throw new ConfigError('config.json: signIn.clientId must name the app client.');
  if (!Array.isArray(raw.scopes) || raw.scopes.length === 0 || !raw.scopes.every((s) => typeof s === 'string' && /^\S+$/.test(s)))
    throw new ConfigError('config.json: signIn.scopes must be a list of scope names.');
  if (!raw.scopes.includes('openid')) throw new ConfigError('config.json: signIn.scopes must include "openid".');
  if (raw.signOutUrl !== undefined && (typeof raw.signOutUrl !== 'string' || !HTTP_URL.test(raw.signOutUrl)))
    throw new ConfigError('config.json: signIn.signOutUrl must be an http or https URL.');
  return {
    issuer: raw.issuer,
    clientId: raw.clientId,
    scopes: [...(raw.scopes as string[])],
    ...(typeof raw.signOutUrl === 'string' ? { signOutUrl: raw.signOutUrl } : {}),
  };
}

/** Checks config.json's content; throws a ConfigError naming what is wrong. */
export function parsePageConfig(value: unknown): PageConfig {
  if (typeof value !== 'object' || value === null) throw new ConfigError('config.json is not a JSON object.');
  const raw = value as Record<string, unknown>;
  const apiUrl = raw.apiUrl;
  if (typeof apiUrl !== 'string' || !HTTP_URL.test(apiUrl)) throw new ConfigError('config.json has no valid apiUrl (http or https URL).');
  if (typeof raw.anonymousAccess !== 'boolean') throw new ConfigError('config.json: anonymousAccess must be true or false.');
  const anonymousAccess = raw.anonymousAccess;
  const apiKey = raw.apiKey;
  if (anonymousAccess && (typeof apiKey !== 'string' || apiKey === ''))
    throw new ConfigError('config.json has anonymousAccess on but no apiKey.');
  if (!anonymousAccess && apiKey !== undefined)
    throw new ConfigError('config.json has an apiKey although anonymousAccess is off: the site must publish no key.');
  const signIn = raw.signIn === undefined ? undefined : parseSignIn(raw.signIn);
  if (!anonymousAccess && !signIn) throw new ConfigError('config.json has anonymousAccess off and no signIn: nobody could use the page.');
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
  const config: PageConfig = { apiUrl, anonymousAccess, bundleLimits };
  if (anonymousAccess) config.apiKey = apiKey as string;
  if (signIn) config.signIn = signIn;
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
