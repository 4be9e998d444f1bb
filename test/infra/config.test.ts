import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, DEFAULT_CONFIG, configFromContext, resolveConfig } from '../../lib/config';
import { REPO_ROOT } from '../../lib/defaults';

const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };

describe('configuration (cdk.json context)', () => {
  it('documents every key in cdk.json, and the documented values are the defaults', () => {
    for (const key of CONTEXT_KEYS) expect(Object.keys(cdkJson.context)).toContain(key);
    expect(configFromContext((k) => cdkJson.context[k])).toEqual(DEFAULT_CONFIG);
    expect(cdkJson.app).toBe('npx tsx bin/k2p-web.ts');
  });

  it('defaults to 2 AZs, 0.5 vCPU / 1 GiB, ARM64, no WAF, no alarm e-mail, data retained', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toMatchObject({
      azCount: 2,
      taskCpu: 512,
      taskMemoryMiB: 1024,
      converterArchitecture: 'ARM64',
      wafRateLimit: 0,
      alarmEmail: '',
      removalPolicy: 'retain',
    });
    expect(DEFAULT_CONFIG.serviceLimits).toMatchObject({ resultRetentionDays: 7, bundleRetentionDays: 1, jobRecordDays: 30 });
  });

  it('accepts values typed on the command line (-c key=value arrives as a string)', () => {
    const config = configFromContext(
      (k) =>
        ({
          azCount: '1',
          taskCpu: '1024',
          taskMemoryMiB: '2048',
          serviceLimits: '{"resultRetentionDays": 3}',
          devOrigins: 'http://localhost:5173,http://127.0.0.1:5173',
          converterArchitecture: 'x86_64',
          webPlan: '{"rateLimit": 2, "burstLimit": 4}',
        })[k],
    );
    expect(config).toMatchObject({ azCount: 1, taskCpu: 1024, taskMemoryMiB: 2048, converterArchitecture: 'X86_64' });
    expect(config.serviceLimits.resultRetentionDays).toBe(3);
    expect(config.devOrigins).toEqual(['http://localhost:5173', 'http://127.0.0.1:5173']);
    expect(config.webPlan).toEqual({ rateLimit: 2, burstLimit: 4, quotaPerDay: 2000 });
    expect(config.peoplePlan).toEqual({ rateLimit: 20, burstLimit: 40, quotaPerDay: 20000 });
    expect(configFromContext((k) => (k === 'peoplePlan' ? '{"rateLimit": 3, "burstLimit": 6}' : undefined)).peoplePlan).toEqual({
      rateLimit: 3,
      burstLimit: 6,
      quotaPerDay: 20000,
    });
  });

  it('rejects bad values with a message naming the key and what is allowed', () => {
    expect(() => resolveConfig({ azCount: 3 })).toThrow(/"azCount" must be an integer from 1 to 2/);
    expect(() => resolveConfig({ taskCpu: 512, taskMemoryMiB: 512 })).toThrow(/taskMemoryMiB.*1024, 2048, 3072, 4096/);
    expect(() => resolveConfig({ taskCpu: 300 })).toThrow(/taskCpu/);
    expect(() => resolveConfig({ logRetentionDays: 8 })).toThrow(/logRetentionDays/);
    expect(() => resolveConfig({ converterImage: 'not an image' })).toThrow(/converterImage/);
    expect(() => resolveConfig({ alarmEmail: 'nope' })).toThrow(/alarmEmail/);
    expect(() => resolveConfig({ wafRateLimit: 5 })).toThrow(/wafRateLimit/);
    expect(() => resolveConfig({ devOrigins: ['https://*.example.com'] })).toThrow(/devOrigins/);
    expect(() => resolveConfig({ serviceLimits: { uploadUrlSeconds: 3600 } })).toThrow(/uploadUrlSeconds/);
    expect(() => resolveConfig({ serviceLimits: { resultRetentionDay: 3 } })).toThrow(/unknown field.*resultRetentionDay/);
    expect(() => resolveConfig({ apiThrottle: { rateLimit: 10, burstLimit: 5 } })).toThrow(/burstLimit/);
    expect(() => resolveConfig({ azcount: 1 })).toThrow(/unknown field/);
  });

  it('takes the webhook allow-list as CIDRs (list or comma-separated) and http as a boolean; public https only by default', () => {
    expect(resolveConfig({})).toMatchObject({ webhookAllowCidrs: [], webhookAllowHttp: false });
    const config = configFromContext((k) => ({ webhookAllowCidrs: '10.20.0.0/16, fd00:1::/32', webhookAllowHttp: 'true' })[k]);
    expect(config).toMatchObject({ webhookAllowCidrs: ['10.20.0.0/16', 'fd00:1::/32'], webhookAllowHttp: true });
    expect(resolveConfig({ webhookAllowCidrs: ['127.0.0.1/32'] }).webhookAllowCidrs).toEqual(['127.0.0.1/32']);
    expect(() => resolveConfig({ webhookAllowCidrs: ['10.0.0.0/33'] })).toThrow(/webhookAllowCidrs.*"10.0.0.0\/33" is not a CIDR/);
    expect(() => resolveConfig({ webhookAllowCidrs: 'intranet' })).toThrow(/webhookAllowCidrs/);
    expect(() => resolveConfig({ webhookAllowHttp: 'yes' })).toThrow(/"webhookAllowHttp" must be true or false/);
  });

  it('accepts a digest-pinned converter image', () => {
    const image = `ghcr.io/vitalii-kaplan/knime2py@sha256:${'0'.repeat(64)}`;
    expect(resolveConfig({ converterImage: image }).converterImage).toBe(image);
  });

  it("takes an OpenID Connect issuer, client id, groups claim and admin group, defaulting to the stack's user pool", () => {
    expect(DEFAULT_CONFIG.identityProvider).toEqual({
      issuer: '',
      clientId: '',
      groupsClaim: 'cognito:groups',
      adminGroup: 'admins',
      extraOrigins: [],
    });
    const issuer = 'https://login.example.com/realms/staff';
    expect(resolveConfig({ identityProvider: { issuer, clientId: 'k2p-web', groupsClaim: 'groups' } }).identityProvider).toEqual({
      issuer,
      clientId: 'k2p-web',
      groupsClaim: 'groups',
      adminGroup: 'admins',
      extraOrigins: [],
    });
    expect(
      resolveConfig({ identityProvider: { issuer, clientId: 'c', extraOrigins: 'https://tokens.example.com' } }).identityProvider
        .extraOrigins,
    ).toEqual(['https://tokens.example.com']);
    expect(
      configFromContext((k) => (k === 'identityProvider' ? `{"issuer":"${issuer}","clientId":"c1"}` : undefined)).identityProvider.clientId,
    ).toBe('c1');
    const refused: [unknown, RegExp][] = [
      [{ issuer: 'http://login.example.com', clientId: 'c' }, /identityProvider\.issuer.*https/],
      [{ issuer: 'https://user:pw@login.example.com', clientId: 'c' }, /identityProvider\.issuer/],
      [{ issuer: `${issuer}?x=1`, clientId: 'c' }, /identityProvider\.issuer/],
      [{ issuer: 'not a url', clientId: 'c' }, /identityProvider\.issuer/],
      [{ issuer }, /identityProvider\.clientId/],
      [{ issuer, clientId: 'has space' }, /identityProvider\.clientId/],
      [{ clientId: 'orphan' }, /needs an issuer/],
      [{ groupsClaim: '' }, /groupsClaim/],
      [{ adminGroup: 'a b' }, /adminGroup/],
      [{ audience: 'x' }, /unknown field\(s\) audience/],
      [{ extraOrigins: ['https://tokens.example.com/path'] }, /identityProvider\.extraOrigins/],
    ];
    for (const [identityProvider, message] of refused) expect(() => resolveConfig({ identityProvider })).toThrow(message);
  });

  it('takes the user pool settings: self sign-up off, a derived domain prefix and no SAML federation by default', () => {
    expect(DEFAULT_CONFIG.userPool).toEqual({ selfSignUp: false, domainPrefix: '', samlProviderName: '', samlMetadataUrl: '' });
    expect(
      configFromContext((k) => (k === 'userPool' ? '{"selfSignUp":"true","domainPrefix":"acme-k2p"}' : undefined)).userPool,
    ).toMatchObject({ selfSignUp: true, domainPrefix: 'acme-k2p' });
    const refused: [unknown, RegExp][] = [
      [{ selfSignUp: 'yes' }, /userPool\.selfSignUp/],
      [{ domainPrefix: 'Acme' }, /userPool\.domainPrefix/],
      [{ domainPrefix: 'my-cognito-login' }, /userPool\.domainPrefix/],
      [{ domainPrefix: '-acme' }, /userPool\.domainPrefix/],
      [{ samlProviderName: 'AcmeAD' }, /go together/],
      [{ samlProviderName: 'AcmeAD', samlMetadataUrl: 'http://idp.example/metadata' }, /samlMetadataUrl.*https/],
      [{ samlProviderName: 'a b', samlMetadataUrl: 'https://idp.example/metadata' }, /samlProviderName/],
      [{ mfa: 'required' }, /unknown field\(s\) mfa/],
    ];
    for (const [userPool, message] of refused) expect(() => resolveConfig({ userPool })).toThrow(message);
  });

  it('keeps anonymous access off unless switched on (true/false, also as typed on the command line)', () => {
    expect(DEFAULT_CONFIG.anonymousAccess).toBe(false);
    expect(resolveConfig({ anonymousAccess: 'true' }).anonymousAccess).toBe(true);
    expect(configFromContext((k) => (k === 'anonymousAccess' ? 'false' : undefined)).anonymousAccess).toBe(false);
    expect(() => resolveConfig({ anonymousAccess: 'on' })).toThrow(/anonymousAccess.*true or false/);
  });
});
