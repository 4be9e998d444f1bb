/**
 * The suites whose code runs in AWS, for a second run under the service's
 * Node major (core/runtime-contract.ts) after the full run under the
 * development Node: the runner (source and esbuild bundle), the handlers
 * (source, and their cdk.out bundles in local mode's function host), and the
 * validator's fast path (zlib internals and wasm, checked against the plain
 * path). Started by scripts/node-major.ts; the reporter labels every file with
 * the Node version it ran on.
 */
import { defineConfig } from 'vitest/config';
import { SERVICE_NODE_MAJOR } from './core/runtime-contract';
import base from './vitest.config';

export const NODE_MAJOR_SUITES = [
  'test/integration/runner.test.ts',
  'test/integration/runner-bundle.test.ts',
  'test/integration/lambdas-api.test.ts',
  'test/integration/lambdas-pipeline.test.ts',
  'test/integration/lambdas-reaper.test.ts',
  'test/local/host/smoke.test.ts',
  'test/unit/inflate.test.ts',
  'test/unit/validate-bundle.differential.test.ts',
];

const running = Number(process.versions.node.split('.')[0]);
if (running !== SERVICE_NODE_MAJOR) {
  throw new Error(
    `vitest.node-major.config.ts runs under Node ${SERVICE_NODE_MAJOR}, not ${process.versions.node} (use npm run test:node-major)`,
  );
}

export default defineConfig({
  ...base,
  test: { ...base.test, name: `node ${process.versions.node}`, include: NODE_MAJOR_SUITES },
});
