/**
 * Finalization: PAID -> CONFIRMED, turning the order's held stock into sold
 * stock. Selling is keyed by the order's holds, so running it twice (or after
 * a crash between two lines) sells each line exactly once. Each sale is
 * recorded on the product in the same update that sells, then copied onto
 * the order (`sold`) by the write that confirms it, so what was sold to the
 * order is a record, not an inference.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import { reserveLines, saleOf, sellHeldLine, type Sale, type StockLine } from '../inventory/stock';
import { flagForAttention } from './attention';
import { logger } from '../logger';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

/** What the order records of one line's sale (`sold`). */
interface SoldLine extends Sale {
  sku: string;
}

/**
 * The record of this line's sale to the order: the sale this run just made,
 * else the one the product keeps, else the copy an earlier run left on the
 * order (the product lets its record go only once the order has one).
 */
async function saleOfLine(order: OrderDoc, line: StockLine): Promise<Sale | null> {
  const made = await sellHeldLine(order._id, order.holdRef, line);
  if (made) return made;
  const kept = await saleOf(order._id, line);
  if (kept) return kept;
  const copy = await Order.findOne({ _id: order._id, 'sold.sku': line.sku }, { sold: 1 }).lean<Pick<OrderDoc, 'sold'>>();
  return copy?.sold?.find((s) => s.sku === line.sku) ?? null;
}

/** Copies sales onto the order one by one, each once (for an order that stays PAID). */
async function recordSales(orderId: string, sales: readonly SoldLine[]): Promise<void> {
  for (const sale of sales) {
    await Order.updateOne({ _id: orderId, 'sold.sku': { $ne: sale.sku } }, { $push: { sold: { sku: sale.sku, qty: sale.qty, at: sale.at } } });
  }
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
  const sold: SoldLine[] = [];
  const unsold: string[] = [];
  for (const [i, line] of order.lines.entries()) {
    const sale = await sellLine(order, line);
    if (sale) sold.push({ sku: line.sku, qty: sale.qty, at: sale.at });
    else unsold.push(line.sku);
    if (i === 0) crashPoint('finalize:after-first-line');
  }
  crashPoint('finalize:after-sell');
  if (unsold.length > 0) {
    // Never confirm what was not sold. A PAID order whose hold vanished (and
    // whose stock is gone) needs a human: refund or restock. What was sold
    // is recorded on it meanwhile.
    await recordSales(orderId, sold);
    logger.error({ orderId, state: order.state, action: 'finalize', unsold, outcome: 'refused' }, 'paid order has lines that could not be sold to it');
    await flagForAttention(orderId, 'unsold-lines', `no stock for ${unsold.join(', ')}`);
    return 'refused';
  }
  // The sales are copied onto the order in the write that confirms it: one
  // write fewer per line, and no confirmed order without its record.
  return (await transition(orderId, { from: 'PAID', to: 'CONFIRMED', set: { sold } })).outcome;
}

/**
 * Sells one line to the order; the sale once the line is sold to it (now or
 * by an earlier run), else null. A line with no hold and no sale (its hold
 * vanished) is held again from free stock if there is any: the customer paid
 * for it.
 */
async function sellLine(order: OrderDoc, line: StockLine): Promise<Sale | null> {
  const sale = await saleOfLine(order, line);
  if (sale) return sale;
  const again = await reserveLines(order._id, order.holdRef, [line]);
  if (!again.ok) return null;
  logger.warn({ orderId: order._id, sku: line.sku, action: 'finalize' }, 'paid order had lost its hold; held again from free stock');
  return saleOfLine(order, line);
}
