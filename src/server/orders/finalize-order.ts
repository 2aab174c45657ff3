/**
 * Finalization: PAID -> CONFIRMED, turning the order's held stock into sold
 * stock. Selling is keyed by the order's holds, so running it twice (or after
 * a crash between two lines) sells each line exactly once.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import { sellLines } from '../inventory/stock';
import { logger } from '../logger';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

export async function finalizeOrder(orderId: string): Promise<StepOutcome> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order) {
    logger.warn({ orderId, action: 'finalize', outcome: 'skipped' }, 'finalization for a missing order');
    return 'skipped';
  }
  if (order.state !== 'PAID') {
    const outcome = order.state === 'CONFIRMED' ? 'already-done' : 'refused';
    logger.info({ orderId, state: order.state, action: 'finalize', outcome }, 'finalization not applicable');
    return outcome;
  }
  const [first, ...rest] = order.lines;
  if (first) await sellLines(orderId, order.holdRef, [first]);
  crashPoint('finalize:after-first-line');
  await sellLines(orderId, order.holdRef, rest);
  crashPoint('finalize:after-sell');
  return (await transition(orderId, { from: 'PAID', to: 'CONFIRMED' })).outcome;
}
