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
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Stripe from 'stripe';
import { setOperationGate, type Operation } from '../../prisma-free-models/operation-gate';

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
  state: 'running' | 'parked' | 'done';
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
  private wake: (() => void) | undefined;

  constructor(
    private readonly strategy: Strategy,
    /** A task that neither reaches a point nor finishes within this is stuck on something outside the scheduler. */
    private readonly stallMs = 15_000,
  ) {}

  /** Runs the tasks to completion, one point at a time, and returns each one's result in order. */
  async run(specs: readonly TaskSpec[]): Promise<TaskResult[]> {
    this.tasks = specs.map((s, id) => ({ id, name: s.name, state: 'running', label: 'start' }));
    // Tasks start one after another, each up to its first point, so even the
    // code before the first operation runs in a fixed order.
    for (const [i, spec] of specs.entries()) {
      const task = this.tasks[i] as Task;
      const done = (result: TaskResult) => {
        task.state = 'done';
        task.result = result;
        this.notify();
      };
      current.run({ scheduler: this, task }, () => {
        spec.run().then(
          (value) => done({ name: task.name, ok: true, value }),
          (error: unknown) => done({ name: task.name, ok: false, error }),
        );
      });
      await this.settled(task);
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
      await this.settled(task);
    }
    return this.tasks.map((t) => t.result as TaskResult);
  }

  /** Called from inside a task at a point: waits for the scheduler's permission. */
  point(task: Task, label: string): Promise<void> {
    if (task.state !== 'running') {
      throw new Error(`task ${task.name} reached ${label} while already waiting at ${task.label}: steps must not run database operations in parallel`);
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
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits until the task has parked at its next point or finished. */
  private async settled(task: Task): Promise<void> {
    const deadline = Date.now() + this.stallMs;
    while (task.state === 'running') {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new SchedulerStall(`task ${task.name} neither reached a point nor finished within ${this.stallMs} ms after ${task.label}\n${this.describeTrace()}`);
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
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

/** Makes every model operation a scheduling point. Returns the uninstaller. */
export function installOperationGate(): () => void {
  setOperationGate((op) => (current.getStore() ? schedulingPoint(describeOperation(op)) : undefined));
  return () => setOperationGate(undefined);
}

/** An HTTP client for the Stripe SDK whose every request is a scheduling point. */
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
