/**
 * Follows an order until it satisfies a condition, with long-lived
 * orders.waitForChange calls instead of a request every few hundred
 * milliseconds: each call returns as soon as the order moves on (or after
 * `waitMs` unchanged, when it is simply asked again). When the server keeps
 * too many callers waiting it answers `busy` at once, and this polls every
 * `pollMs` until it has room again.
 */
import type { inferRouterOutputs } from '@trpc/server';
import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '../server/api/root';

type OrderView = inferRouterOutputs<AppRouter>['orders']['get'];

/** The order as waitForChange compares it: every transition changes the state and lengthens the history. */
export type SeenOrder = { state: OrderView['state']; historyLength: number };

export const seenOf = (view: Pick<OrderView, 'state' | 'history'>): SeenOrder => ({ state: view.state, historyLength: view.history.length });

export interface FollowOrderOptions {
  /** The order as last seen (`seenOf` a view the caller already has); without it the order is read first. */
  seen?: SeenOrder;
  /** Give up (throw) after this long; default: never. */
  timeoutMs?: number;
  /** How long one call may wait on the server (at most 25 s). */
  waitMs?: number;
  /** The pause between calls while the server answers busy. */
  pollMs?: number;
  /**
   * The states `done` waits for, when it waits for particular ones: each call
   * is then answered only in one of them (or once none can be reached), not
   * at every move on the way.
   */
  until?: OrderView['state'][];
}

export async function followOrder(
  api: TRPCClient<AppRouter>,
  order: { orderId: string; accessToken: string },
  done: (view: OrderView) => boolean,
  opts: FollowOrderOptions = {},
): Promise<OrderView> {
  // Only these two: the caller may pass placeOrder's whole answer, and inputs are strict.
  const owner = { orderId: order.orderId, accessToken: order.accessToken };
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  const waitMs = opts.waitMs ?? 25_000;
  let view: OrderView | null = null;
  let seen = opts.seen ?? null;
  if (!seen) {
    view = await api.orders.get.query(owner);
    seen = seenOf(view);
  }
  while (!view || !done(view)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`order ${order.orderId} did not get there in time; last state ${seen.state}`);
    const answer = await api.orders.waitForChange.query({
      ...owner,
      seen,
      timeoutMs: Math.max(0, Math.min(waitMs, left)),
      ...(opts.until ? { until: opts.until } : {}),
    });
    if (answer.changed) {
      view = answer.order;
      seen = seenOf(view);
    } else if (answer.busy) {
      await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 250));
    }
  }
  return view;
}
