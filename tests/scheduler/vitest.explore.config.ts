/**
 * The scheduler's long mode (npm run explore): its scenarios only, without
 * the suite's app and worker (the scenarios bring their own world).
 */
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config';

export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['tests/scheduler/scenarios.test.ts'],
    setupFiles: ['tests/setup/connect.ts'],
    pool: 'forks',
    testTimeout: 24 * 3600_000,
    hookTimeout: 120_000,
  },
});
