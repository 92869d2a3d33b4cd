import { defineConfig } from 'vitest/config';

// Workspace packages export `source` (TypeScript) for tests and dev; built JS otherwise.
const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { HOLDFAST_LOG_LEVEL: 'silent' },
  },
});
