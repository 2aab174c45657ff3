/**
 * Every step against a twin of itself and every pair of steps that can meet
 * in production, each through many controlled schedules (scheduler.ts), with
 * the invariants checked after each. `npm test` runs SCHED_SCHEDULES (500)
 * per scenario; `npm run explore` runs 20,000 with a fresh base seed.
 *   SCHED_SCHEDULES=n      schedules per scenario
 *   SCHED_BASE_SEED=n      where the seeded schedules start (default 1: the same schedules every run)
 *   SCHED_ONLY=text        only scenarios whose name contains text
 *   SCHED_REPLAY=name@id   run exactly one schedule of one scenario
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../src/server/logger';
import { explore, replay } from './explore';
import { installOperationGate } from './scheduler';
import { SCENARIOS } from './scenarios';
import { openWorld, type World } from './world';

// Refused transitions and flagged orders are expected by the thousand here; the auditor reports what matters.
logger.level = process.env.TEST_LOG_LEVEL ?? 'fatal';

const SCHEDULES = Number(process.env.SCHED_SCHEDULES ?? 500);
const BASE_SEED = Number(process.env.SCHED_BASE_SEED ?? 1);
const ONLY = process.env.SCHED_ONLY;
const REPLAY = process.env.SCHED_REPLAY;

let world: World;
let uninstall: () => void;
beforeAll(async () => {
  world = await openWorld();
  uninstall = installOperationGate();
});
afterAll(async () => {
  uninstall?.();
  await world?.close();
});

const progress = (name: string) => (done: number, total: number, mode: string) => {
  if (done % 100 === 0 || done === total) process.stderr.write(`[scheduler] ${name}: ${done}/${total} schedules (${mode})\n`);
};

describe('steps under controlled interleavings', () => {
  if (REPLAY) {
    const at = REPLAY.lastIndexOf('@');
    const [name, id] = [REPLAY.slice(0, at), REPLAY.slice(at + 1)];
    it(`replays ${REPLAY}`, async () => {
      const scenario = SCENARIOS.find((s) => s.name === name);
      if (!scenario) throw new Error(`no scenario named "${name}"; known: ${SCENARIOS.map((s) => s.name).join('; ')}`);
      const outcome = await replay(world, scenario, id);
      process.stderr.write(`${outcome.trace}\n`);
    });
    return;
  }
  for (const scenario of SCENARIOS.filter((s) => !ONLY || s.name.includes(ONLY))) {
    it(scenario.name, { timeout: 3_600_000 }, async () => {
      const started = Date.now();
      const result = await explore(world, scenario, { schedules: SCHEDULES, baseSeed: BASE_SEED, onProgress: progress(scenario.name) });
      process.stderr.write(
        `[scheduler] ${scenario.name}: ${result.schedules} ${result.mode} schedules (space ${result.space}) in ${Date.now() - started} ms\n`,
      );
      expect(result.schedules).toBeGreaterThanOrEqual(Math.min(SCHEDULES, result.space));
    });
  }
});
