/**
 * A deterministic scheduler for concurrent steps.
 *
 * Every database operation of the models (prisma-free-models/operation-gate.ts)
 * and every Stripe request made through `gatedHttpClient` is a scheduling
 * point: the step that reaches it waits until the scheduler lets it proceed.
 * The scheduler runs N steps as concurrent tasks, lets exactly one of them
 * run at a time from one point to its next, and asks a strategy which one at
 * each point. The interleaving of the steps' effects is therefore chosen, not
 * left to timing, and the same strategy with the same seed replays it exactly.
 *
 * Which task an operation belongs to is carried by AsyncLocalStorage, so
 * operations outside any task (fixtures, the auditor) pass the gate at once.
 * A step that runs operations at once (runConcurrently in
 * prisma-free-models/operation-gate.ts) forks: each branch becomes a task of
 * its own, started in order, and the step waits, not schedulable, until all
 * of its branches have ended.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Stripe from 'stripe';
import { setBranchRunner, setOperationGate, type Operation } from '../../prisma-free-models/operation-gate';

/** Chooses which waiting task proceeds. Deterministic for a given construction. */
export interface Strategy {
  /** `enabled`: ids of the tasks waiting at a point, ascending. Returns one of them. */
  pick(enabled: readonly number[], step: number): number;
}

export interface TaskSpec {
  name: string;
  run: () => Promise<unknown>;
}

export type TaskResult = { name: string; ok: true; value: unknown } | { name: string; ok: false; error: unknown };

/** One step of a schedule: which task proceeded, from which point, with what was enabled. */
export interface TraceStep {
  task: number;
  enabled: readonly number[];
  label: string;
}

interface Task {
  id: number;
  name: string;
  /** new: not started yet; joined: waiting for the branches it forked. */
  state: 'new' | 'running' | 'parked' | 'joined' | 'done';
  label: string;
  resume?: () => void;
  result?: TaskResult;
}

interface Context {
  scheduler: Scheduler;
  task: Task;
}

const current = new AsyncLocalStorage<Context>();

export class SchedulerStall extends Error {
  override name = 'SchedulerStall';
}

export class Scheduler {
  readonly trace: TraceStep[] = [];
  private tasks: Task[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly strategy: Strategy,
    /** A task that neither reaches a point nor finishes within this is stuck on something outside the scheduler. */
    private readonly stallMs = 15_000,
  ) {}

  /** Runs the tasks to completion, one point at a time, and returns each one's result in order. */
  async run(specs: readonly TaskSpec[]): Promise<TaskResult[]> {
    this.tasks = specs.map((s, id) => ({ id, name: s.name, state: 'new', label: 'start' }));
    // Tasks start one after another, each up to its first point, so even the
    // code before the first operation runs in a fixed order.
    for (const [i, spec] of specs.entries()) {
      const task = this.tasks[i] as Task;
      this.start(task, spec.run, () => undefined);
      await this.settled();
    }
    for (let step = 0; ; step++) {
      const enabled = this.tasks.filter((t) => t.state === 'parked').map((t) => t.id);
      if (enabled.length === 0) break;
      const chosen = this.strategy.pick(enabled, step);
      const task = this.tasks[chosen];
      if (!task || task.state !== 'parked') throw new Error(`strategy chose task ${chosen}, which is not waiting (enabled: ${enabled.join(',')})`);
      this.trace.push({ task: chosen, enabled, label: task.label });
      const resume = task.resume;
      task.state = 'running';
      task.resume = undefined;
      resume?.();
      await this.settled();
    }
    return this.tasks.slice(0, specs.length).map((t) => t.result as TaskResult);
  }

  private start(task: Task, run: () => Promise<unknown>, ended: (result: TaskResult) => void): void {
    task.state = 'running';
    const done = (result: TaskResult) => {
      task.state = 'done';
      task.result = result;
      ended(result);
      this.notify();
    };
    current.run({ scheduler: this, task }, () => {
      run().then(
        (value) => done({ name: task.name, ok: true, value }),
        (error: unknown) => done({ name: task.name, ok: false, error }),
      );
    });
  }

  /**
   * Called from inside a task that runs branches at once: each becomes a task
   * (ids after the existing ones), started in order up to its first point
   * while the forking task still counts as running; then the forking task
   * waits, not schedulable, until the last branch ends.
   */
  async fork(parent: Task, branches: readonly (() => Promise<unknown>)[]): Promise<PromiseSettledResult<unknown>[]> {
    if (parent.state !== 'running') throw new Error(`task ${parent.name} forked while not running`);
    let left = branches.length;
    const ended: Promise<PromiseSettledResult<unknown>>[] = [];
    // One branch at a time up to its first point, as tasks start.
    for (const [i, run] of branches.entries()) {
      const task: Task = { id: this.tasks.length, name: `${parent.name} ${i + 1}/${branches.length}`, state: 'new', label: 'start' };
      this.tasks.push(task);
      ended.push(
        new Promise((resolve) => {
          this.start(task, run, (result) => {
            // Runnable again the moment its last branch ends, so the scheduler waits for its next point.
            if (--left === 0) parent.state = 'running';
            resolve(result.ok ? { status: 'fulfilled', value: result.value } : { status: 'rejected', reason: result.error });
          });
        }),
      );
      await this.until(() => task.state !== 'running');
    }
    if (left > 0) {
      parent.state = 'joined';
      this.notify();
    }
    return Promise.all(ended);
  }

  /** Called from inside a task at a point: waits for the scheduler's permission. */
  point(task: Task, label: string): Promise<void> {
    if (task.state !== 'running') {
      throw new Error(`task ${task.name} reached ${label} while already waiting at ${task.label}: steps run operations in parallel only through runConcurrently (prisma-free-models/operation-gate.ts)`);
    }
    return new Promise<void>((resolve) => {
      task.state = 'parked';
      task.label = label;
      task.resume = resolve;
      this.notify();
    });
  }

  /** The trace in words, one line per step: what a failing schedule did. */
  describeTrace(): string {
    return this.trace.map((s, i) => `${String(i).padStart(3)} ${this.tasks[s.task]?.name ?? s.task}: ${s.label}`).join('\n');
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Waits until no task is running: each has parked at its next point, is waiting for its branches, or has finished. */
  private settled(): Promise<void> {
    return this.until(() => !this.tasks.some((t) => t.state === 'running'));
  }

  private async until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + this.stallMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const stuck = this.tasks.filter((t) => t.state === 'running').map((t) => `${t.name} (after ${t.label})`);
        throw new SchedulerStall(`task ${stuck.join(', ')} neither reached a point nor finished within ${this.stallMs} ms\n${this.describeTrace()}`);
      }
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.waiters.add(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      if (wake) this.waiters.delete(wake);
    }
  }
}

/** A point reached from inside the current task (a no-op outside any task). */
export async function schedulingPoint(label: string): Promise<void> {
  const ctx = current.getStore();
  if (ctx) await ctx.scheduler.point(ctx.task, label);
}

const brief = (v: unknown) => {
  // Dates differ between runs of one schedule; the trace must not.
  const s =
    JSON.stringify(v, function (this: Record<string, unknown>, k: string, x: unknown) {
      return this[k] instanceof Date ? 'date' : x;
    }) ?? '';
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
};

export function describeOperation(op: Operation): string {
  return `${op.model}.${op.op} ${brief(op.filter ?? {})}${op.update ? ` ${brief(op.update)}` : ''}`;
}

/** Makes every model operation a scheduling point, and every branch of runConcurrently a task. Returns the uninstaller. */
export function installOperationGate(): () => void {
  setOperationGate((op) => (current.getStore() ? schedulingPoint(describeOperation(op)) : undefined));
  setBranchRunner((branches) => {
    const ctx = current.getStore();
    return ctx ? ctx.scheduler.fork(ctx.task, branches) : Promise.allSettled(branches.map((branch) => branch()));
  });
  return () => {
    setOperationGate(undefined);
    setBranchRunner(undefined);
  };
}

/** An HTTP client for the Stripe SDK whose every request is a scheduling point. */
/** As gatedHttpClient, but each request's answer is lost after it reached Stripe (as a timeout after Stripe acted). */
export function answerLostHttpClient(): Stripe.HttpClient {
  const gated = gatedHttpClient();
  const lost = Object.create(gated) as Stripe.HttpClient;
  lost.makeRequest = async (...args: Parameters<Stripe.HttpClient['makeRequest']>) => {
    await gated.makeRequest(...args);
    throw Object.assign(new Error('the answer was lost (timed out after the request reached Stripe)'), { code: 'ETIMEDOUT' });
  };
  return lost;
}

export function gatedHttpClient(): Stripe.HttpClient {
  const inner = Stripe.createNodeHttpClient();
  const gated = Object.create(inner) as Stripe.HttpClient;
  gated.makeRequest = async (...args: Parameters<Stripe.HttpClient['makeRequest']>) => {
    const [, , path, method] = args;
    await schedulingPoint(`Stripe ${method} ${path.split('?')[0] ?? path}`);
    return inner.makeRequest(...args);
  };
  return gated;
}
