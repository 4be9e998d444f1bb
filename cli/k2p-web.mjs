#!/usr/bin/env node
// Entry of the `k2p-web` command. Runs the bundled CLI from dist/ when it is
// up to date with the sources, else the TypeScript sources through tsx, so the
// command works right after `npm ci` and while editing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bundled = join(root, 'dist', 'k2p-web.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const fresh =
  existsSync(bundled) && statSync(bundled).mtimeMs >= Math.max(newestSource(join(root, 'cli')), newestSource(join(root, 'core')));

if (fresh) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
}
