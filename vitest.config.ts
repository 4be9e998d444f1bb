import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Shown on every file: CI runs some suites again under the service's Node major (vitest.node-major.config.ts).
    name: `node ${process.versions.node}`,
    include: [
      'test/**/*.test.ts',
      'core/**/*.test.ts',
      'lambdas/**/*.test.ts',
      'runner/**/*.test.ts',
      'web/**/*.test.ts',
      'cli/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
