/**
 * Waiting for an order to move on, instead of polling it: answer at once if
 * the order is no longer as the caller last saw it, else wait for a change
 * notification (order-changes.ts) and answer the new view, or "unchanged" at
 * the timeout. The order is always read from MongoDB by _id, through the
 * same owner check as orders.get; a notification only says when to read.
 *
 * A caller that waits for particular states (`until`: a buyer who paid waits
 * for CONFIRMED, not for PAID on the way) is answered only once the order is
 * in one of them, or in a state from which none of them can be reached any
 * more: the moves in between wake the wait and are read here, instead of
 * costing the caller an answer and a new call each.
 */
import type { OrderView } from './order-view';
import { getOrderForOwner } from './order-view';
import type { OrderWaiters } from './order-changes';
import { reachableFrom } from './state-machine';
import type { OrderState } from './states';

/** What the caller last saw: every transition changes the state and lengthens the history. */
export interface SeenOrder {
  state: OrderState;
  historyLength: number;
}

export type OrderChange =
  | { changed: true; order: OrderView }
  /** busy: this process holds its maximum of waiters and did not wait; poll a little later. */
  | { changed: false; order: null; busy: boolean };

export async function waitForOrderChange(
  orderId: string,
  accessToken: string,
  seen: SeenOrder,
  timeoutMs: number,
  deps: { waiters: OrderWaiters; signal?: AbortSignal },
  until?: readonly OrderState[],
): Promise<OrderChange> {
  const awaited = (state: OrderState) => !until || until.includes(state) || !until.some((s) => reachableFrom(state).has(s));
  const moved = (view: OrderView) => (view.state !== seen.state || view.history.length !== seen.historyLength) && awaited(view.state);
  let signalled = false;
  let wake: (() => void) | null = null;
  // Registered before the first read, so a change landing between that read
  // and the wait still wakes it.
  const unregister = deps.waiters.register(orderId, () => {
    signalled = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  deps.signal?.addEventListener('abort', onAbort);
  try {
    const deadline = Date.now() + timeoutMs;
    await deps.waiters.ready(Math.min(timeoutMs, 1_000));
    let view = await getOrderForOwner(orderId, accessToken);
    for (;;) {
      if (moved(view)) return { changed: true, order: view };
      if (!unregister) return { changed: false, order: null, busy: true };
      const left = deadline - Date.now();
      if (left <= 0 || deps.signal?.aborted) return { changed: false, order: null, busy: false };
      if (!signalled) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = null;
      }
      signalled = false;
      // Woken, or at the timeout: read once more (a lost notification only costs the wait).
      view = await getOrderForOwner(orderId, accessToken);
    }
  } finally {
    unregister?.();
    deps.signal?.removeEventListener('abort', onAbort);
  }
}
