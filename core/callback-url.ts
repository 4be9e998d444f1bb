/**
 * Which callback URLs and addresses a webhook may reach (SSRF policy): https
 * only, no credentials in the URL, and every address the host resolves to
 * must be public unicast — no private, loopback, link-local (the cloud
 * metadata address among them), unique-local, CGNAT, multicast or reserved
 * address, nor an IPv4-mapped or translated form of one — unless the operator
 * allow-lists its CIDR. Checked when a URL is accepted and again for the
 * address actually connected to. Address classes come from ipaddr.js.
 *
 * Browser-safe: no node: imports (lib/config.ts validates allow-lists with it too).
 */
import ipaddr from 'ipaddr.js';

export interface CallbackPolicy {
  /** CIDRs reachable although not public (e.g. `10.1.0.0/16`, `127.0.0.1/32`). */
  readonly allowCidrs: readonly string[];
  /** Whether http (not only https) URLs are accepted. */
  readonly allowHttp: boolean;
}

export const STRICT_CALLBACK_POLICY: CallbackPolicy = Object.freeze({
  allowCidrs: Object.freeze([]) as readonly string[],
  allowHttp: false,
});

/** Ports a public receiver may listen on; allow-listed addresses may use any port. */
const PUBLIC_PORTS: Readonly<Record<string, readonly number[]>> = { 'https:': [443, 8443], 'http:': [80, 8080] };

export type Verdict = { ok: true } | { ok: false; reason: string };

export interface CallbackTarget {
  url: URL;
  protocol: 'https:' | 'http:';
  /** The host without IPv6 brackets: a name or an address literal. */
  host: string;
  port: number;
}

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Parses an allow-list entry; throws a message naming it when it is not a CIDR. */
export function parseCidr(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  try {
    return ipaddr.parseCIDR(cidr.trim());
  } catch {
    throw new Error(`"${cidr}" is not a CIDR like 10.0.0.0/8 or fd00::/8`);
  }
}

/** `10.0.0.0/8, ::1/128` → a policy; throws on a bad entry. */
export function callbackPolicyFrom(allowCidrs: string | undefined, allowHttp: string | undefined): CallbackPolicy {
  const cidrs = (allowCidrs ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  cidrs.forEach(parseCidr);
  return { allowCidrs: cidrs, allowHttp: allowHttp === 'true' };
}

/** The URL's own problems (scheme, credentials, port), before any name is resolved. */
export function checkCallbackUrl(raw: string, policy: CallbackPolicy): ({ ok: true } & CallbackTarget) | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('it is not an absolute URL');
  }
  if (url.protocol === 'http:' && !policy.allowHttp) return refuse('it uses http; only https URLs are accepted');
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return refuse(`it uses ${url.protocol.replace(/:$/, '')}; only https URLs are accepted`);
  if (url.username || url.password) return refuse('it contains a user name or password; put credentials nowhere in the URL');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return refuse('it has no host');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { ok: true, url, protocol: url.protocol, host, port };
}

/** The address as IPv4 when it is an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else as parsed; undefined if not an address. */
export function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  return ipaddr.isValid(address) ? ipaddr.process(address) : undefined;
}

/** ipaddr.js's range name (`unicast` = public) of an address, after unwrapping IPv4-mapped forms. */
export function addressRange(address: string): string {
  const parsed = parseAddress(address);
  return parsed ? parsed.range() : 'invalid';
}

const RANGE_WORDS: Readonly<Record<string, string>> = {
  private: 'private (RFC 1918)',
  loopback: 'loopback',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local (fc00::/7)',
  carrierGradeNat: 'shared CGNAT (100.64.0.0/10)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

function describeRange(address: string, range: string): string {
  if (parseAddress(address)?.toString() === '169.254.169.254') return 'the cloud metadata address';
  return `a ${RANGE_WORDS[range] ?? `non-public (${range})`} address`;
}

function allowListed(address: ipaddr.IPv4 | ipaddr.IPv6, policy: CallbackPolicy): boolean {
  return policy.allowCidrs.some((cidr) => {
    const [network, bits] = parseCidr(cidr);
    return network.kind() === address.kind() && (address as ipaddr.IPv4).match(network as ipaddr.IPv4, bits);
  });
}

/**
 * Whether a target may be reached at every one of `addresses` (all must pass:
 * a client may connect to any of them). Public unicast addresses need a
 * standard port of the scheme; allow-listed ones may use any.
 */
export function checkAddresses(
  addresses: readonly string[],
  target: Pick<CallbackTarget, 'host' | 'port' | 'protocol'>,
  policy: CallbackPolicy,
): Verdict {
  if (addresses.length === 0) return refuse(`${target.host} does not resolve to any address`);
  for (const address of addresses) {
    const parsed = parseAddress(address);
    if (!parsed) return refuse(`${target.host} resolved to "${address}", which is not an IP address`);
    if (allowListed(parsed, policy)) continue;
    const range = parsed.range();
    if (range !== 'unicast') {
      const via = target.host === address ? '' : `${target.host} resolves to ${address}, `;
      return refuse(`${via}${via ? '' : `${address} is `}${describeRange(address, range)}; only public addresses are reachable`);
    }
    const ports = PUBLIC_PORTS[target.protocol] ?? [];
    if (!ports.includes(target.port)) return refuse(`port ${target.port} is not allowed; use ${ports.join(' or ')}`);
  }
  return { ok: true };
}
