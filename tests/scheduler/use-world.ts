/**
 * A test file's world with the operation gate installed for its duration:
 * `const world = useWorld();` then `world()` inside tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { logger } from '../../src/server/logger';
import { installOperationGate } from './scheduler';
import { openWorld, type World } from './world';

export function useWorld(): () => World {
  // Refused transitions and flagged orders are expected by the thousand here; the auditor reports what matters.
  logger.level = process.env.TEST_LOG_LEVEL ?? 'fatal';
  let world: World | undefined;
  let uninstall: (() => void) | undefined;
  beforeAll(async () => {
    world = await openWorld();
    uninstall = installOperationGate();
  });
  afterAll(async () => {
    uninstall?.();
    await world?.close();
  });
  return () => {
    if (!world) throw new Error('the world is opened in beforeAll');
    return world;
  };
}
