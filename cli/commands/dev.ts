import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command';

/** The repository root: the CLI ships inside it (bin → cli/k2p-web.mjs). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // Sources live in cli/commands/, the bundle in dist/: walk up to the folder holding local/host/start.ts.
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'local', 'host', 'start.ts'))) return dir;
  }
  throw new Error('local mode (local/host/start.ts) is not part of this installation; run `npm start` in a k2p-web checkout');
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'run the whole service locally (same as `npm start`)',
  help: `Usage: k2p-web dev [npm start options]

Starts local mode: the synthesized stack on 127.0.0.1 (API, storage, state
machine, converter runner, web page). Every option is passed to local mode;
see \`npm start -- --help\` and docs/local-mode.md.`,

  run(args, io) {
    const root = repositoryRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'local', 'host', 'start.ts'), ...args], {
      cwd: root,
      env: io.env as NodeJS.ProcessEnv,
      stdio: 'inherit',
    });
    // Ctrl-C reaches the child through the terminal's process group; wait for its clean shutdown.
    process.on('SIGINT', () => undefined);
    return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
  },
};
