/**
 * Admission: how many API calls one web process runs at once.
 *
 * Under a spike beyond what the machine can serve, letting every call start
 * shares the CPU and the database pool among all of them: each takes longer,
 * clients time out and retry, and for a while nobody is answered at all. Here
 * at most `maxRunning` calls run; up to `maxQueued` more wait their turn, the
 * later steps of a purchase first (checkout and orders, then carts, then
 * browsing) and in arrival order within a step; anything beyond, or still
 * waiting after `maxWaitMs`, is answered at once with BUSY and a Retry-After.
 * A refused call did nothing, so the client sends it again as it was (the same
 * Idempotency-Key for placeOrder). A call whose client went away while it
 * waited is dropped without running.
 *
 * When the queue is full, a call of an earlier step refuses the newest waiting
 * call of a later step instead of being refused itself: buyers who are paying
 * are served before new carts are opened.
 */
import { DomainError } from '../errors';

/** Lower runs first. */
export type AdmissionPriority = 0 | 1 | 2;
const PRIORITIES = 3;

export interface AdmissionSettings {
  maxRunning: number;
  maxQueued: number;
  maxWaitMs: number;
}

export type AdmissionOutcome = 'ran' | 'waited' | 'refused';

interface Waiter {
  admit: () => void;
  refuse: (err: Error) => void;
  done: boolean;
}

/** The seconds a refused caller is asked to wait: about the time the queue takes to drain. */
const RETRY_AFTER_SECONDS = 1;

export function busyError(): DomainError {
  return new DomainError('BUSY', 'The shop is at capacity right now; nothing was done. Send the same request again after the Retry-After delay', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}

export class Admission {
  private running = 0;
  private waiting = 0;
  private readonly queues: Waiter[][] = Array.from({ length: PRIORITIES }, () => []);

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly observe: (outcome: AdmissionOutcome, priority: AdmissionPriority) => void = () => undefined,
  ) {}

  /** Calls running and waiting now. */
  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting };
  }

  async run<T>(priority: AdmissionPriority, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running < this.settings.maxRunning && this.waiting === 0) {
      this.running += 1;
      this.observe('ran', priority);
    } else {
      await this.wait(priority, signal);
      this.observe('waited', priority);
    }
    try {
      return await call();
    } finally {
      this.running -= 1;
      this.admitNext();
    }
  }

  private wait(priority: AdmissionPriority, signal?: AbortSignal): Promise<void> {
    if (this.waiting >= this.settings.maxQueued && !this.refuseLaterStep(priority)) {
      this.observe('refused', priority);
      return Promise.reject(busyError());
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (err: Error) => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiting -= 1;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const waiter: Waiter = {
        done: false,
        // Called by admitNext, which has already counted the call as running.
        admit: () => {
          waiter.done = true;
          this.waiting -= 1;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: (err) => {
          this.observe('refused', priority);
          leave(err);
        },
      };
      // Nobody is left to answer; BUSY keeps it out of the internal-error log.
      const onAbort = () => leave(busyError());
      const timer = setTimeout(() => waiter.refuse(busyError()), this.settings.maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queues[priority]?.push(waiter);
      this.waiting += 1;
    });
  }

  /** Makes room by refusing the newest waiter of a later step than `priority`, if there is one. */
  private refuseLaterStep(priority: AdmissionPriority): boolean {
    for (let p = PRIORITIES - 1; p > priority; p--) {
      const queue = this.queues[p] ?? [];
      while (queue.length > 0) {
        const victim = queue.pop() as Waiter;
        if (victim.done) continue;
        victim.refuse(busyError());
        return true;
      }
    }
    return false;
  }

  private admitNext(): void {
    while (this.running < this.settings.maxRunning && this.waiting > 0) {
      const next = this.takeNext();
      if (!next) return;
      this.running += 1;
      next.admit();
    }
  }

  private takeNext(): Waiter | undefined {
    for (const queue of this.queues) {
      while (queue.length > 0) {
        const waiter = queue.shift() as Waiter;
        if (!waiter.done) return waiter;
      }
    }
    return undefined;
  }
}

/**
 * Which step of a purchase a tRPC procedure belongs to, or null for calls not
 * admitted here: long waits for an order's change hold no work while they
 * wait (orders.waitForChange has its own cap), and the operator console must
 * work during a spike.
 */
export function admissionPriority(path: string): AdmissionPriority | null {
  if (path === 'orders.waitForChange' || path.startsWith('admin.')) return null;
  if (path.startsWith('checkout.') || path.startsWith('orders.')) return 0;
  if (path.startsWith('cart.')) return 1;
  return 2;
}
