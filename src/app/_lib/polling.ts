/**
 * How often the order page asks for the order: often while something is
 * happening, less and less while nothing changes, never once nothing more
 * can change. The delay depends only on how long ago the order last changed
 * (not on how many polls ran), so evaluating it any number of times gives the
 * same answer; the buyer paying, or the hold running out, counts as a change.
 */
import type { OrderState } from '../../server/orders/states';

export const POLL = { fastMs: 1_000, maxMs: 10_000, closedMs: 15_000 } as const;

/** Nothing changes these any more. */
const SETTLED: ReadonlySet<OrderState> = new Set(['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH']);
/** Closed for the buyer, but a payment made at the last moment can still arrive and be honoured or refunded. */
const CLOSED_UNPAID: ReadonlySet<OrderState> = new Set(['CANCELLED', 'EXPIRED']);

/** Milliseconds until the next poll, or false to stop. */
export function nextPollDelay(state: OrderState, msSinceChange: number): number | false {
  if (SETTLED.has(state)) return false;
  if (CLOSED_UNPAID.has(state)) return POLL.closedMs;
  // A quarter of the quiet time so far: 1 s for the first few seconds, 10 s after 40 s.
  return Math.min(POLL.maxMs, Math.max(POLL.fastMs, Math.round(msSinceChange / 4)));
}
