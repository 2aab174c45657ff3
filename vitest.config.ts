import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { '@': path.resolve(__dirname, 'src'), '@models': path.resolve(__dirname, 'prisma-free-models') },
  },
  test: {
    include: ['src/**/*.test.ts', 'worker/**/*.test.ts', 'tests/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Real services (web app, worker, simulator) are started once for the run.
    globalSetup: ['tests/setup/global-setup.ts'],
    setupFiles: ['tests/setup/connect.ts'],
    // Files share one app, worker and database; running them one at a time
    // keeps timings honest on a 2-core machine. Concurrency is inside tests.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
