/**
 * Runs a scenario through many schedules and checks the invariants after
 * each: the auditor's own checks (stock, holds, sales, payments at Stripe,
 * histories, nothing stuck) plus the scenario's own promises.
 *
 * Which schedules: when the scenario's interleavings are few enough, all of
 * them (depth-first enumeration); otherwise seeded random and PCT schedules.
 * A failing schedule is reported with its id; `SCHED_REPLAY=<scenario>@<id>`
 * (or `replay(scenario, id)` in a test) runs exactly that schedule again.
 */
import { auditInvariants } from '../../src/server/audit/invariants';
import type { QueueName } from '../../src/server/queue/queues';
import { Scheduler, type TaskResult, type TaskSpec } from './scheduler';
import { dfsId, interleavings, nextDfsPrefix, ReplayStrategy, strategyFor, type ScheduleId } from './strategies';
import { resetWorld, settle, type JobRef, type World } from './world';

/** A scheduled task: a job of a queue (run by the worker's processor, retried like one) or a plain call. */
export interface StepTask extends TaskSpec {
  job?: JobRef;
}

export interface Fixture {
  orderIds: string[];
  skus: string[];
}

export interface Scenario<F extends Fixture = Fixture> {
  name: string;
  /** Builds the schedule's data with the real steps, outside the scheduler. */
  setup(world: World): Promise<F>;
  tasks(fixture: F, world: World): StepTask[];
  /**
   * Jobs the steps enqueue that are lost (as after a Redis flush): settling
   * never runs them, so only the reconciler can re-drive their work.
   */
  lostJobs?(job: JobRef): boolean;
  /** The scenario's own promises, checked after the system settled; returns what is broken. */
  check?(fixture: F, world: World, results: TaskResult[]): Promise<string[]>;
}

/** A step of the worker as a task: the queue's processor with this job's data. */
export function job(world: World, queue: QueueName, data: Record<string, string>, name = `${queue}(${Object.values(data).join(',')})`): StepTask {
  return { name, job: { queue, data }, run: () => world.processors[queue]({ data } as never, undefined) };
}

export interface ScheduleOutcome {
  id: ScheduleId;
  violations: string[];
  trace: string;
  /** Points reached per task. */
  points: number[];
  seen: { enabled: readonly number[]; chosen: number }[];
}

export async function runSchedule<F extends Fixture>(world: World, scenario: Scenario<F>, id: ScheduleId): Promise<ScheduleOutcome> {
  await resetWorld(world);
  const fixture = await scenario.setup(world);
  const tasks = scenario.tasks(fixture, world);
  const strategy = strategyFor(id);
  const scheduler = new Scheduler(strategy);
  const results = await scheduler.run(tasks);

  if (scenario.lostJobs) {
    const lost = world.enqueued.filter((j) => scenario.lostJobs?.(j));
    world.enqueued.splice(0, world.enqueued.length, ...world.enqueued.filter((j) => !lost.includes(j)));
    world.lost.push(...lost);
  }
  const failedJobs = tasks.flatMap((t, i) => (t.job && results[i]?.ok === false ? [t.job] : []));
  const settled = await settle(world, failedJobs);
  const report = await auditInvariants({ stuckAfterMs: 0, now: new Date(), stripe: world.stripe, orderIds: fixture.orderIds, skus: fixture.skus, recheck: false });
  const violations = [
    ...report.violations.map((v) => `[${v.check}] ${v.subject}: ${v.message}`),
    ...settled.gaveUp.map((g) => `[gave-up] ${g}`),
    ...(scenario.check ? await scenario.check(fixture, world, results) : []),
  ];
  // Per task, the branches of forking steps included (their ids follow the steps').
  const taskCount = Math.max(tasks.length, ...scheduler.trace.map((s) => s.task + 1));
  const points = Array.from({ length: taskCount }, (_, i) => scheduler.trace.filter((s) => s.task === i).length);
  const seen = strategy instanceof ReplayStrategy ? strategy.seen : [];
  const outcomes = results.map((r, i) => `${i} ${r.name}: ${r.ok ? String(r.value) : `threw ${(r.error as Error).message}`}`).join('\n');
  // A depth-first prefix names its whole choice sequence once run.
  const fullId = strategy instanceof ReplayStrategy ? dfsId(seen.map((s) => s.chosen)) : id;
  return { id: fullId, violations, trace: `${scheduler.describeTrace()}\nresults:\n${outcomes}`, points, seen };
}

export class ScheduleFailure extends Error {
  override name = 'ScheduleFailure';
}

function failure(scenario: Scenario<never>, outcome: ScheduleOutcome): ScheduleFailure {
  return new ScheduleFailure(
    `scenario "${scenario.name}" broke its promises under schedule ${outcome.id}\n` +
      `replay: SCHED_REPLAY='${scenario.name}@${outcome.id}' npm test -- tests/scheduler\n` +
      `violations:\n  ${outcome.violations.join('\n  ')}\nschedule:\n${outcome.trace}`,
  );
}

export interface ExploreOptions {
  schedules: number;
  baseSeed: number;
  onProgress?: (done: number, total: number, mode: string) => void;
}

export interface ExploreResult {
  /** exhaustive: every interleaving; mixed: depth-first for half the budget, then seeded. */
  mode: 'exhaustive' | 'mixed' | 'seeded';
  schedules: number;
  /** The number of interleavings: counted when exhaustive, else estimated from the first schedule's points. */
  space: number;
}

/** Runs exactly one schedule and throws on a broken promise: the regression test for a seed. */
export async function replay<F extends Fixture>(world: World, scenario: Scenario<F>, id: ScheduleId): Promise<ScheduleOutcome> {
  const outcome = await runSchedule(world, scenario, id);
  if (outcome.violations.length > 0) throw failure(scenario as Scenario<never>, outcome);
  return outcome;
}

export async function explore<F extends Fixture>(world: World, scenario: Scenario<F>, opts: ExploreOptions): Promise<ExploreResult> {
  const first = await replay(world, scenario, dfsId([]));
  const totalPoints = first.points.reduce((a, b) => a + b, 0);
  const space = interleavings(first.points);
  let done = 1;
  if (space <= opts.schedules) {
    // Few enough to try them all: depth-first over the choice sequences. The
    // space is estimated from one schedule; other schedules may reach more
    // points, so enumeration may stop at half the budget and seeded schedules
    // take the rest.
    let prefix = nextDfsPrefix(first.seen);
    while (prefix && done < opts.schedules / 2) {
      const outcome = await replay(world, scenario, dfsId(prefix));
      done++;
      opts.onProgress?.(done, opts.schedules, 'exhaustive');
      prefix = nextDfsPrefix(outcome.seen);
    }
    if (!prefix) return { mode: 'exhaustive', schedules: done, space: done };
  }
  for (let i = done; i < opts.schedules; i++) {
    const seed = (opts.baseSeed * 1_000_003 + i) >>> 0;
    // A mix: uniform random, and PCT of depths 2 to 4 (bugs needing up to three forced orderings).
    const id = i % 4 === 0 ? `random:${seed}` : `pct${(i % 4) + 1}:${seed}.${totalPoints}`;
    const outcome = await runSchedule(world, scenario, id);
    if (outcome.violations.length > 0) throw failure(scenario as Scenario<never>, outcome);
    opts.onProgress?.(i + 1, opts.schedules, 'seeded');
  }
  return { mode: done > 1 ? 'mixed' : 'seeded', schedules: opts.schedules, space };
}
