/**
 * Reservation step: CREATED -> INVENTORY_RESERVED, or CREATED -> REJECTED
 * when any line cannot be held (all lines or none).
 *
 * Safe to run any number of times and to be killed anywhere: holds are keyed
 * by order and reservation, so a retry after a crash between "stock held" and
 * "state written" finds its holds and only writes the state; a retry that
 * finds the order closed meanwhile gives back what it took.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import type { Deps } from '../deps';
import { FIRST_HOLD_REF, releaseLines, reserveLines } from '../inventory/stock';
import { logger } from '../logger';
import { transition } from './state-machine';
import { HOLDING_STATES } from './states';

export type StepOutcome = 'applied' | 'already-done' | 'refused' | 'skipped';

/** What comes after a reservation: the payment request and the expiry timer. */
async function scheduleAfterReservation(order: Pick<OrderDoc, '_id' | 'holdExpiresAt'>, deps: Pick<Deps, 'enqueuer'>): Promise<void> {
  await deps.enqueuer.requestPayment(order._id);
  if (order.holdExpiresAt) await deps.enqueuer.expireAt(order._id, order.holdExpiresAt);
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

  const result = await reserveLines(orderId, FIRST_HOLD_REF, order.lines);
  crashPoint('reserve:after-holds');
  if (!result.ok) {
    const rejected = await transition(orderId, {
      from: 'CREATED',
      to: 'REJECTED',
      set: { rejection: { reason: result.reason, sku: result.sku } },
      detail: `${result.reason} ${result.sku}`,
    });
    return rejected.outcome;
  }

  const reserved = await transition(orderId, {
    from: 'CREATED',
    to: 'INVENTORY_RESERVED',
    set: { holdExpiresAt: new Date(Date.now() + deps.holdTimeMs) },
  });
  const now = reserved.order;
  if (!now || !HOLDING_STATES.has(now.state)) {
    // The order was closed meanwhile (cancelled): the holds we just took
    // belong to no live reservation, give them back.
    await releaseLines(orderId, FIRST_HOLD_REF, order.lines);
    return 'refused';
  }
  if (now.state === 'INVENTORY_RESERVED') await scheduleAfterReservation(now, deps);
  return reserved.outcome;
}
