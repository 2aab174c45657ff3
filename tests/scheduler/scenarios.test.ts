/**
 * Every step against a twin of itself and every pair of steps that can meet
 * in production, each through many controlled schedules (scheduler.ts), with
 * the invariants checked after each. `npm test` runs SCHED_SCHEDULES (500)
 * per scenario; `npm run explore` runs 20,000 with a fresh base seed and
 * without the suite's app and worker (scripts/explore.sh).
 *   SCHED_SCHEDULES=n      schedules per scenario
 *   SCHED_BASE_SEED=n      where the seeded schedules start (default 1: the same schedules every run)
 *   SCHED_ONLY=text        only scenarios whose name contains text
 *   SCHED_REPLAY=name@id   run exactly one schedule of one scenario
 */
import { describe, expect, it } from 'vitest';
import { explore, replay } from './explore';
import { SCENARIOS } from './scenarios';
import { useWorld } from './use-world';


const SCHEDULES = Number(process.env.SCHED_SCHEDULES ?? 500);
const BASE_SEED = Number(process.env.SCHED_BASE_SEED ?? 1);
const ONLY = process.env.SCHED_ONLY;
const REPLAY = process.env.SCHED_REPLAY;

const world = useWorld();

/** A progress line every few seconds (and at the end): schedules done, rate, time left. */
const progress = (name: string) => {
  const started = Date.now();
  let shown = started;
  return (done: number, total: number, mode: string) => {
    const now = Date.now();
    if (now - shown < 5_000 && done !== total) return;
    shown = now;
    const rate = done / Math.max(0.001, (now - started) / 1000);
    const left = Math.round((total - done) / Math.max(rate, 0.001));
    process.stderr.write(`[scheduler] ${name}: ${done}/${total} schedules (${mode}), ${rate.toFixed(1)}/s, ~${left} s left\n`);
  };
};

describe('steps under controlled interleavings', () => {
  if (REPLAY) {
    const at = REPLAY.lastIndexOf('@');
    const [name, id] = [REPLAY.slice(0, at), REPLAY.slice(at + 1)];
    it(`replays ${REPLAY}`, async () => {
      const scenario = SCENARIOS.find((s) => s.name === name);
      if (!scenario) throw new Error(`no scenario named "${name}"; known: ${SCENARIOS.map((s) => s.name).join('; ')}`);
      const outcome = await replay(world(), scenario, id);
      process.stderr.write(`${outcome.trace}\n`);
    });
    return;
  }
  for (const scenario of SCENARIOS.filter((s) => !ONLY || s.name.includes(ONLY))) {
    it(scenario.name, { timeout: 3_600_000 }, async () => {
      const started = Date.now();
      const result = await explore(world(), scenario, { schedules: SCHEDULES, baseSeed: BASE_SEED, onProgress: progress(scenario.name) });
      process.stderr.write(
        `[scheduler] ${scenario.name}: ${result.schedules} ${result.mode} schedules (space ${result.space}) in ${Date.now() - started} ms\n`,
      );
      expect(result.schedules).toBeGreaterThanOrEqual(Math.min(SCHEDULES, result.space));
    });
  }
});
