/**
 * Finalization: PAID -> CONFIRMED, turning the order's held stock into sold
 * stock. Selling is keyed by the order's holds, so running it twice (or after
 * a crash between two lines) sells each line exactly once. Each sale is
 * recorded on the product in the same update that sells, then copied onto
 * the order (`sold`), so what was sold to the order is a record, not an
 * inference.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import { dropPendingSale, pendingSale, sellLines, type StockLine } from '../inventory/stock';
import { logger } from '../logger';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

/** Copies the product's record of this line's sale onto the order. Returns whether the line is recorded as sold to it. */
async function recordSale(orderId: string, line: StockLine): Promise<boolean> {
  const sale = await pendingSale(orderId, line.sku);
  if (sale) {
    await Order.updateOne({ _id: orderId, 'sold.sku': { $ne: line.sku } }, { $push: { sold: { sku: line.sku, qty: sale.qty, at: sale.at } } });
    await dropPendingSale(orderId, line.sku);
    return true;
  }
  return (await Order.exists({ _id: orderId, 'sold.sku': line.sku })) !== null;
}

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
  for (const [i, line] of order.lines.entries()) {
    await sellLines(orderId, order.holdRef, [line]);
    await recordSale(orderId, line);
    if (i === 0) crashPoint('finalize:after-first-line');
  }
  crashPoint('finalize:after-sell');
  return (await transition(orderId, { from: 'PAID', to: 'CONFIRMED' })).outcome;
}
