/**
 * How the scheduler picks the next task, and how a schedule is named so it
 * can be replayed:
 *   - `random:<seed>`   uniform choice among the waiting tasks;
 *   - `pct<d>:<seed>.<n>` PCT (probabilistic concurrency testing, Burckhardt et
 *                       al. 2010): random task priorities and d-1 priority
 *                       change points; finds any bug of depth d with a known
 *                       probability, which random choice does not;
 *   - `dfs:<choices>`   an explicit choice sequence (exhaustive enumeration
 *                       walks them all); after it ends, the lowest waiting task;
 *   - `seq:<t>x<n>,...` a schedule written by hand from reading the code: run
 *                       task t for n points (`*`: until it finishes, or waits
 *                       for branches it forked), then the next segment; after
 *                       the last, the lowest waiting task.
 */
import type { Strategy } from './scheduler';

/** mulberry32: a small seeded PRNG, so a seed is a whole schedule. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class RandomStrategy implements Strategy {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  pick(enabled: readonly number[]): number {
    return enabled[Math.floor(this.next() * enabled.length)] as number;
  }
}

export class PctStrategy implements Strategy {
  private readonly priority = new Map<number, number>();
  private readonly changes: Map<number, number>;
  private readonly next: () => number;

  /** `expectedSteps`: roughly how many points a schedule has (change points fall among them). */
  constructor(seed: number, depth: number, expectedSteps: number) {
    this.next = rng(seed);
    this.changes = new Map();
    for (let i = 1; i < depth; i++) this.changes.set(Math.floor(this.next() * Math.max(1, expectedSteps)), i);
    this.depth = depth;
  }
  private readonly depth: number;

  private prio(task: number): number {
    let p = this.priority.get(task);
    if (p === undefined) {
      // Initial priorities are all above the change-point priorities (1..depth-1).
      p = this.depth + this.next();
      this.priority.set(task, p);
    }
    return p;
  }

  private highest(enabled: readonly number[]): number {
    return enabled.reduce((best, t) => (this.prio(t) > this.prio(best) ? t : best));
  }

  pick(enabled: readonly number[], step: number): number {
    for (const t of enabled) this.prio(t);
    const chosen = this.highest(enabled);
    const change = this.changes.get(step);
    if (change === undefined) return chosen;
    // At a change point the task about to run drops below every other.
    this.priority.set(chosen, change);
    return this.highest(enabled);
  }
}

/** Follows a fixed choice sequence, then always the lowest waiting task; records what it saw. */
export class ReplayStrategy implements Strategy {
  readonly seen: { enabled: readonly number[]; chosen: number }[] = [];
  diverged = false;
  constructor(private readonly choices: readonly number[]) {}
  pick(enabled: readonly number[], step: number): number {
    const wanted = this.choices[step];
    let chosen = enabled[0] as number;
    if (wanted !== undefined) {
      if (enabled.includes(wanted)) chosen = wanted;
      else this.diverged = true;
    }
    this.seen.push({ enabled, chosen });
    return chosen;
  }
}

/** Runs segments of one task at a time (`seq:0x8,2x*,1x*`): hand-written schedules. */
export class SegmentStrategy implements Strategy {
  private readonly segments: { task: number; left: number }[];
  constructor(spec: string) {
    this.segments = spec.split(',').map((part) => {
      const m = /^(\d+)x(\d+|\*)$/.exec(part);
      if (!m) throw new Error(`bad segment "${part}" in seq:${spec}: expected <task>x<points> or <task>x*`);
      return { task: Number(m[1]), left: m[2] === '*' ? Infinity : Number(m[2]) };
    });
  }
  pick(enabled: readonly number[]): number {
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return enabled[0] as number;
      if (seg.left > 0 && enabled.includes(seg.task)) {
        seg.left--;
        return seg.task;
      }
      this.segments.shift();
    }
  }
}

/**
 * The next choice sequence in depth-first order after a run that saw `seen`,
 * or null when every sequence has been tried: change the deepest choice that
 * still has a higher waiting task, drop what came after it.
 */
export function nextDfsPrefix(seen: readonly { enabled: readonly number[]; chosen: number }[]): number[] | null {
  for (let i = seen.length - 1; i >= 0; i--) {
    const { enabled, chosen } = seen[i] as { enabled: readonly number[]; chosen: number };
    const higher = enabled.find((t) => t > chosen);
    if (higher !== undefined) return [...seen.slice(0, i).map((s) => s.chosen), higher];
  }
  return null;
}

/** Number of interleavings of tasks with the given numbers of points (a multinomial). */
export function interleavings(points: readonly number[]): number {
  let total = 0;
  let result = 1;
  for (const n of points) {
    for (let k = 1; k <= n; k++) {
      total++;
      result = (result * total) / k;
    }
  }
  return Math.round(result);
}

export type ScheduleId = string;

/** The strategy a schedule id names. */
export function strategyFor(id: ScheduleId, expectedSteps = 20): Strategy {
  const [kind, arg = ''] = id.split(':');
  if (kind === 'random') return new RandomStrategy(Number(arg));
  const pct = /^pct(\d+)$/.exec(kind ?? '');
  if (pct) {
    // pct<d>:<seed>.<steps>: the number of steps the change points fall among is part of the schedule.
    const [seed, steps] = arg.split('.');
    return new PctStrategy(Number(seed), Number(pct[1]), steps ? Number(steps) : expectedSteps);
  }
  if (kind === 'dfs') return new ReplayStrategy(arg === '' ? [] : arg.split('').map((c) => parseInt(c, 36)));
  if (kind === 'seq') return new SegmentStrategy(arg);
  throw new Error(`unknown schedule id ${id}: expected random:<seed>, pct<d>:<seed>.<n>, dfs:<choices> or seq:<segments>`);
}

/** The id that replays a choice sequence (task ids in base 36, so up to 36 tasks). */
export const dfsId = (choices: readonly number[]): ScheduleId => `dfs:${choices.map((c) => c.toString(36)).join('')}`;
