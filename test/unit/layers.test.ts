/**
 * The layer rules of .dependency-cruiser.cjs, run the way `npm run lint` runs
 * them: every active rule fires on a deliberate violation in a throw-away tree
 * (and an allowed neighbour of each violation stays quiet), and the repository
 * itself has no violation.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = createRequire(import.meta.url)(CONFIG) as { forbidden: { name: string }[] };

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs depcruise with the repository's config in `cwd`; returns its violations. */
function cruise(cwd: string): Violation[] {
  const run = spawnSync(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'json', '.'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!run.stdout) throw new Error(`depcruise produced no report: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** Per rule: the files of one violation (the first import is the offending one) and allowed imports beside it. */
const CASES: Record<string, { files: Record<string, string>; violations: string[] }> = {
  'no-circular': {
    // Only the type-only import closes the cycle, so type imports count; a cycle is reported once.
    files: {
      'lib/a.ts': "import { b } from './b';\nexport const a = b;\n",
      'lib/b.ts': "import type { a } from './a';\nexport const b: typeof a | 1 = 1;\n",
    },
    violations: ['lib/a.ts → lib/b.ts'],
  },
  'core-imports-no-other-layer': {
    files: { 'core/uses-lib.ts': "export * from '../lib/x';\n" },
    violations: ['core/uses-lib.ts → lib/x.ts'],
  },
  'core-outside-node-is-browser-safe': {
    files: { 'core/uses-node.ts': "export * from './node/n';\n", 'core/node/uses-core.ts': "export * from '../api';\n" },
    violations: ['core/uses-node.ts → core/node/n.ts'],
  },
  'lib-imports-core-only': {
    files: { 'lib/uses-lambdas.ts': "export * from '../lambdas/decisions/d';\n", 'lib/uses-core.ts': "export * from '../core/api';\n" },
    violations: ['lib/uses-lambdas.ts → lambdas/decisions/d.ts'],
  },
  'lambdas-import-core-only': {
    files: { 'lambdas/use-cases/uses-lib.ts': "export * from '../../lib/x';\n" },
    violations: ['lambdas/use-cases/uses-lib.ts → lib/x.ts'],
  },
  'runner-imports-core-only': { files: { 'runner/r.ts': "export * from '../lib/x';\n" }, violations: ['runner/r.ts → lib/x.ts'] },
  'web-imports-core-only': { files: { 'web/src/w.ts': "export * from '../../runner/r2';\n" }, violations: ['web/src/w.ts → runner/r2.ts'] },
  'cli-imports-core-and-local-start-only': {
    files: { 'cli/c.ts': "export * from '../local/internal';\n", 'cli/starts-local.ts': "export * from '../local/host/start';\n" },
    violations: ['cli/c.ts → local/internal.ts'],
  },
  'local-imports-core-and-web-build-only': {
    files: { 'local/l.ts': "export * from '../web/src/page';\n", 'local/builds-page.ts': "export * from '../web/build';\n" },
    violations: ['local/l.ts → web/src/page.ts'],
  },
  'local-never-imports-runner': {
    files: { 'local/uses-runner.ts': "export * from '../runner/r2';\n" },
    violations: ['local/uses-runner.ts → runner/r2.ts'],
  },
  'entry-points-are-imported-by-nothing': {
    files: { 'lambdas/api/a.ts': "export * from '../schedule/s';\n", 'lambdas/steps/h.ts': "export * from './step-schemas';\n" },
    violations: ['lambdas/api/a.ts → lambdas/schedule/s.ts'],
  },
  'decisions-import-core-only': {
    files: { 'lambdas/decisions/d2.ts': "export * from '../storage/st';\n" },
    violations: ['lambdas/decisions/d2.ts → lambdas/storage/st.ts'],
  },
  'decisions-import-no-aws-sdk': {
    files: { 'lambdas/decisions/d3.ts': "export { S3Client } from '@aws-sdk/client-s3';\n" },
    violations: ['lambdas/decisions/d3.ts → @aws-sdk/client-s3'],
  },
  'storage-imports-decisions-only': {
    files: {
      'lambdas/storage/st2.ts': "export * from '../use-cases/u';\n",
      'lambdas/storage/uses-decisions.ts': "export * from '../decisions/d';\n",
    },
    violations: ['lambdas/storage/st2.ts → lambdas/use-cases/u.ts'],
  },
  'use-cases-import-storage-decisions-observability': {
    files: {
      'lambdas/use-cases/u2.ts': "export * from '../runtime/http';\n",
      'lambdas/use-cases/logs.ts': "export * from '../runtime/observability';\n",
    },
    violations: ['lambdas/use-cases/u2.ts → lambdas/runtime/http.ts'],
  },
  'runtime-is-plumbing': {
    files: { 'lambdas/runtime/http.ts': "export * from '../storage/st';\n" },
    violations: ['lambdas/runtime/http.ts → lambdas/storage/st.ts'],
  },
  'services-build-storage-only': {
    files: { 'lambdas/runtime/services.ts': "export * from '../use-cases/u';\nexport * from '../storage/st';\n" },
    violations: ['lambdas/runtime/services.ts → lambdas/use-cases/u.ts'],
  },
};

/** Modules the cases import, each clean on its own. */
const TARGETS = [
  'core/api.ts',
  'core/node/n.ts',
  'lib/x.ts',
  'lambdas/decisions/d.ts',
  'lambdas/storage/st.ts',
  'lambdas/use-cases/u.ts',
  'lambdas/runtime/observability.ts',
  'lambdas/schedule/s.ts',
  'lambdas/steps/step-schemas.ts',
  'runner/r2.ts',
  'local/internal.ts',
  'local/host/start.ts',
  'web/src/page.ts',
  'web/build.ts',
];

const active = config.forbidden.map((rule) => rule.name);
const scratch = mkdtempSync(join(tmpdir(), 'k2p-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function writeTree(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    writeFileSync(join(scratch, file), text);
  }
}

describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('has a violation case for every active rule', () => {
    expect(active.filter((name) => !(name in CASES))).toEqual([]);
  });

  it('reports each deliberate violation under its rule, and nothing else', () => {
    writeTree({
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'bundler', strict: true } }),
      ...Object.fromEntries(TARGETS.map((file) => [file, `export const ${file.replace(/\W/g, '_')} = 1;\n`])),
      ...Object.assign({}, ...Object.entries(CASES).map(([name, c]) => (active.includes(name) ? c.files : {}))),
    });
    const expected = Object.entries(CASES)
      .filter(([name]) => active.includes(name))
      .flatMap(([name, c]) => c.violations.map((v) => `${name}: ${v}`));
    const reported = cruise(scratch).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(reported.sort()).toEqual(expected.sort());
  }, 60_000);

  it('finds no violation in the repository', () => {
    expect(cruise(ROOT).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 120_000);
});
