/**
 * Changes that happen some time after the API call that set them in motion,
 * as with Stripe's asynchronous test cards: pm_card_refundFail's refund
 * failing, pm_card_createDispute's dispute opening. "Some time" is the
 * `asyncDelayMs` switch, so tests know how long to wait.
 *
 * Each change is a small record with a due time, saved with the rest of the
 * state: after a restart it still happens (at once, if it fell due while the
 * simulator was down). Timers only run between start() and stop(), so a
 * restored simulator acts once it is listening and its answers can be read.
 */
import { newId } from './ids';
import type { Logger } from './webhooks';

export type ScheduledChange =
  | { id: string; kind: 'refund.fail'; refundId: string; dueAt: number; apiVersion: string }
  | { id: string; kind: 'dispute.open'; chargeId: string; dueAt: number; apiVersion: string };

type WithoutTiming<T> = T extends unknown ? Omit<T, 'id' | 'dueAt'> : never;
export type ScheduledChangeInput = WithoutTiming<ScheduledChange>;

export interface SchedulerDeps {
  /** Milliseconds from now until a new change is due (the `asyncDelayMs` switch). */
  delayMs: () => number;
  apply: (change: ScheduledChange) => void;
  /** The state file records a change being scheduled (done=false) and having happened (done=true). */
  changed: (change: ScheduledChange, done: boolean) => void;
  log: Logger;
}

export class Scheduler {
  private readonly due = new Map<string, ScheduledChange>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly deps: SchedulerDeps) {}

  schedule(input: ScheduledChangeInput): void {
    const change = { ...input, id: newId.scheduledChange(), dueAt: Date.now() + this.deps.delayMs() };
    this.due.set(change.id, change);
    this.deps.changed(change, false);
    if (this.running) this.arm(change);
  }

  /** Puts back changes read from the state file; they run after start(). */
  restore(changes: Iterable<ScheduledChange>): void {
    for (const change of changes) this.due.set(change.id, change);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const change of this.due.values()) this.arm(change);
  }

  list(): ScheduledChange[] {
    return [...this.due.values()].map((c) => ({ ...c }));
  }

  /** Stops the timers; the changes stay due (and saved) for the next start. */
  stop(): void {
    this.running = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wake();
  }

  /** Forgets every change. */
  reset(): void {
    const wasRunning = this.running;
    this.stop();
    this.due.clear();
    this.running = wasRunning;
  }

  /** Resolves true once nothing is due, false if that takes longer than timeoutMs (or the scheduler is stopped). */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.due.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }

  private arm(change: ScheduledChange): void {
    const timer = setTimeout(() => this.fire(change), Math.max(0, change.dueAt - Date.now()));
    this.timers.set(change.id, timer);
  }

  private fire(change: ScheduledChange): void {
    this.timers.delete(change.id);
    if (!this.due.has(change.id)) return;
    try {
      this.deps.apply(change);
    } catch (err) {
      this.deps.log('simulator bug: scheduled change failed', { change, error: String(err) });
    }
    this.due.delete(change.id);
    this.deps.changed(change, true);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
