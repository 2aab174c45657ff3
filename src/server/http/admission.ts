/**
 * Admission: how many API calls one web process runs at once.
 *
 * Under a spike beyond what the machine can serve, letting every call start
 * shares the CPU and the database pool among all of them: each takes longer,
 * clients time out and retry, and for a while nobody is answered at all. Here
 * at most `maxRunning` calls run; up to `maxQueued` more wait their turn, the
 * later steps of a purchase first (following an order already placed, then
 * checkout, then changes to a cart, then opening a cart and browsing) and in
 * arrival order within a step.
 * A waiting call costs an idle connection, not CPU, so the queue is long and
 * every call that waits is served in turn. Anything beyond, or still waiting
 * after `maxWaitMs`, is answered at once with BUSY and a Retry-After of about
 * the time the queue takes to drain at the rate calls are finishing, so
 * refused clients come back when there is room rather than in a storm of
 * retries. A refused call did nothing, so the client sends it again as it was
 * (the same Idempotency-Key for placeOrder). A call whose client went away
 * while it waited is dropped without running.
 *
 * When the queue is full, a call of a later step of a purchase (checkout)
 * refuses the newest waiting call of an earlier step (a cart, browsing)
 * instead of being refused itself: buyers who are paying are served before
 * new carts are opened.
 *
 * A running call that waits on another service (the checkout asking Stripe
 * for its PaymentIntent, a few hundred ms with Stripe itself) gives its slot
 * back for the wait (outsideAdmission) and takes the next free one after it,
 * ahead of every waiting call: the slots bound the work this process does at
 * once, not the answers it awaits from elsewhere.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DomainError } from '../errors';

/** Lower runs first. */
export type AdmissionPriority = 0 | 1 | 2 | 3;
const PRIORITIES = 4;

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

/** Bounds of the Retry-After a refused caller is given, in seconds. */
const MIN_RETRY_AFTER_S = 1;
const MAX_RETRY_AFTER_S = 30;

/** The admitted call the current code belongs to. */
interface Turn {
  away<T>(wait: () => Promise<T>): Promise<T>;
}

// One store per process even if a bundler evaluates this module twice: the
// tRPC middleware and the Stripe client must see the same one.
const TURNS_KEY = Symbol.for('resilient-orders.admission-turn');
const globals = globalThis as typeof globalThis & { [TURNS_KEY]?: AsyncLocalStorage<Turn> };
const turns = (globals[TURNS_KEY] ??= new AsyncLocalStorage<Turn>());

/**
 * Runs `wait`, a wait on another service, without the admitted call's slot
 * (see above); outside an admitted call it just runs it.
 */
export function outsideAdmission<T>(wait: () => Promise<T>): Promise<T> {
  const turn = turns.getStore();
  return turn ? turn.away(wait) : wait();
}

export function busyError(retryAfterSeconds = MIN_RETRY_AFTER_S): DomainError {
  return new DomainError('BUSY', 'The shop is at capacity right now; nothing was done. Send the same request again after the Retry-After delay', {
    retryAfterSeconds,
  });
}

export class Admission {
  private running = 0;
  private waiting = 0;
  private readonly queues: Waiter[][] = Array.from({ length: PRIORITIES }, () => []);
  /** Calls back from a wait outside, in the order they came back: admitted before any queue. */
  private readonly returning: Waiter[] = [];
  /** Calls finished in the current second and in the one before: the drain rate. */
  private finished = { second: 0, count: 0, previous: 0 };

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
    let holding = true;
    let over = false;
    const turn: Turn = {
      away: async (wait) => {
        // A second wait of the same call, at the same time: the slot is already given back.
        if (!holding) return wait();
        holding = false;
        this.giveBack();
        try {
          return await wait();
        } finally {
          // A call already answered (it did not await this wait) needs no slot back.
          if (!over) {
            await this.takeBack();
            if (over) this.giveBack();
            else holding = true;
          }
        }
      },
    };
    try {
      return await turns.run(turn, call);
    } finally {
      over = true;
      this.countFinished();
      if (holding) this.giveBack();
    }
  }

  private giveBack(): void {
    this.running -= 1;
    this.admitNext();
  }

  /** The slot back after a wait outside: the next free one, before any waiting call, never refused. */
  private takeBack(): Promise<void> {
    if (this.running < this.settings.maxRunning) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        done: false,
        admit: () => {
          waiter.done = true;
          this.waiting -= 1;
          resolve();
        },
        refuse: () => undefined,
      };
      this.returning.push(waiter);
      this.waiting += 1;
    });
  }

  private countFinished(): void {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.finished.second) {
      this.finished = { second, count: 0, previous: second === this.finished.second + 1 ? this.finished.count : 0 };
    }
    this.finished.count += 1;
  }

  /** About how long the calls waiting now take to drain, at the rate calls finished in the last second. */
  private refusal(): DomainError {
    const perSecond = Math.max(this.finished.previous, this.finished.count, 1);
    return busyError(Math.min(MAX_RETRY_AFTER_S, Math.max(MIN_RETRY_AFTER_S, Math.ceil(this.waiting / perSecond))));
  }

  private wait(priority: AdmissionPriority, signal?: AbortSignal): Promise<void> {
    if (this.waiting >= this.settings.maxQueued && !this.refuseLowerPriority(priority)) {
      this.observe('refused', priority);
      return Promise.reject(this.refusal());
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
      const timer = setTimeout(() => waiter.refuse(this.refusal()), this.settings.maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queues[priority]?.push(waiter);
      this.waiting += 1;
    });
  }

  /** Makes room by refusing the newest waiter of a lower priority (an earlier step of a purchase), if there is one. */
  private refuseLowerPriority(priority: AdmissionPriority): boolean {
    for (let p = PRIORITIES - 1; p > priority; p--) {
      const queue = this.queues[p] ?? [];
      while (queue.length > 0) {
        const victim = queue.pop() as Waiter;
        if (victim.done) continue;
        victim.refuse(this.refusal());
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
    const back = this.returning.shift();
    if (back) return back;
    for (const queue of this.queues) {
      while (queue.length > 0) {
        const waiter = queue.shift() as Waiter;
        if (!waiter.done) return waiter;
      }
    }
    return undefined;
  }
}

const OPENING_A_CART = new Set(['cart.create', 'cart.createWithLines']);

/**
 * Which step of a purchase a tRPC procedure belongs to, or null for calls not
 * admitted here: long waits for an order's change hold no work while they
 * wait (orders.waitForChange has its own cap), and the operator console must
 * work during a spike.
 */
export function admissionPriority(path: string): AdmissionPriority | null {
  if (path === 'orders.waitForChange' || path.startsWith('admin.')) return null;
  // An order already placed: its buyer holds stock or has paid, and only
  // reads or cancels it. In a crowd of checkouts it must not wait its turn
  // behind them: a paid buyer would wait for CONFIRMED as long as the queue.
  if (path.startsWith('orders.')) return 0;
  if (path.startsWith('checkout.')) return 1;
  // Opening a cart (empty or with its first lines) is where a visit starts: it waits behind the buyers already shopping.
  if (path.startsWith('cart.') && !OPENING_A_CART.has(path)) return 2;
  return 3;
}
