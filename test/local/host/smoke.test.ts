/**
 * Smoke test of local mode: the whole stack from the synthesized app, driven
 * over HTTP as a user would, with the knime2py contract double as K2P_COMMAND
 * (tests only). The end-to-end suite (test/e2e) covers the behaviours.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateJobResponse, JobView } from '../../../core/api-schemas';
import type { SiteConfig } from '../../../core/site-config';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { hashApiKey } from '../../../core/node/api-key';
import { KeyRegistry } from '../../../lambdas/storage/key-registry';
import { readStackState } from '../../../local/host/data-dir';
import { keyRegistryTable } from '../../../local/host/key-seeding';
import { LOCAL_CREDENTIALS } from '../../../local/stand-ins/credentials';
import { startLocalStack, type LocalStack } from '../../../local/host/local-stack';
import { sampleBundle } from '../../support/samples';
import { DOUBLE_COMMAND, synthesizedCdkOut, SYNTH_TIMEOUT_MS, tempDir } from '../helpers';

let stack: LocalStack;
const dataRoot = tempDir('k2p-smoke-');
beforeAll(async () => {
  await synthesizedCdkOut();
  stack = await startLocalStack({
    dataDir: join(dataRoot, 'data'),
    portBase: 0,
    synth: 'never',
    converterEnv: { ...process.env, K2P_COMMAND: DOUBLE_COMMAND },
    controllableClock: true,
  });
}, SYNTH_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
  rmSync(dataRoot, { recursive: true, force: true });
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.urls.api}${path}`, {
    ...init,
    headers: { 'x-api-key': stack.keys.cli.value, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
  });

describe('local mode smoke test (contract double as the converter; test/e2e runs the real one)', () => {
  it('announces itself in the state file and serves the page config pointing at the local API and sign-in, no key (cdk.json: anonymous off)', async () => {
    expect(stack.anonymousAccess).toBe(false);
    expect(stack.keys.web).toBeUndefined();
    expect(readStackState(stack.dataDir)).toEqual({
      apiUrl: stack.urls.api,
      webUrl: stack.urls.web,
      cliApiKey: stack.keys.cli.value,
      adminApiKey: stack.keys.admin.value,
      pid: process.pid,
      localSandbox: stack.sandbox,
    });
    const config = (await (await fetch(`${stack.urls.web}config.json`)).json()) as SiteConfig;
    expect(config).toMatchObject({
      apiUrl: stack.urls.api,
      anonymousAccess: false,
      signIn: { issuer: stack.identity.issuer, clientId: 'k2p-web-local', scopes: ['openid', 'profile', 'email'] },
    });
    expect('apiKey' in config).toBe(false);
    expect(config.bundleLimits).toBeDefined();
    // No shared key is registered as a principal either.
    const registry = keyRegistryTable(stack.model.tables)!;
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.urls.dynamodb, region: stack.model.names.region, credentials: LOCAL_CREDENTIALS }),
    );
    const { Items = [] } = await db.send(new ScanCommand({ TableName: registry.name }));
    expect(Items.map((item) => item.name as string).sort()).toEqual(['local-admin', 'local-user']);
    db.destroy();
    const health = await fetch(`${stack.urls.api}health`);
    expect(health.status).toBe(200);
    // Local only: what the runner's sandbox enforces on this machine, never claimed where it is not.
    expect(((await health.json()) as { localSandbox: unknown }).localSandbox).toEqual(stack.sandbox);
    expect(stack.sandbox.enforced.length + stack.sandbox.notEnforced.length).toBeGreaterThan(0);
  });

  it('runs the local OpenID provider with seeded users and an admin, its keys kept in the data dir', async () => {
    const discovery = (await (await fetch(`${stack.identity.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(stack.identity.issuer);
    expect(stack.identity.accounts.map((account) => account.groups.includes(stack.identity.adminGroup))).toEqual([false, true, false]);
    expect(existsSync(join(stack.dataDir, 'oidc-provider.json'))).toBe(true);
  });

  it('converts KNIME_single_csv through the HTTP API: create, presigned POST, poll to SUCCEEDED, download result.zip', async () => {
    const bundle = sampleBundle('KNIME_single_csv');
    const created = await api('jobs', { method: 'POST', body: JSON.stringify({ filename: 'KNIME_single_csv', sizeBytes: bundle.length }) });
    expect(created.status).toBe(201);
    const { job, upload } = (await created.json()) as CreateJobResponse;
    expect(upload!.url.startsWith(stack.urls.s3)).toBe(true);

    const form = new FormData();
    for (const [name, value] of Object.entries(upload!.fields)) form.append(name, value);
    form.append('file', new Blob([Buffer.from(bundle)], { type: 'application/zip' }), 'bundle.zip');
    expect((await fetch(upload!.url, { method: 'POST', body: form })).status).toBe(204);

    let view: JobView | undefined;
    for (let i = 0; i < 300 && !view?.terminal; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      view = (await (await api(`jobs/${job.jobId}`)).json()) as JobView;
    }
    expect(view).toMatchObject({ status: 'SUCCEEDED', workflowName: 'KNIME_single_csv' });

    const link = await api(`jobs/${job.jobId}/result`, { redirect: 'manual' });
    expect(link.status).toBe(302);
    const download = await fetch(link.headers.get('location')!);
    expect(download.status).toBe(200);
    const files = Object.keys(unzipSync(new Uint8Array(await download.arrayBuffer())));
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'report.json', 'KNIME_single_csv__g01_workbook.py', 'KNIME_single_csv__g01_workbook.ipynb']),
    );
    expect(stack.tasks()).toEqual([]);
    expect(stack.asyncFailures).toEqual([]);
  });

  it('admits the seeded principals through the template authorizer, and refuses a disabled key once the cached answer expires', async () => {
    const asAdmin = () => fetch(`${stack.urls.api}jobs`, { headers: { 'x-api-key': stack.keys.admin.value } });
    expect((await asAdmin()).status).toBe(200);
    const table = keyRegistryTable(stack.model.tables)!;
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.urls.dynamodb, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
    );
    const registry = new KeyRegistry(ddb, table.name);
    expect((await registry.lookup(stack.keys.admin.value))?.role).toBe('admin');
    expect(await registry.lookup(stack.keys.cli.value)).toMatchObject({ principalId: stack.keys.cli.id, name: 'local-user', role: 'user' });
    try {
      expect(await registry.setEnabled(hashApiKey(stack.keys.admin.value), false)).toBe(true);
      expect((await asAdmin()).status).toBe(200); // the cached Allow
      stack.clock.advance(60_000);
      const refused = await asAdmin();
      expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHORIZED']);
    } finally {
      await registry.setEnabled(hashApiKey(stack.keys.admin.value), true);
      ddb.destroy();
    }
  });

  it('moves time for the whole stack: after the retention period the reaper expires the result (S3 calls included)', async () => {
    const [job] = ((await (await api('jobs')).json()) as { jobs: JobView[] }).jobs;
    expect(job!.status).toBe('SUCCEEDED');
    stack.clock.advance(8 * 86_400_000);
    // Every schedule fires (the webhook sender too): pick the reaper's summary.
    const summaries = (await stack.triggerReaper()) as Record<string, unknown>[];
    const summary = summaries.find((s) => 'expiredResults' in s);
    expect(summary).toMatchObject({ expiredResults: 1, errors: 0 });
    const gone = await api(`jobs/${job!.jobId}/result`, { redirect: 'manual' });
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('RESULT_GONE');
  });

  it('shuts down cleanly, removing its state file', async () => {
    await stack.close();
    expect(existsSync(join(stack.dataDir, 'stack.json'))).toBe(false);
    await expect(fetch(`${stack.urls.api}health`)).rejects.toThrow();
  });
});
