import { defaultClientConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export `source` (TypeScript) for tests and dev; built JS otherwise.
export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  // No 'module'/'import' here: externals load through Node, which must pick their CommonJS or Node builds.
  ssr: { resolve: { conditions: ['source', 'node', 'development|production'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'test/*.test.ts',
      'test/e2e/**/*.test.ts',
      // Packing and installing the release from the registry takes minutes: CI runs it once (npm run test:release).
      ...(process.env.HOLDFAST_RELEASE_TEST === '1' ? ['test/release/**/*.test.ts'] : []),
    ],
    // The browser tests and the slow fault drills run once per CI run (on Node 20); the Node 24 pass sets this.
    exclude: [
      '**/node_modules/**',
      ...(process.env.HOLDFAST_SKIP_SLOW_TESTS === '1'
        ? ['test/e2e/portal/**', 'test/e2e/fault-drills.test.ts', 'test/e2e/disk-and-clock-drills.test.ts']
        : []),
    ],
    globalSetup: ['packages/test-support/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { HOLDFAST_LOG_LEVEL: 'silent' },
  },
});
