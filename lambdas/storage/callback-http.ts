/**
 * The webhook's outbound side: resolving a callback host and POSTing to it.
 * The address is checked where the connection is made (a custom `lookup` on
 * the request), so a name that resolves to a public address when the URL is
 * accepted and to a private or metadata one later (DNS rebinding) is refused
 * before any connection. No redirect is followed, no connection reused.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { checkAddresses, checkCallbackUrl, type CallbackPolicy, type CallbackTarget, type Verdict } from '../../core/callback-url';
import type { AttemptResult } from '../decisions/webhooks';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** A host name → its addresses; the system resolver unless a test injects one. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

async function addressesOf(target: CallbackTarget, resolver: Resolver): Promise<{ addresses: ResolvedAddress[] } | { reason: string }> {
  if (isIP(target.host)) return { addresses: [{ address: target.host, family: isIP(target.host) }] };
  try {
    return { addresses: await resolver(target.host) };
  } catch (error) {
    return { reason: `${target.host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
}

/** Whether a callback URL is acceptable now: its form, then every address its host resolves to. */
export async function checkCallback(url: string, policy: CallbackPolicy, resolver: Resolver = systemResolver): Promise<Verdict> {
  const target = checkCallbackUrl(url, policy);
  if (!target.ok) return target;
  const resolved = await addressesOf(target, resolver);
  if ('reason' in resolved) return { ok: false, reason: resolved.reason };
  return checkAddresses(
    resolved.addresses.map((a) => a.address),
    target,
    policy,
  );
}

class RefusedAddress extends Error {
  override name = 'RefusedAddress';
}

/** net's lookup hook: resolve, refuse unless every address passes, then hand the allowed ones to the socket. */
function checkedLookup(target: CallbackTarget, policy: CallbackPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        const verdict = checkAddresses(
          addresses.map((a) => a.address),
          target,
          policy,
        );
        if (!verdict.ok) return callback(new RefusedAddress(`refused before connecting: ${verdict.reason}`), '', 0);
        const family = typeof options.family === 'number' && options.family !== 0 ? options.family : undefined;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (options.all) return callback(null, usable);
        const first = usable[0];
        if (!first) return callback(new RefusedAddress(`${hostname} has no IPv${family} address`), '', 0);
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * POSTs `body` to the callback URL and reports the status (any, 3xx included:
 * redirects are never followed) or why no response came. Never throws.
 */
export async function postCallback(
  request: CallbackRequest,
  policy: CallbackPolicy,
  options: { resolver?: Resolver; timeoutMs: number },
): Promise<AttemptResult> {
  const target = checkCallbackUrl(request.url, policy);
  if (!target.ok) return { error: `refused: ${target.reason}` };
  const resolver = options.resolver ?? systemResolver;
  if (isIP(target.host)) {
    const verdict = checkAddresses([target.host], target, policy);
    if (!verdict.ok) return { error: `refused before connecting: ${verdict.reason}` };
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<AttemptResult>((resolve) => {
    const req = client.request(
      target.url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
        agent: false,
        lookup: checkedLookup(target, policy, resolver),
      },
      (res) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) });
        // The receiver's body is of no interest: drop it and the connection.
        res.destroy();
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: error instanceof RefusedAddress ? error.message : `${error.code ? `${error.code}: ` : ''}${error.message}` });
    });
    req.end(request.body);
  });
}
