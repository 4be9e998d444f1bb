/**
 * Local mode in a process of its own, for tests that kill it (SIGKILL): starts the stack on the given
 * synthesis and data dir with the converter of its environment, then prints one JSON line once it serves.
 * Usage: node --import tsx test/e2e/local-mode-process.ts <cdkOut> <stackName> <dataDir> <auto|none (the task sandbox)>
 */
import { startLocalStack } from '../../local/host/local-stack';

async function main(): Promise<void> {
  const [cdkOut, stackName, dataDir, sandbox] = process.argv.slice(2);
  const stack = await startLocalStack({
    cdkOut,
    synth: 'never',
    stackName,
    dataDir,
    portBase: 0,
    controllableClock: true,
    schedules: false,
    asyncRetryDelaysMs: [200, 400],
    taskStopTimeoutSeconds: 2,
    converterEnv: process.env,
    sandbox: sandbox === 'none' ? 'none' : 'auto',
  });
  process.stdout.write(`${JSON.stringify({ api: stack.urls.api, cliKey: stack.keys.cli.value })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
