/**
 * Stock and hold invariants (see inventory/stock.ts and models/product.ts).
 *
 * Per product: initialStock = available + reserved + sold, no counter below
 * zero, reserved = sum of holds, one hold per order. Per hold: it belongs to
 * an order that may hold stock right now. Per holding order: every line is
 * held under the order's holdRef with the line's qty. Together these say
 * "never oversold, nothing held for nobody, nothing sold without a hold".
 *
 * Steps take stock before writing the state and write the state before giving
 * stock back, so some holds are legitimately ahead of or behind the order's
 * state for a moment; those are accepted while younger than stuckAfterMs.
 */
import { HOLDING_STATES, TERMINAL_STATES, type OrderState } from '../orders/states';
import {
  age,
  isYoung,
  orderSubject,
  skuSubject,
  type AuditContext,
  type AuditHold,
  type AuditOrder,
  type AuditProduct,
  type HoldOwner,
  type Violation,
} from './types';

/** States in which a reservation may be running ahead of the state (reserve, late payment, a reserve racing a cancel). */
const RESERVATION_IN_FLIGHT_STATES: ReadonlySet<OrderState> = new Set(['CREATED', 'EXPIRED', 'CANCELLED']);

const describeHold = (h: AuditHold) => `ref ${h.ref} qty ${h.qty} taken ${h.at instanceof Date ? h.at.toISOString() : String(h.at)}`;

export function checkProductStock(p: AuditProduct): Violation[] {
  const out: Violation[] = [];
  const subject = skuSubject(p._id);
  const total = p.available + p.reserved + p.sold;
  if (total !== p.initialStock) {
    out.push({
      check: 'stock.conservation',
      subject,
      message: `expected initialStock ${p.initialStock} = available + reserved + sold, found ${p.available} + ${p.reserved} + ${p.sold} = ${total}`,
    });
  }
  for (const field of ['initialStock', 'available', 'reserved', 'sold'] as const) {
    if (p[field] < 0) out.push({ check: 'stock.negative', subject, message: `expected ${field} >= 0, found ${p[field]}` });
  }
  const held = p.holds.reduce((sum, h) => sum + h.qty, 0);
  if (held !== p.reserved) {
    out.push({
      check: 'stock.reserved-sum',
      subject,
      message: `expected reserved = sum of holds (${p.holds.length} hold${p.holds.length === 1 ? '' : 's'}, qty ${held}), found reserved ${p.reserved}`,
    });
  }
  const perOrder = new Map<string, AuditHold[]>();
  for (const h of p.holds) perOrder.set(h.orderId, [...(perOrder.get(h.orderId) ?? []), h]);
  for (const [orderId, holds] of perOrder) {
    if (holds.length > 1) {
      out.push({
        check: 'stock.duplicate-hold',
        subject,
        message: `expected at most one hold for order ${orderId}, found ${holds.length}: ${holds.map(describeHold).join('; ')}`,
      });
    }
  }
  return out;
}

/** Why a hold on `sku` is not legitimate for its order, or null when it is. */
export function checkHold(sku: string, hold: AuditHold, order: HoldOwner | undefined, ctx: AuditContext): Violation | null {
  const subject = skuSubject(sku);
  if (!order) {
    return { check: 'holds.unknown-order', subject, message: `hold of order ${hold.orderId} (${describeHold(hold)}): expected an existing order, found none` };
  }
  // The live reservation.
  if (HOLDING_STATES.has(order.state) && hold.ref === order.holdRef) return null;
  // Closed, its release recorded as pending work and not overdue.
  if (order.pendingRelease === hold.ref && isYoung(order.stateChangedAt, ctx)) return null;
  // A reservation running ahead of the state: taken just now, the state write or give-back follows.
  const lastMove = Math.max(hold.at instanceof Date ? hold.at.getTime() : 0, order.stateChangedAt.getTime());
  if (RESERVATION_IN_FLIGHT_STATES.has(order.state) && isYoung(new Date(lastMove), ctx)) return null;

  const kind = TERMINAL_STATES.has(order.state) ? 'terminal' : HOLDING_STATES.has(order.state) ? 'holding' : 'closed';
  const why =
    order.pendingRelease === hold.ref
      ? `its release has been pending since ${age(order.stateChangedAt, ctx)}`
      : HOLDING_STATES.has(order.state)
        ? `the order holds under ref ${order.holdRef}, not ${hold.ref}`
        : `expected no hold for a ${kind} ${order.state} order (holdRef ${order.holdRef}${order.pendingRelease ? `, pendingRelease ${order.pendingRelease}` : ''}, state since ${age(order.stateChangedAt, ctx)})`;
  return { check: 'holds.stray', subject, message: `hold of order ${order._id} (${describeHold(hold)}): ${why}` };
}

/**
 * An order in a holding state must hold each line under its holdRef with the
 * line's qty. A young PAID order may already have sold some lines: finalization
 * sells, then writes CONFIRMED.
 */
export function checkOrderHolds(
  order: Pick<AuditOrder, '_id' | 'state' | 'stateChangedAt' | 'holdRef' | 'lines'>,
  products: ReadonlyMap<string, Pick<AuditProduct, '_id' | 'holds'>>,
  ctx: AuditContext,
): Violation[] {
  if (!HOLDING_STATES.has(order.state)) return [];
  const finalizing = order.state === 'PAID' && isYoung(order.stateChangedAt, ctx);
  const out: Violation[] = [];
  for (const line of order.lines) {
    const expected = `expected a hold on ${line.sku} with ref ${order.holdRef} qty ${line.qty}`;
    const product = products.get(line.sku);
    if (!product) {
      out.push({ check: 'holds.missing', subject: orderSubject(order._id), message: `${order.state} order: ${expected}, found no such product` });
      continue;
    }
    const mine = product.holds.filter((h) => h.orderId === order._id);
    if (mine.some((h) => h.ref === order.holdRef && h.qty === line.qty)) continue;
    if (mine.length === 0 && finalizing) continue;
    const found = mine.length === 0 ? 'found none' : `found ${mine.map(describeHold).join('; ')}`;
    out.push({ check: 'holds.missing', subject: orderSubject(order._id), message: `${order.state} order: ${expected}, ${found}` });
  }
  return out;
}
