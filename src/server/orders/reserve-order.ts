/**
 * Reservation step: CREATED -> INVENTORY_RESERVED, or CREATED -> REJECTED
 * when any line cannot be held (all lines or none).
 *
 * Safe to run any number of times, concurrently with itself, and to be killed
 * anywhere: holds are keyed by order and reservation, so a retry after a crash
 * between "stock held" and "state written" finds its holds and only writes
 * the state. Stock is given back only after the order says so: a run that
 * fails writes REJECTED (with the give-back recorded as pending work) before
 * releasing anything, so a twin run that reserved meanwhile keeps its holds;
 * a run that finds the order closed meanwhile gives back what it took.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import type { Deps } from '../deps';
import { FIRST_HOLD_REF, releaseLines, reserveLines } from '../inventory/stock';
import { releasePendingHolds } from './close-order';
import { logger } from '../logger';
import { countReservation } from '../metrics/domain-metrics';
import { transition } from './state-machine';
import { HOLDING_STATES, type OrderState } from './states';

export type StepOutcome = 'applied' | 'already-done' | 'refused' | 'skipped';

/**
 * What comes after a reservation: the payment request and the expiry timer.
 * `first`: this run made the order INVENTORY_RESERVED (it happens once per
 * order), so neither job can have run yet (queues.ts EnqueueOptions).
 */
async function scheduleAfterReservation(
  order: Pick<OrderDoc, '_id' | 'holdExpiresAt'>,
  deps: Pick<Deps, 'enqueuer'>,
  { first = false, payment: withPayment = true }: { first?: boolean; payment?: boolean } = {},
): Promise<void> {
  const opts = { first };
  const expiry = order.holdExpiresAt ? deps.enqueuer.expireAt(order._id, order.holdExpiresAt, opts) : undefined;
  // Both sent before either answer is awaited; each settles on its own (neither rejection is left unhandled).
  const [payment, timer] = await Promise.allSettled([withPayment ? deps.enqueuer.requestPayment(order._id, opts) : undefined, expiry]);
  if (payment.status === 'rejected') throw payment.reason;
  if (timer.status === 'rejected') throw timer.reason;
}

export async function reserveOrder(orderId: string, deps: Pick<Deps, 'enqueuer' | 'holdTimeMs'>): Promise<StepOutcome> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order) {
    logger.warn({ orderId, action: 'reserve', outcome: 'skipped' }, 'reservation for a missing order');
    return 'skipped';
  }
  if (order.state !== 'CREATED') {
    if (order.state === 'INVENTORY_RESERVED') await scheduleAfterReservation(order, deps);
    // A crashed earlier attempt may have taken stock for an order closed since.
    if (!HOLDING_STATES.has(order.state)) await releaseLines(orderId, FIRST_HOLD_REF, order.lines);
    logger.info({ orderId, state: order.state, action: 'reserve', outcome: 'already-done' }, 'reservation not needed');
    return 'already-done';
  }
  return (await reserveCreatedOrder(order, deps)).outcome;
}

/**
 * The reservation of an order read in CREATED, without reading it again:
 * placeOrder calls it on the order it has just written, the job on the order
 * it has read. Returns the state it left the order in (null: gone).
 *
 * `payHere`: the caller requests the payment itself right after (placeOrder).
 * A reservation this run applies then writes the payment step's mark
 * (`paymentRequestedAt`, request-payment.ts) with the state, enqueues only
 * the expiry, and returns the reserved order as `payNext`: the caller owes
 * the payment request, and enqueues the job if it cannot make it. A crash
 * before either leaves the order INVENTORY_RESERVED and listed, and the
 * reconciler enqueues the job. Any other outcome schedules as usual.
 */
export async function reserveCreatedOrder(
  order: Pick<OrderDoc, '_id' | 'lines'>,
  deps: Pick<Deps, 'enqueuer' | 'holdTimeMs'>,
  { payHere = false }: { payHere?: boolean } = {},
): Promise<{ outcome: StepOutcome; state: OrderState | null; payNext?: OrderDoc }> {
  const orderId = order._id;
  const result = await reserveLines(orderId, FIRST_HOLD_REF, order.lines);
  countReservation(result);
  crashPoint('reserve:after-holds');
  // Decide first, give back after. A failed run records the rejection (and
  // the give-back as pending work) before releasing anything, so a twin run
  // that reserved meanwhile keeps its holds: they are the order's, not a run's.
  const moved = result.ok
    ? await transition(orderId, {
        from: 'CREATED',
        to: 'INVENTORY_RESERVED',
        set: { holdExpiresAt: new Date(Date.now() + deps.holdTimeMs), ...(payHere ? { paymentRequestedAt: new Date() } : {}) },
      })
    : await transition(orderId, {
        from: 'CREATED',
        to: 'REJECTED',
        set: { rejection: { reason: result.reason, sku: result.sku }, pendingRelease: FIRST_HOLD_REF },
        detail: `${result.reason} ${result.sku}`,
      });
  if (moved.outcome === 'applied') {
    if (!result.ok) {
      await releasePendingHolds(orderId);
      return { outcome: 'applied', state: moved.order.state };
    }
    await scheduleAfterReservation(moved.order, deps, { first: true, payment: !payHere });
    return { outcome: 'applied', state: moved.order.state, ...(payHere ? { payNext: moved.order } : {}) };
  }
  // Another run decided first (a twin, the customer's cancel). The order's
  // state says whether it may hold what this run took: a closed or rejected
  // order must not (it may have released its holds before this run took them).
  const now = moved.order;
  if (!now || !HOLDING_STATES.has(now.state)) await releaseLines(orderId, FIRST_HOLD_REF, order.lines);
  else if (now.state === 'INVENTORY_RESERVED') await scheduleAfterReservation(now, deps);
  return { outcome: moved.outcome, state: now?.state ?? null };
}
