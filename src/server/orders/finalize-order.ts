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
import { reserveLines, saleOf, sellHeldLine, type Sale, type StockLine } from '../inventory/stock';
import { flagForAttention } from './attention';
import { logger } from '../logger';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

/**
 * Copies the product's record of this line's sale onto the order: the sale
 * this run just made, else the one read from the product. Returns whether
 * the line is recorded as sold to it.
 */
async function recordSale(orderId: string, line: StockLine, made: Sale | null): Promise<boolean> {
  const sale = made ?? (await saleOf(orderId, line));
  if (sale) {
    await Order.updateOne({ _id: orderId, 'sold.sku': { $ne: line.sku } }, { $push: { sold: { sku: line.sku, qty: sale.qty, at: sale.at } } });
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
  return finalizeOrderAsRead(order);
}

/**
 * The same step on an order already read (by the step that made it PAID,
 * from its transition's answer), without reading it again. Anything may have
 * happened since that read: the step is safe on a stale copy as on a fresh
 * one, because every write in it is conditional on the order and its holds.
 */
export async function finalizeOrderAsRead(order: OrderDoc): Promise<StepOutcome> {
  const orderId = order._id;
  if (order.state !== 'PAID') {
    const outcome = order.state === 'CONFIRMED' ? 'already-done' : 'refused';
    logger.info({ orderId, state: order.state, action: 'finalize', outcome }, 'finalization not applicable');
    return outcome;
  }
  const unsold: string[] = [];
  for (const [i, line] of order.lines.entries()) {
    if (!(await sellLine(order, line))) unsold.push(line.sku);
    if (i === 0) crashPoint('finalize:after-first-line');
  }
  crashPoint('finalize:after-sell');
  if (unsold.length > 0) {
    // Never confirm what was not sold. A PAID order whose hold vanished (and
    // whose stock is gone) needs a human: refund or restock.
    logger.error({ orderId, state: order.state, action: 'finalize', unsold, outcome: 'refused' }, 'paid order has lines that could not be sold to it');
    await flagForAttention(orderId, 'unsold-lines', `no stock for ${unsold.join(', ')}`);
    return 'refused';
  }
  return (await transition(orderId, { from: 'PAID', to: 'CONFIRMED' })).outcome;
}

/**
 * Sells one line to the order and records the sale on it; true once the line
 * is recorded as sold (now or by an earlier run). A line with no hold and no
 * sale (its hold vanished) is held again from free stock if there is any: the
 * customer paid for it.
 */
async function sellLine(order: OrderDoc, line: StockLine): Promise<boolean> {
  if (await recordSale(order._id, line, await sellHeldLine(order._id, order.holdRef, line))) return true;
  const again = await reserveLines(order._id, order.holdRef, [line]);
  if (!again.ok) return false;
  logger.warn({ orderId: order._id, sku: line.sku, action: 'finalize' }, 'paid order had lost its hold; held again from free stock');
  return recordSale(order._id, line, await sellHeldLine(order._id, order.holdRef, line));
}
