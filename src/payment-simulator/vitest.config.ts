/**
 * Runs the simulator's own tests without the repository-wide vitest setup
 * (which starts the app, worker and databases): the simulator needs nothing
 * but itself.
 *
 *   npx vitest run --config src/payment-simulator/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The repository root, whatever the working directory, so caches land where every other run puts them.
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['src/payment-simulator/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
