/**
 * When the order page reads its order, besides waiting for transitions
 * (orders.waitForChange, which answers the moment the state machine moves
 * the order). A wait reports transitions only, and a declined attempt
 * recorded on the order, a payment event processed or a refund's status are
 * none, so the page also reads the order (orders.get) where those matter:
 * now and then while it can be paid, often for a little while after the
 * buyer's attempt failed, and while an event shown on a settled order is
 * being processed.
 * When waiting fails (the server busy, the network, a 5xx or 429), the page
 * polls with a jittered back-off instead. All pure: the caller brings the
 * clock and the dice.
 */
import type { OrderView } from './order-words';
import { TERMINAL_STATES } from '../../server/orders/states';

export const FOLLOW = {
  /** The longest wait of one orders.waitForChange call (the server's maximum). */
  waitMs: 25_000,
  /** While the order can be paid: a declined attempt is recorded without a transition. */
  payableRefreshMs: 20_000,
  /** Quick reads start this often, and back off to at most `quickMaxMs`. */
  quickMs: 1_000,
  quickMaxMs: 10_000,
  /** After the buyer's failed attempt, how long its outcome is looked for. */
  attemptWindowMs: 20_000,
  /** In a terminal state, how long an event still being processed is waited for. */
  eventGraceMs: 60_000,
  /** The back-off when waiting fails: from `quickMs`, doubling, to at most this. */
  retryMaxMs: 10_000,
} as const;

/** States whose page reads the order now and then: payment can still fail, without a transition. */
const PAYABLE = new Set<OrderView['state']>(['PAYMENT_PENDING']);

/** What the page shows that can change, with or without a transition: a change of it is "the order moved". */
export const signatureOf = (o: OrderView): string =>
  [
    o.state,
    o.history.length,
    o.paymentEvents.map((e) => e.outcome ?? '-').join(','),
    o.payment.lastError?.code ?? '',
    o.refund?.status ?? '',
    o.dispute?.status ?? '',
  ].join('|');

const eventBeingProcessed = (o: OrderView) => o.paymentEvents.some((e) => e.outcome === null);

/** A quarter of the time since something happened: 1 s for the first few seconds, 10 s after 40 s. */
const quickDelay = (msSince: number) => Math.min(FOLLOW.quickMaxMs, Math.max(FOLLOW.quickMs, Math.round(msSince / 4)));

/**
 * Nothing the page shows can change any more: stop following. A terminal
 * state, once the events it shows were processed (or after a grace period,
 * so a stuck event does not keep the page asking forever).
 */
export function isSettled(o: OrderView, msSinceChange: number): boolean {
  return TERMINAL_STATES.has(o.state) && (!eventBeingProcessed(o) || msSinceChange >= FOLLOW.eventGraceMs);
}

/**
 * Milliseconds from now until the page should read the order although no
 * transition woke it, or null when only a transition can change what it
 * shows. `msSinceAttempt`: since the buyer's last failed attempt to pay (null: none).
 */
export function refreshDelay(o: OrderView, msSinceChange: number, msSinceAttempt: number | null): number | null {
  const delays: number[] = [];
  if (msSinceAttempt !== null && msSinceAttempt < FOLLOW.attemptWindowMs) delays.push(quickDelay(msSinceAttempt));
  // Elsewhere the next transition brings the processed event along.
  if (TERMINAL_STATES.has(o.state) && eventBeingProcessed(o)) delays.push(quickDelay(msSinceChange));
  if (PAYABLE.has(o.state)) delays.push(FOLLOW.payableRefreshMs);
  return delays.length > 0 ? Math.min(...delays) : null;
}

/** The pause before polling again after `failures` failed waits or reads in a row (1 or more): jittered, so pages do not return together. */
export function retryDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(FOLLOW.retryMaxMs, FOLLOW.quickMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** A scheduled read spread by ±20 %, so pages opened together do not read together. */
export const jittered = (ms: number, random: () => number = Math.random): number => Math.round(ms * (0.8 + random() * 0.4));
