/**
 * The response headers of the local page: exactly what the template's
 * CloudFront response-headers policy sends (local/model/stack-model.ts reads
 * it), changed in three documented ways only because local mode is plain http
 * on 127.0.0.1 with stand-ins for the AWS endpoints:
 * 1. every CSP source that names an endpoint of the deployment (the API, a
 *    bucket's S3 endpoint, the sign-in issuer and its sign-out host) becomes
 *    the origin of its local stand-in; every other source stays as it is;
 * 2. `upgrade-insecure-requests` is dropped: it would send the page's http
 *    calls to the stand-ins over https, which nothing here answers;
 * 3. Strict-Transport-Security is not sent: HSTS hosts must not send it over
 *    plain http (RFC 6797 §7.2), and browsers ignore it there.
 */
import type { ResponseHeaders, StackModel } from '../model/stack-model';

/** Deployed origin → local origin; a source with no entry is kept. */
export type OriginMap = ReadonlyMap<string, string>;

export const LOCAL_ONLY_DROPPED_DIRECTIVES = ['upgrade-insecure-requests'] as const;
export const LOCAL_ONLY_DROPPED_HEADERS = ['Strict-Transport-Security'] as const;

const originOf = (url: unknown): string | undefined => {
  try {
    return typeof url === 'string' ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
};

/** A CSP with deployed origins swapped for local ones (deduplicated) and the directives that need TLS dropped. */
export function localContentSecurityPolicy(policy: string, origins: OriginMap): string {
  return policy
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive && !(LOCAL_ONLY_DROPPED_DIRECTIVES as readonly string[]).includes(directive.toLowerCase()))
    .map((directive) => {
      const [name, ...sources] = directive.split(/\s+/);
      // Hosts compare case-insensitively: URL's origin is the canonical form of both sides.
      const local = sources.map((source) => origins.get(originOf(source) ?? source) ?? source);
      return [name, ...new Set(local)].join(' ');
    })
    .join('; ');
}

/** The deployed headers as the local page sends them (the module comment lists every change). */
export function localResponseHeaders(deployed: ResponseHeaders, origins: OriginMap): ResponseHeaders {
  const headers: ResponseHeaders = {};
  for (const [name, value] of Object.entries(deployed)) {
    if ((LOCAL_ONLY_DROPPED_HEADERS as readonly string[]).some((h) => h.toLowerCase() === name.toLowerCase())) continue;
    headers[name] = name.toLowerCase() === 'content-security-policy' ? localContentSecurityPolicy(value, origins) : value;
  }
  return headers;
}

export interface LocalEndpoints {
  api: string;
  s3: string;
  /** The local OpenID provider's issuer. */
  issuer: string;
}

/**
 * Which deployed origin each stand-in replaces, from the template itself: the
 * API and sign-in origins of its config.json, and the virtual-hosted S3
 * endpoint (`https://<bucket>.s3.<region>.<suffix>`) of each of its buckets.
 */
export function localOriginMap(model: StackModel, local: LocalEndpoints): OriginMap {
  const map = new Map<string, string>();
  const config = model.site?.config ?? {};
  const signIn = (config.signIn ?? {}) as { issuer?: unknown; signOutUrl?: unknown };
  const api = originOf(config.apiUrl);
  if (api) map.set(api, originOf(local.api)!);
  for (const url of [signIn.issuer, signIn.signOutUrl]) {
    const origin = originOf(url);
    if (origin) map.set(origin, originOf(local.issuer)!);
  }
  const { region, urlSuffix } = model.names;
  for (const bucket of model.buckets) {
    for (const host of [`${bucket.name}.s3.${region}.${urlSuffix}`, `${bucket.name}.s3.${urlSuffix}`])
      map.set(originOf(`https://${host}`)!, originOf(local.s3)!);
  }
  return map;
}

/** CloudFront's path-pattern match: `*` any run of characters, `?` one, case-sensitive, from the path's start. */
export function matchesPathPattern(pattern: string, path: string): boolean {
  const regex = pattern
    .replace(/^\/?/, '/')
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`).test(path);
}

/** The local headers of each cache behavior, chosen per request path as CloudFront does. */
export function localSiteHeaders(model: StackModel, local: LocalEndpoints): (path: string) => ResponseHeaders {
  const distribution = model.distribution;
  if (!distribution) return () => ({});
  const origins = localOriginMap(model, local);
  const byDefault = localResponseHeaders(distribution.responseHeaders, origins);
  const behaviors = distribution.behaviors.map((b) => ({
    pathPattern: b.pathPattern,
    headers: localResponseHeaders(b.responseHeaders, origins),
  }));
  return (path) => behaviors.find((b) => matchesPathPattern(b.pathPattern, path))?.headers ?? byDefault;
}
