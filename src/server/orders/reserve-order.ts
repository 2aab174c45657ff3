/**
 * Reservation step: CREATED -> INVENTORY_RESERVED, or CREATED -> REJECTED
 * when any line cannot be held (all lines or none).
 *
 * Safe to run any number of times: holds are keyed by order, so a retry after
 * a crash between "stock held" and "state written" finds its holds and only
 * writes the state.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import type { Deps } from '../deps';
import { releaseLines, reserveLines } from '../inventory/stock';
import { logger } from '../logger';
import { transition } from './state-machine';

export type StepOutcome = 'applied' | 'already-done' | 'refused' | 'skipped';

export async function reserveOrder(orderId: string, deps: Pick<Deps, 'enqueuer'>): Promise<StepOutcome> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order) {
    logger.warn({ orderId, action: 'reserve', outcome: 'skipped' }, 'reservation for a missing order');
    return 'skipped';
  }
  if (order.state !== 'CREATED') {
    if (order.state === 'INVENTORY_RESERVED') await deps.enqueuer.requestPayment(orderId);
    logger.info({ orderId, state: order.state, action: 'reserve', outcome: 'already-done' }, 'reservation already done');
    return 'already-done';
  }

  const result = await reserveLines(orderId, order.lines);
  if (!result.ok) {
    const rejected = await transition(orderId, {
      from: 'CREATED',
      to: 'REJECTED',
      set: { rejection: { reason: result.reason, sku: result.sku } },
      detail: `${result.reason} ${result.sku}`,
    });
    return rejected.outcome;
  }

  const reserved = await transition(orderId, { from: 'CREATED', to: 'INVENTORY_RESERVED' });
  if (reserved.outcome === 'refused') {
    // Someone else moved the order meanwhile (e.g. rejected by a racing retry):
    // the holds we just took belong to no live reservation, give them back.
    await releaseLines(orderId, order.lines);
    return 'refused';
  }
  await deps.enqueuer.requestPayment(orderId);
  return reserved.outcome;
}
