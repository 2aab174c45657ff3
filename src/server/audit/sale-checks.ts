/**
 * Sale invariants: every line of a CONFIRMED order was sold to that order,
 * and every unit a product counts as sold went to exactly one order. The
 * evidence is the sale record the selling update itself writes (on the
 * product, then copied onto the order's `sold`), so a confirmation that sold
 * nothing, or one unit sold to two orders, cannot hide behind counters that
 * happen to add up.
 */
import { orderSubject, skuSubject, type AuditOrder, type AuditProduct, type Violation } from './types';

type SaleSources = Pick<AuditProduct, '_id' | 'sales'>;

/** A CONFIRMED order: each line is sold to it, with the line's quantity. */
export function checkOrderSold(order: Pick<AuditOrder, '_id' | 'state' | 'lines' | 'sold'>, products: ReadonlyMap<string, SaleSources>): Violation[] {
  if (order.state !== 'CONFIRMED') return [];
  const out: Violation[] = [];
  for (const line of order.lines) {
    const recorded = order.sold?.find((s) => s.sku === line.sku);
    const pending = products.get(line.sku)?.sales?.find((s) => s.orderId === order._id);
    const sale = recorded ?? pending;
    if (sale && sale.qty === line.qty) continue;
    out.push({
      check: 'sales.unsold',
      subject: orderSubject(order._id),
      message: `CONFIRMED order: expected ${line.qty} × ${line.sku} sold to it, found ${sale ? `a sale of ${sale.qty}` : 'no sale record'}`,
    });
  }
  return out;
}

/**
 * `recordedOnOrders`: for this product, each order's recorded sale quantity.
 * A sale may be on the order and still on the product for a moment (copied,
 * not yet dropped): it counts once.
 */
export function checkSoldSum(product: Pick<AuditProduct, '_id' | 'sold' | 'sales'>, recordedOnOrders: ReadonlyMap<string, number>): Violation | null {
  let total = 0;
  for (const qty of recordedOnOrders.values()) total += qty;
  for (const s of product.sales ?? []) if (!recordedOnOrders.has(s.orderId)) total += s.qty;
  if (total === product.sold) return null;
  return {
    check: 'stock.sold-sum',
    subject: skuSubject(product._id),
    message: `expected sold ${product.sold} = the sales recorded for it, found sales totalling ${total} (${recordedOnOrders.size} on orders, ${product.sales?.length ?? 0} awaiting their order)`,
  };
}
