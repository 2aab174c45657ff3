/**
 * Runs the probes on their own, without the suite's global setup (which builds
 * on the app, the worker and the payment simulator the probes do not need):
 *
 *   npx vitest run -c tests/probe/vitest.config.ts
 *
 * The root vitest.config.ts picks the probes up too (tests/**), with its setup.
 */
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(__dirname, '../..'),
  test: {
    include: ['tests/probe/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
