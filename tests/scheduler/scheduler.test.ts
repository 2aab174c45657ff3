/**
 * The scheduler itself: it must find a race that exists, enumerate every
 * interleaving of a small pair, and replay a schedule exactly from its id.
 * The race is a read-then-write on one document (a lost update), through the
 * same operation gate every step's database operations pass.
 */
import { describe, expect, it } from 'vitest';
import { Product } from '../../prisma-free-models';
import { runConcurrently } from '../../prisma-free-models/operation-gate';
import { runSchedule, type Scenario, type ScheduleOutcome } from './explore';
import { product } from './fixtures';
import { dfsId, interleavings, nextDfsPrefix } from './strategies';
import { useWorld } from './use-world';

const world = useWorld();

/** Two restocks of one unit by read-modify-write: correct only if they do not interleave. */
async function restock(sku: string): Promise<void> {
  const p = await Product.findById(sku).lean();
  await Product.updateOne({ _id: sku }, { $set: { initialStock: (p?.initialStock ?? 0) + 1, available: (p?.available ?? 0) + 1 } });
}

async function sevenUnits({ skus: [sku] }: { skus: string[] }): Promise<string[]> {
  const p = await Product.findById(sku).lean();
  return p?.initialStock === 7 ? [] : [`expected 7 units after two restocks of 5, found ${p?.initialStock}`];
}

const lostUpdate: Scenario<{ orderIds: string[]; skus: string[] }> = {
  name: 'toy lost update',
  setup: async () => ({ orderIds: [], skus: [await product(5)] }),
  tasks: ({ skus: [sku] }) => [0, 1].map((i) => ({ name: `restock ${i}`, run: () => restock(sku as string) })),
  check: sevenUnits,
};

/** The same two restocks as the branches of one step (runConcurrently), which writes once more after both. */
const forkedLostUpdate: Scenario<{ orderIds: string[]; skus: string[] }> = {
  name: 'toy lost update between the branches of one step',
  setup: async () => ({ orderIds: [], skus: [await product(5)] }),
  tasks: ({ skus: [sku] }) => [
    {
      name: 'restock twice at once',
      run: async () => {
        await runConcurrently([() => restock(sku as string), () => restock(sku as string)]);
        await Product.updateOne({ _id: sku }, { $set: { name: 'restocked' } });
      },
    },
  ],
  check: sevenUnits,
};

/** Every schedule of a scenario, depth-first. */
async function everySchedule(scenario: Scenario<{ orderIds: string[]; skus: string[] }>): Promise<ScheduleOutcome[]> {
  const outcomes: ScheduleOutcome[] = [];
  for (let prefix: number[] | null = []; prefix; ) {
    const outcome = await runSchedule(world(), scenario, dfsId(prefix));
    outcomes.push(outcome);
    prefix = nextDfsPrefix(outcome.seen);
  }
  return outcomes;
}

const lostIn = (outcomes: readonly ScheduleOutcome[]) => outcomes.filter((o) => o.violations.length > 0).map((o) => o.id);

describe('the deterministic scheduler', () => {
  it('enumerates every interleaving of a small pair and finds the lost update in exactly those that lose it', async () => {
    const outcomes = await everySchedule(lostUpdate);
    for (const outcome of outcomes) expect(outcome.points).toEqual([2, 2]);
    expect(outcomes).toHaveLength(interleavings([2, 2]));
    expect(outcomes).toHaveLength(6);
    // Both reads before either write: 4 of the 6 interleavings.
    expect(lostIn(outcomes).sort()).toEqual(['dfs:0101', 'dfs:0110', 'dfs:1001', 'dfs:1010']);
  });

  it('replays a schedule exactly from its id, steps with branches included', async () => {
    for (const [scenario, id] of [lostUpdate, forkedLostUpdate].flatMap((sc) => ['dfs:0101', 'pct2:7.4', 'random:42'].map((i) => [sc, i] as const))) {
      const a = await runSchedule(world(), scenario, id);
      const b = await runSchedule(world(), scenario, id);
      expect(b.seen.map((s) => s.chosen)).toEqual(a.seen.map((s) => s.chosen));
      expect(b.trace.split('\n').map((l) => l.replace(/S-[0-9A-F]+/g, 'S'))).toEqual(a.trace.split('\n').map((l) => l.replace(/S-[0-9A-F]+/g, 'S')));
      expect(b.violations.length > 0).toBe(a.violations.length > 0);
    }
  });

  it('runs the branches of a step as tasks of their own: every interleaving of theirs, the step resuming after both', async () => {
    const outcomes = await everySchedule(forkedLostUpdate);
    for (const outcome of outcomes) {
      // The step's own write, then each branch's read and write.
      expect(outcome.points).toEqual([1, 2, 2]);
      const steps = (outcome.trace.split('\nresults:\n')[0] ?? '').split('\n');
      expect(steps.at(-1)).toMatch(/restock twice at once: Product\.updateOne .*restocked/);
    }
    expect(outcomes).toHaveLength(6);
    expect(lostIn(outcomes)).toHaveLength(4);
  });

  it('finds the race with seeded random and PCT schedules too', async () => {
    const found = { random: 0, pct: 0 };
    for (let seed = 1; seed <= 20; seed++) {
      if ((await runSchedule(world(), lostUpdate, `random:${seed}`)).violations.length > 0) found.random++;
      if ((await runSchedule(world(), lostUpdate, `pct2:${seed}.4`)).violations.length > 0) found.pct++;
    }
    expect(found.random).toBeGreaterThan(0);
    expect(found.pct).toBeGreaterThan(0);
  });
});
