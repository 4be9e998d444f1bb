/**
 * The local page sends the synthesized CloudFront response-headers policy's
 * headers, changed only by the documented local transformation
 * (local/host/site-headers.ts): read here from the raw template, independently
 * of the model, and compared with what local mode's page actually sends.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../local/host/local-stack';
import { loadStackModel } from '../../../local/model/stack-model';
import { localContentSecurityPolicy, localResponseHeaders, matchesPathPattern, type OriginMap } from '../../../local/host/site-headers';
import { DOUBLE_COMMAND, STACK_NAME, synthesizedCdkOut, SYNTH_TIMEOUT_MS, tempDir } from '../helpers';

describe('the local transformation of the deployed headers', () => {
  const origins: OriginMap = new Map([
    ['https://api.example', 'http://127.0.0.1:1'],
    ['https://idp.example', 'http://127.0.0.1:2'],
    ['https://hosted-ui.example', 'http://127.0.0.1:2'],
  ]);

  it('swaps deployed origins for local ones (once each), keeps every other source and drops upgrade-insecure-requests', () => {
    const csp =
      "default-src 'none'; connect-src 'self' https://api.example https://idp.example https://hosted-ui.example https://other.example; frame-ancestors 'none'; upgrade-insecure-requests";
    expect(localContentSecurityPolicy(csp, origins)).toBe(
      "default-src 'none'; connect-src 'self' http://127.0.0.1:1 http://127.0.0.1:2 https://other.example; frame-ancestors 'none'",
    );
  });

  it('drops HSTS (never sent over http) and keeps every other header verbatim', () => {
    const deployed = {
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains; preload',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "connect-src 'self' https://api.example",
      'Permissions-Policy': 'camera=()',
    };
    expect(localResponseHeaders(deployed, origins)).toEqual({
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "connect-src 'self' http://127.0.0.1:1",
      'Permissions-Policy': 'camera=()',
    });
  });

  it("matches CloudFront's path patterns", () => {
    expect(matchesPathPattern('/config.json', '/config.json')).toBe(true);
    expect(matchesPathPattern('/config.json', '/config.jsonx')).toBe(false);
    expect(matchesPathPattern('images/*.png', '/images/a/b.png')).toBe(true);
    expect(matchesPathPattern('/a?c', '/abc')).toBe(true);
    expect(matchesPathPattern('/a?c', '/abbc')).toBe(false);
  });
});

/** The model of a template holding one distribution whose default behavior uses `policy`. */
function modelWithPolicy(policy: Record<string, unknown>, policyId: unknown = { Ref: 'Policy' }) {
  const dir = tempDir('k2p-policy-model-');
  try {
    const template = {
      Resources: {
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: {} },
        Policy: { Type: 'AWS::CloudFront::ResponseHeadersPolicy', Properties: { ResponseHeadersPolicyConfig: policy } },
        Site: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: { DistributionConfig: { DefaultCacheBehavior: { ResponseHeadersPolicyId: policyId } } },
        },
      },
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'T.template.json'), JSON.stringify(template));
    return loadStackModel({ cdkOut: dir, stackName: 'T', webHost: '127.0.0.1:1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the model reads a response-headers policy as CloudFront sends it', () => {
  it('renders each security header and the custom ones', () => {
    const model = modelWithPolicy({
      SecurityHeadersConfig: {
        StrictTransportSecurity: { AccessControlMaxAgeSec: 300, IncludeSubdomains: false, Preload: false, Override: true },
        XSSProtection: { Protection: true, ModeBlock: true, Override: true },
        FrameOptions: { FrameOption: 'SAMEORIGIN', Override: true },
        ContentTypeOptions: { Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'same-origin', Override: true },
        ContentSecurityPolicy: {
          ContentSecurityPolicy: { 'Fn::Join': ['', ["connect-src 'self' https://", { Ref: 'AWS::Region' }]] },
          Override: true,
        },
      },
      CustomHeadersConfig: { Items: [{ Header: 'X-Custom', Value: 'yes', Override: true }] },
    });
    expect(model.distribution?.responseHeaders).toEqual({
      'Strict-Transport-Security': 'max-age=300',
      'X-XSS-Protection': '1; mode=block',
      'X-Frame-Options': 'SAMEORIGIN',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Content-Security-Policy': "connect-src 'self' https://us-east-1",
      'X-Custom': 'yes',
    });
  });

  it('refuses what local mode cannot reproduce instead of ignoring it', () => {
    expect(() => modelWithPolicy({ CorsConfig: { AccessControlAllowCredentials: false } })).toThrow(/CorsConfig/);
    // A managed policy is named by id only: its headers are not in the template.
    expect(() => modelWithPolicy({}, '67f7725c-6f97-4210-82d7-5512b31e9d03')).toThrow(/response-headers policies of the template/);
  });
});

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("local mode's page sends the synthesized policy's headers", () => {
  let stack: LocalStack;
  let policy: Loose;
  const dataRoot = tempDir('k2p-site-headers-');
  beforeAll(async () => {
    const cdkOut = await synthesizedCdkOut();
    const template = JSON.parse(readFileSync(join(cdkOut, `${STACK_NAME}.template.json`), 'utf8')) as { Resources: Loose };
    const policies = Object.values(template.Resources).filter((r: Loose) => r.Type === 'AWS::CloudFront::ResponseHeadersPolicy');
    expect(policies).toHaveLength(1);
    policy = (policies[0] as Loose).Properties.ResponseHeadersPolicyConfig;
    stack = await startLocalStack({
      dataDir: join(dataRoot, 'data'),
      portBase: 0,
      synth: 'never',
      converterEnv: { ...process.env, K2P_COMMAND: DOUBLE_COMMAND },
      schedules: false,
    });
  }, SYNTH_TIMEOUT_MS);
  afterAll(async () => {
    await stack?.close();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  const origin = (url: string) => new URL(url).origin;

  for (const path of ['/', '/config.json', '/no-such-file.js']) {
    it(`${path}: every header of the policy, with only the documented local changes`, async () => {
      const response = await fetch(new URL(path, stack.urls.web));
      await response.arrayBuffer();
      const h = response.headers;
      const security = policy.SecurityHeadersConfig;
      expect(h.get('x-frame-options')).toBe(security.FrameOptions.FrameOption);
      expect(h.get('referrer-policy')).toBe(security.ReferrerPolicy.ReferrerPolicy);
      expect(h.get('x-content-type-options')).toBe('nosniff');
      for (const custom of policy.CustomHeadersConfig.Items) expect(h.get(custom.Header)).toBe(custom.Value);
      // The deployment sends HSTS; plain http on loopback must not.
      expect(security.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThan(0);
      expect(h.get('strict-transport-security')).toBeNull();

      const csp = h.get('content-security-policy') ?? '';
      const directives = (text: string) => text.split(';').map((d) => d.trim().split(/\s+/));
      const deployedText = (security.ContentSecurityPolicy.ContentSecurityPolicy['Fn::Join'][1] as unknown[])
        .filter((part) => typeof part === 'string')
        .join('…');
      const deployed = directives(deployedText);
      const local = directives(csp);
      // The same directives, in the same order, less the one that needs TLS.
      expect(local.map((d) => d[0])).toEqual(deployed.map((d) => d[0]).filter((name) => name !== 'upgrade-insecure-requests'));
      expect(csp).toContain("frame-ancestors 'none'");
      // Directives without deployment origins are identical.
      for (const [name, ...sources] of deployed) {
        if (name === 'connect-src' || name === 'upgrade-insecure-requests') continue;
        expect(local.find((d) => d[0] === name)?.slice(1)).toEqual(sources);
      }
      // connect-src: 'self' and the local API, S3 endpoint and OpenID provider, nothing of AWS.
      const connect = local.find((d) => d[0] === 'connect-src')!.slice(1);
      expect(connect).toEqual(["'self'", origin(stack.urls.api), origin(stack.urls.s3), origin(stack.identity.issuer)]);
      expect(csp).not.toMatch(/amazonaws|amazoncognito/);
    });
  }
});
