/**
 * Following an order from its page: one request at a time, mostly a long
 * orders.waitForChange that the server answers the moment a transition is
 * applied, asked again with what was last seen (the protocol of
 * src/trpc/follow-order.ts); reads with orders.get where changes that are no
 * transition matter (_lib/follow-schedule.ts). When waiting fails (busy,
 * network, 5xx, 429) it polls with orders.get on a jittered back-off and
 * waits again once a wait succeeds. Nothing while the tab is hidden or
 * offline (the order is read again on return); it stops for good once
 * nothing can change, or when stopped (the page unmounts, another order).
 */
import { isTRPCClientError, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '../../../server/api/root';
import { seenOf } from '../../../trpc/follow-order';
import { FOLLOW, isSettled, jittered, refreshDelay, retryDelay, signatureOf } from '../../_lib/follow-schedule';
import type { OrderView } from '../../_lib/order-words';

/** Time for an answer beyond the wait itself, before the request counts as lost (a proxy that never answers). */
const ANSWER_GRACE_MS = 10_000;

export interface FollowerCallbacks {
  /** The view the page shows now (also changed by others, e.g. the first load). */
  current(): OrderView | undefined;
  show(view: OrderView): void;
  /** True while following fails and the page may be behind; false once it works again. */
  onTrouble(trouble: boolean): void;
  /** The server refused the order (a 4xx: wrong token, unknown order): following stops. */
  onRefused(err: unknown): void;
}

export interface OrderFollower {
  /** Read the order now (the buyer paid, the hold ran out). */
  refresh(): void;
  /** The buyer's attempt failed: its outcome is recorded without a transition, so read it soon and often. */
  attemptFailed(): void;
  stop(): void;
}

/** What a failed request says: whether asking again can help, and how long the server asked us to wait. */
function failureOf(err: unknown): { refused: boolean; retryAfterMs: number } {
  const data = isTRPCClientError(err) ? (err.data as { httpStatus?: number; retryAfterSeconds?: number | null } | undefined) : undefined;
  const status = data?.httpStatus;
  return {
    // A 4xx other than 408/429 (wrong token, unknown order) will not get better.
    refused: status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429,
    retryAfterMs: (data?.retryAfterSeconds ?? 0) * 1000,
  };
}

/** The request or pause in progress was cut short on purpose (refresh, hidden tab, stop). */
class Interrupted extends Error {}

const pageActive = () => document.visibilityState !== 'hidden' && navigator.onLine;

export function followOrderPage(api: TRPCClient<AppRouter>, owner: { orderId: string; accessToken: string }, cb: FollowerCallbacks): OrderFollower {
  let stopped = false;
  /** Set by refresh() and on the tab's return: read before waiting again. */
  let readNow = false;
  /** Failed waits or reads (or busy answers) in a row; a wait the server served resets it. */
  let failures = 0;
  let notBeforeMs = 0;
  let attemptAt: number | null = null;
  let attemptSignature = '';
  let changedAt = Date.now();
  let lastSignature = '';
  /** Cuts short the request or pause in progress; the loop then looks at the flags again. */
  let interrupt: (() => void) | null = null;
  const poke = () => interrupt?.();

  /** Notes when the page's view last changed, and ends a failed attempt's window once its outcome shows. */
  function note(view: OrderView) {
    const sig = signatureOf(view);
    if (sig !== lastSignature) {
      lastSignature = sig;
      changedAt = Date.now();
    }
    if (attemptAt !== null && (sig !== attemptSignature || Date.now() - attemptAt >= FOLLOW.attemptWindowMs)) attemptAt = null;
  }

  /** One request that interrupt() aborts (rejecting with Interrupted), and that gives up after `limitMs`. */
  async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>, limitMs: number): Promise<T> {
    const controller = new AbortController();
    let interrupted = false;
    const timer = setTimeout(() => controller.abort(), limitMs);
    interrupt = () => {
      interrupted = true;
      controller.abort();
    };
    try {
      return await run(controller.signal);
    } catch (err) {
      throw interrupted ? new Interrupted() : err;
    } finally {
      clearTimeout(timer);
      interrupt = null;
    }
  }

  /** A pause that interrupt() ends early. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        interrupt = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interrupt = done;
    });

  /** Until the tab is visible and online again (or stopped). */
  const untilActive = () =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!stopped && !pageActive()) return;
        document.removeEventListener('visibilitychange', check);
        window.removeEventListener('online', check);
        interrupt = null;
        resolve();
      };
      document.addEventListener('visibilitychange', check);
      window.addEventListener('online', check);
      interrupt = check;
    });

  async function run() {
    for (;;) {
      const view = cb.current();
      if (stopped || !view) return;
      note(view);
      if (isSettled(view, Date.now() - changedAt)) return;
      if (!pageActive()) {
        await untilActive();
        readNow = true;
        continue;
      }
      let step: 'read' | 'wait' = 'read';
      try {
        if (failures > 0) {
          await pause(Math.max(notBeforeMs, retryDelay(failures)));
          if (stopped || !pageActive()) continue;
          // Polling while waits fail: this read keeps the page current.
          readNow = true;
        }
        if (readNow) {
          readNow = false;
          const fresh = await interruptible((signal) => api.orders.get.query(owner, { signal }), FOLLOW.waitMs);
          cb.show(fresh);
          cb.onTrouble(false);
          note(fresh);
          if (isSettled(fresh, Date.now() - changedAt)) return;
        }
        step = 'wait';
        const seen = cb.current() ?? view;
        const now = Date.now();
        const due = refreshDelay(seen, now - changedAt, attemptAt === null ? null : now - attemptAt);
        const waitMs = due === null ? FOLLOW.waitMs : Math.min(FOLLOW.waitMs, jittered(due));
        const answer = await interruptible(
          (signal) => api.orders.waitForChange.query({ ...owner, seen: seenOf(seen), timeoutMs: waitMs }, { signal }),
          waitMs + ANSWER_GRACE_MS,
        );
        cb.onTrouble(false);
        notBeforeMs = 0;
        if (answer.changed) {
          cb.show(answer.order);
          failures = 0;
        } else if (answer.busy) {
          // The server keeps as many callers waiting as it may: poll on the back-off meanwhile.
          failures += 1;
        } else {
          failures = 0;
          // Unchanged at the timeout, which was the time for a read.
          if (due !== null) readNow = true;
        }
      } catch (err) {
        if (stopped) return;
        if (err instanceof Interrupted) continue;
        const failure = failureOf(err);
        if (failure.refused && step === 'read') {
          cb.onRefused(err);
          return;
        }
        failures += 1;
        notBeforeMs = failure.retryAfterMs;
        if (step === 'read') cb.onTrouble(true);
      }
    }
  }

  const onPageChange = () => {
    if (!pageActive()) poke();
  };
  document.addEventListener('visibilitychange', onPageChange);
  window.addEventListener('offline', onPageChange);
  void run();

  return {
    refresh() {
      readNow = true;
      poke();
    },
    attemptFailed() {
      const view = cb.current();
      attemptAt = Date.now();
      attemptSignature = view ? signatureOf(view) : '';
      readNow = true;
      poke();
    },
    stop() {
      stopped = true;
      document.removeEventListener('visibilitychange', onPageChange);
      window.removeEventListener('offline', onPageChange);
      poke();
    },
  };
}
