/**
 * The webhook SSRF policy: which URLs are accepted and which resolved
 * addresses a callback may reach (IPv4, IPv6, IPv4-mapped and translated
 * forms), with and without an operator allow-list.
 */
import { describe, expect, it } from 'vitest';
import {
  addressRange,
  callbackPolicyFrom,
  checkAddresses,
  checkCallbackUrl,
  STRICT_CALLBACK_POLICY,
  type CallbackPolicy,
} from '../../core/callback-url';

const https443 = { host: 'hooks.example.com', port: 443, protocol: 'https:' as const };

describe('address classification', () => {
  const refused: [string, RegExp][] = [
    ['10.0.0.1', /private/],
    ['10.255.255.255', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.254', /private/],
    ['192.168.1.1', /private/],
    ['127.0.0.1', /loopback/],
    ['127.8.9.10', /loopback/],
    ['169.254.169.254', /cloud metadata/],
    ['169.254.1.1', /link-local/],
    ['100.64.0.1', /CGNAT/],
    ['100.127.255.255', /CGNAT/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.10', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['febf::1', /link-local/],
    ['fc00::1', /unique-local/],
    ['fd00:ec2::254', /unique-local/],
    ['ff02::1', /multicast/],
    // IPv4-mapped forms are judged as the IPv4 address they carry.
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:169.254.169.254', /cloud metadata/],
    ['::ffff:10.1.2.3', /private/],
    ['::ffff:a9fe:a9fe', /cloud metadata/],
    // Translation and tunnel prefixes that embed IPv4 addresses are not public unicast either.
    ['64:ff9b::a9fe:a9fe', /non-public/],
    ['::ffff:0:a00:1', /non-public/],
    ['2002:a00:1::1', /non-public/],
    ['2001:0:4136:e378::1', /non-public|reserved/],
  ];
  it.each(refused)('refuses %s', (address, why) => {
    const verdict = checkAddresses([address], https443, STRICT_CALLBACK_POLICY);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(why);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '::ffff:8.8.8.8',
  ])('accepts the public address %s on port 443', (address) => {
    expect(checkAddresses([address], https443, STRICT_CALLBACK_POLICY)).toEqual({ ok: true });
    expect(addressRange(address)).toBe('unicast');
  });

  it('refuses a name when any one of its addresses is not public (a client may connect to any)', () => {
    const verdict = checkAddresses(['93.184.216.34', '10.0.0.5'], https443, STRICT_CALLBACK_POLICY);
    expect(verdict).toEqual({
      ok: false,
      reason: 'hooks.example.com resolves to 10.0.0.5, a private (RFC 1918) address; only public addresses are reachable',
    });
  });

  it('refuses a name without addresses', () => {
    expect(checkAddresses([], https443, STRICT_CALLBACK_POLICY)).toEqual({
      ok: false,
      reason: 'hooks.example.com does not resolve to any address',
    });
  });

  it('lets an allow-list open exactly its CIDRs, in both families, and any port there', () => {
    const policy: CallbackPolicy = callbackPolicyFrom('10.1.0.0/16, 127.0.0.1/32, fd00:1::/32', 'false');
    const onPort = (port: number) => ({ ...https443, port });
    expect(checkAddresses(['10.1.200.3'], onPort(9443), policy)).toEqual({ ok: true });
    expect(checkAddresses(['::ffff:10.1.0.9'], https443, policy)).toEqual({ ok: true });
    expect(checkAddresses(['127.0.0.1'], onPort(8787), policy)).toEqual({ ok: true });
    expect(checkAddresses(['fd00:1::5'], https443, policy)).toEqual({ ok: true });
    expect(checkAddresses(['10.2.0.1'], https443, policy).ok).toBe(false);
    expect(checkAddresses(['127.0.0.2'], https443, policy).ok).toBe(false);
    expect(checkAddresses(['169.254.169.254'], https443, policy).ok).toBe(false);
  });

  it('allows public receivers only on the standard ports of the scheme', () => {
    expect(checkAddresses(['93.184.216.34'], { ...https443, port: 8443 }, STRICT_CALLBACK_POLICY)).toEqual({ ok: true });
    expect(checkAddresses(['93.184.216.34'], { ...https443, port: 22 }, STRICT_CALLBACK_POLICY)).toEqual({
      ok: false,
      reason: 'port 22 is not allowed; use 443 or 8443',
    });
  });

  it('rejects an allow-list entry that is not a CIDR', () => {
    expect(() => callbackPolicyFrom('10.0.0.0/8,nonsense', undefined)).toThrow('"nonsense" is not a CIDR');
    expect(callbackPolicyFrom(undefined, undefined)).toEqual(STRICT_CALLBACK_POLICY);
  });
});

describe('URL checks', () => {
  const refusedUrls: [string, RegExp][] = [
    ['http://hooks.example.com/k2p', /uses http; only https/],
    ['ftp://hooks.example.com/k2p', /uses ftp/],
    ['file:///etc/passwd', /uses file/],
    ['https://user:secret@hooks.example.com/k2p', /user name or password/],
    ['https://token@hooks.example.com/k2p', /user name or password/],
    ['/relative', /not an absolute URL/],
  ];
  it.each(refusedUrls)('refuses %s', (url, why) => {
    const verdict = checkCallbackUrl(url, STRICT_CALLBACK_POLICY);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(why);
  });

  it('reads host and port, unwrapping IPv6 brackets and normalizing odd IPv4 spellings', () => {
    expect(checkCallbackUrl('https://hooks.example.com/k2p?x=1', STRICT_CALLBACK_POLICY)).toMatchObject({
      ok: true,
      host: 'hooks.example.com',
      port: 443,
    });
    expect(checkCallbackUrl('https://[::1]:8443/', STRICT_CALLBACK_POLICY)).toMatchObject({ ok: true, host: '::1', port: 8443 });
    // WHATWG URL parsing turns 0x7f.1 into 127.0.0.1, so the address check sees the real address.
    expect(checkCallbackUrl('https://0x7f.1/', STRICT_CALLBACK_POLICY)).toMatchObject({ ok: true, host: '127.0.0.1' });
    expect(checkCallbackUrl('http://127.0.0.1:8787/', { allowCidrs: [], allowHttp: true })).toMatchObject({ ok: true, port: 8787 });
  });
});
