/**
 * Local mode with anonymous access on (`npm start -- --anonymous`): the app synthesized with
 * -c anonymousAccess=true into its own folder, the page's shared key seeded as principal web-page and published in
 * config.json next to the sign-in, and the banner saying so. The knime2py contract double is K2P_COMMAND (tests only).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../core/site-config';
import { banner } from '../../../local/host/banner';
import { readStackState } from '../../../local/host/data-dir';
import { keyRegistryTable } from '../../../local/host/key-seeding';
import { anonymousCdkOut, REPO_ROOT, startLocalStack, type LocalStack } from '../../../local/host/local-stack';
import { LOCAL_CREDENTIALS } from '../../../local/stand-ins/credentials';
import { DOUBLE_COMMAND, STACK_NAME, SYNTH_TIMEOUT_MS, tempDir } from '../helpers';

let stack: LocalStack;
const dataRoot = tempDir('k2p-anonymous-');
beforeAll(async () => {
  stack = await startLocalStack({
    dataDir: join(dataRoot, 'data'),
    portBase: 0,
    stackName: STACK_NAME,
    anonymousAccess: true,
    converterEnv: { ...process.env, K2P_COMMAND: DOUBLE_COMMAND },
  });
}, SYNTH_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
  rmSync(dataRoot, { recursive: true, force: true });
});

describe('local mode with anonymous access on', () => {
  it('runs the synthesis made with anonymousAccess=true, in its own folder', () => {
    expect(stack.model.cdkOut).toBe(anonymousCdkOut(REPO_ROOT, true));
    expect(stack.anonymousAccess).toBe(true);
  });

  it('publishes the seeded web key in config.json next to the local sign-in, and in stack.json', async () => {
    const config = (await (await fetch(`${stack.urls.web}config.json`)).json()) as SiteConfig;
    expect(config).toMatchObject({
      apiUrl: stack.urls.api,
      anonymousAccess: true,
      apiKey: stack.keys.web!.value,
      signIn: { issuer: stack.identity.issuer, clientId: 'k2p-web-local', scopes: ['openid', 'profile', 'email'] },
    });
    expect(readStackState(stack.dataDir)?.webApiKey).toBe(stack.keys.web!.value);
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.urls.dynamodb, region: stack.model.names.region, credentials: LOCAL_CREDENTIALS }),
    );
    const { Items = [] } = await db.send(new ScanCommand({ TableName: keyRegistryTable(stack.model.tables)!.name }));
    db.destroy();
    expect(Items.map((item) => item.name as string).sort()).toEqual(['local-admin', 'local-user', 'web-page']);
  });

  it('lets the page key create a job but not list jobs (its plan blocks GET /jobs)', async () => {
    const headers = { 'x-api-key': stack.keys.web!.value, 'Content-Type': 'application/json' };
    const created = await fetch(`${stack.urls.api}jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ filename: 'x.zip', sizeBytes: 100 }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${stack.urls.api}jobs`, { headers })).status).toBe(429);
  });

  it('says so in the banner', () => {
    expect(banner(stack)).toContain(`Anonymous      on: the page works without sign-in through its public key ${stack.keys.web!.value}`);
  });
});
