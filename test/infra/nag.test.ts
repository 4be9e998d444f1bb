/**
 * The full app as `cdk synth` builds it — real handlers bundled by esbuild, the
 * runner image asset staged from runner/ — checked by cdk-nag's AwsSolutions
 * pack: any finding its construct does not acknowledge (lib/nag.ts) fails this
 * test. This is the one infra test with CloudFormation validation on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RUNNER_NODE_IMAGE } from '../../core/runtime-contract';
import { resolveConfig } from '../../lib/config';
import { K2pWebStack } from '../../lib/k2p-web-stack';
import { nagAcknowledgements } from '../../lib/nag';
import { buildRunner } from '../../runner/build';

delete process.env.CDK_VALIDATION;

const TIMEOUT = 240_000;

describe('cdk-nag AwsSolutions on the whole app', () => {
  let outdir: string;
  let app: App;
  let stack: K2pWebStack;

  beforeAll(async () => {
    await buildRunner();
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2p-nag-'));
    app = new App({ outdir });
    stack = new K2pWebStack(app, 'K2pWeb', { config: resolveConfig() });
  }, TIMEOUT);

  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  it('has zero unacknowledged findings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
    expect(findings).toEqual([]);
  });

  it(
    'has zero findings with the optional WAF, alarm e-mail, anonymous access and SAML federation on, too',
    () => {
      const other = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'k2p-nag-waf-')) });
      new K2pWebStack(other, 'K2pWeb', {
        config: resolveConfig({
          wafRateLimit: 1000,
          alarmEmail: 'ops@example.com',
          azCount: 1,
          anonymousAccess: true,
          userPool: { samlProviderName: 'AcmeAD', samlMetadataUrl: 'https://idp.acme.example/metadata.xml' },
        }),
      });
      const report = new AwsSolutionsChecks(other).validateScope(other);
      expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`))).toEqual([]);
    },
    TIMEOUT,
  );

  it('gives every acknowledgement a specific reason, once per construct', () => {
    const acks = nagAcknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const a of acks) {
      expect({ id: a.id, reason: a.reason.length >= 60 }).toEqual({ id: a.id, reason: true });
      expect(a.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      const key = `${a.scope.node.path} ${a.id}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  });

  it(
    'synthesizes with the nag plugin and CloudFormation validation registered',
    () => {
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      const assembly = app.synth();
      const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'K2pWeb.template.json'), 'utf8'));
      expect(Object.keys(template.Resources).length).toBeGreaterThan(100);
      // The runner image is staged from runner/ (no Docker needed to synthesize).
      const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'K2pWeb.assets.json'), 'utf8'));
      const images = Object.values(assets.dockerImages ?? {}) as {
        source: { directory: string; platform?: string; dockerBuildArgs?: Record<string, string> };
      }[];
      expect(images).toHaveLength(1);
      expect(images[0]!.source.dockerBuildArgs?.NODE_IMAGE).toBe(RUNNER_NODE_IMAGE);
      expect(fs.existsSync(path.join(assembly.directory, images[0]!.source.directory, 'Dockerfile'))).toBe(true);
      expect(fs.existsSync(path.join(assembly.directory, images[0]!.source.directory, 'dist', 'runner.mjs'))).toBe(true);
      expect(images[0]!.source.platform).toBe('linux/arm64');
    },
    TIMEOUT,
  );
});
