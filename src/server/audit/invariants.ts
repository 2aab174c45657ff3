/**
 * The invariant auditor: reads the database (read-only) and checks it against
 * the system's promises — stock conserved and held only for live orders
 * (stock-checks.ts), no order charged twice, every paid order's money
 * recorded and, optionally, confirmed at Stripe, no late payment left
 * neither accepted nor refunded (payment-checks.ts), every
 * history a legal path and nothing stuck (order-checks.ts). It is how an
 * operator (or a test) finds out that a promise was broken, whatever broke it.
 *
 * Plain functions over mongoose models; dependencies (Stripe) are passed in.
 * `orderIds` / `skus` scope the audit: order checks to those orders, stock
 * checks to those products; with either given, the other kind covers only
 * what is listed (nothing when it is not given).
 */
import { OpenOrder } from '../../../prisma-free-models/open-work';
import { Order } from '../../../prisma-free-models/order';
import { Product } from '../../../prisma-free-models/product';
import { StockStripe } from '../../../prisma-free-models/stock-stripe';
import { withAllStripes } from '../inventory/stripes';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { checkHistory, checkListedIfOpen, checkStuckEvent, checkStuckOrder } from './order-checks';
import {
  checkAtStripe,
  checkChargedOnce,
  checkLatePaymentSettled,
  checkNotPaidAfterCancel,
  checkPaymentRecord,
  checkRefundRecord,
  SUCCEEDED,
  type EventIntent,
  verifiedIntent,
} from './payment-checks';
import { checkOrderSold, checkSoldSum } from './sale-checks';
import { checkHold, checkOrderHolds, checkProductStock } from './stock-checks';
import type { AuditContext, AuditEvent, AuditOptions, AuditOrder, AuditProduct, AuditReport, HoldOwner, Violation } from './types';

export type { AuditOptions, AuditReport, CheckName, Violation } from './types';
export { CHECKS } from './types';
export { formatReport } from './report';

const PAGE = 200;
const STRIPE_CONCURRENCY = 8;

type Scope = string[] | 'all';

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Pages through a collection by _id: a given list in chunks, or everything. */
async function* pages<T extends { _id: string }>(scope: Scope, load: (filter: Record<string, unknown>) => Promise<T[]>): AsyncGenerator<T[]> {
  if (scope !== 'all') {
    for (const ids of chunks([...new Set(scope)].sort(), PAGE)) yield await load({ _id: { $in: ids } });
    return;
  }
  let after: string | undefined;
  for (;;) {
    const page = await load(after === undefined ? {} : { _id: { $gt: after } });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]?._id;
    if (page.length < PAGE) return;
  }
}

/** For each SKU, each order's recorded sale quantity (the orders' `sold`). A scan: the auditor is not on the hot path. */
async function salesRecordedOnOrders(skus: string[]): Promise<Map<string, Map<string, number>>> {
  const bySku = new Map<string, Map<string, number>>(skus.map((sku) => [sku, new Map()]));
  const orders = await Order.find({ 'sold.sku': { $in: skus } }, { sold: 1 }).lean<Pick<AuditOrder, '_id' | 'sold'>[]>();
  for (const o of orders) for (const s of o.sold ?? []) bySku.get(s.sku)?.set(o._id, (bySku.get(s.sku)?.get(o._id) ?? 0) + s.qty);
  return bySku;
}

const HOLD_OWNER_FIELDS = { _id: 1, state: 1, stateChangedAt: 1, holdRef: 1, pendingRelease: 1 };

async function auditProducts(skus: Scope, orderIds: Scope, ctx: AuditContext, out: Violation[]): Promise<number> {
  let count = 0;
  const holds: { sku: string; hold: AuditProduct['holds'][number] }[] = [];
  const seen = new Set<string>();
  // A product split into stripes is audited as a whole: its stripes' stock and records added in.
  for await (const page of pages(skus, async (f) => withAllStripes(await Product.find(f).sort({ _id: 1 }).limit(PAGE).lean<AuditProduct[]>()))) {
    const recorded = await salesRecordedOnOrders(page.map((p) => p._id));
    for (const p of page) {
      count++;
      seen.add(p._id);
      out.push(...checkProductStock(p));
      const sum = checkSoldSum(p, recorded.get(p._id) ?? new Map());
      if (sum) out.push(sum);
      for (const hold of p.holds) holds.push({ sku: p._id, hold });
    }
  }
  // The scoped orders' holds on products outside the SKU scope.
  if (orderIds !== 'all' && orderIds.length > 0) {
    const [products, stripes] = await Promise.all([
      Product.find({ 'holds.orderId': { $in: orderIds } }, { holds: 1 }).lean<Pick<AuditProduct, '_id' | 'holds'>[]>(),
      StockStripe.find({ 'holds.orderId': { $in: orderIds } }, { holds: 1, sku: 1 }).lean<(Pick<AuditProduct, '_id' | 'holds'> & { sku: string })[]>(),
    ]);
    const wanted = new Set(orderIds);
    for (const p of [...products.map((d) => ({ ...d, sku: d._id })), ...stripes]) {
      if (seen.has(p.sku)) continue;
      for (const hold of p.holds) if (wanted.has(hold.orderId)) holds.push({ sku: p.sku, hold });
    }
  }
  const owners = new Map<string, HoldOwner>();
  for (const ids of chunks([...new Set(holds.map((h) => h.hold.orderId))], PAGE)) {
    for (const o of await Order.find({ _id: { $in: ids } }, HOLD_OWNER_FIELDS).lean<HoldOwner[]>()) owners.set(o._id, o);
  }
  for (const { sku, hold } of holds) {
    const v = checkHold(sku, hold, owners.get(hold.orderId), ctx);
    if (v) out.push(v);
  }
  return count;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the input order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}

async function auditOrderPage(orders: AuditOrder[], ctx: AuditContext, stripe: AuditOptions['stripe'], out: Violation[]): Promise<void> {
  const ids = orders.map((o) => o._id);
  const intentIds = orders.flatMap((o) => (o.paymentIntentId ? [o.paymentIntentId] : []));
  const eventIds = orders.flatMap((o) => (o.payment?.succeededEventId ? [o.payment.succeededEventId] : []));
  const skus = [...new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)))];

  const [products, recorded, succeeded, listed] = await Promise.all([
    Product.find({ _id: { $in: skus } }, { holds: 1, sales: 1, stripes: 1 })
      .lean<(Pick<AuditProduct, '_id' | 'holds' | 'sales'> & { stripes?: number })[]>()
      .then(withAllStripes),
    WebhookEvent.find({ _id: { $in: eventIds } }).lean<AuditEvent[]>(),
    WebhookEvent.find({ type: SUCCEEDED, $or: [{ orderId: { $in: ids } }, { objectId: { $in: intentIds } }, { 'verified.orderId': { $in: ids } }] }).lean<AuditEvent[]>(),
    OpenOrder.find({ _id: { $in: ids } }, { _id: 1 }).lean<{ _id: string }[]>(),
  ]);
  const open = new Set(listed.map((e) => e._id));
  const productsBySku = new Map(products.map((p) => [p._id, p]));
  const eventsById = new Map(recorded.map((e) => [e._id, e]));
  // Which order a payment is for is what Stripe said (the PaymentIntent's metadata.orderId), never the event's claim.
  const intentsByOrder = new Map<string, EventIntent[]>();
  for (const e of succeeded) {
    const pi = verifiedIntent(e);
    if (pi?.orderId) intentsByOrder.set(pi.orderId, [...(intentsByOrder.get(pi.orderId) ?? []), pi]);
  }

  for (const order of orders) {
    out.push(...checkHistory(order), ...checkStuckOrder(order, ctx), ...checkOrderHolds(order, productsBySku, ctx), ...checkOrderSold(order, productsBySku));
    const intents = intentsByOrder.get(order._id) ?? [];
    for (const v of [checkListedIfOpen(order, open), checkChargedOnce(order, intents), checkLatePaymentSettled(order, intents, ctx), checkRefundRecord(order), checkNotPaidAfterCancel(order)]) {
      if (v) out.push(v);
    }
    out.push(...checkPaymentRecord(order, eventsById));
  }
  if (stripe) {
    for (const found of await mapLimited(orders, STRIPE_CONCURRENCY, (o) => checkAtStripe(o, stripe, ctx))) out.push(...found);
  }
}

async function auditOrders(orderIds: Scope, ctx: AuditContext, stripe: AuditOptions['stripe'], out: Violation[]): Promise<number> {
  let count = 0;
  for await (const page of pages(orderIds, (f) => Order.find(f).sort({ _id: 1 }).limit(PAGE).lean<AuditOrder[]>())) {
    count += page.length;
    await auditOrderPage(page, ctx, stripe, out);
  }
  return count;
}

async function auditEvents(orderIds: Scope, ctx: AuditContext, out: Violation[]): Promise<void> {
  if (orderIds !== 'all' && orderIds.length === 0) return;
  const stuckBefore = new Date(ctx.now.getTime() - ctx.stuckAfterMs);
  const filter = {
    processedAt: { $exists: false },
    receivedAt: { $lt: stuckBefore },
    ...(orderIds === 'all' ? {} : { orderId: { $in: orderIds } }),
  };
  const events = await WebhookEvent.find(filter, { payload: 0 }).sort({ _id: 1 }).lean<Omit<AuditEvent, 'payload'>[]>();
  for (const e of events) {
    const v = checkStuckEvent(e, ctx);
    if (v) out.push(v);
  }
}

async function auditOnce(opts: AuditOptions): Promise<AuditReport> {
  const ctx: AuditContext = { now: opts.now ?? new Date(), stuckAfterMs: opts.stuckAfterMs };
  const scoped = opts.orderIds !== undefined || opts.skus !== undefined;
  const orderIds: Scope = opts.orderIds ?? (scoped ? [] : 'all');
  const skus: Scope = opts.skus ?? (scoped ? [] : 'all');
  const violations: Violation[] = [];
  const products = await auditProducts(skus, orderIds, ctx, violations);
  const orders = await auditOrders(orderIds, ctx, opts.stripe, violations);
  await auditEvents(orderIds, ctx, violations);
  return { violations, checked: { products, orders } };
}

const key = (v: Violation) => `${v.check} ${v.subject}`;
const subjects = (violations: Violation[], prefix: string) =>
  [...new Set(violations.filter((v) => v.subject.startsWith(prefix)).map((v) => v.subject.slice(prefix.length)))];

/**
 * Checks the database against the system's promises. Read-only; safe to run at
 * any time, against a live system. The reads are not one snapshot (MongoDB
 * has none across documents without transactions), so a step that runs
 * between two reads (a hold read, then its order finalized) can look like a
 * violation: unless `recheck` is false, what the first pass finds is looked
 * at again, and only what the second look confirms is reported.
 */
export async function auditInvariants(opts: AuditOptions): Promise<AuditReport> {
  const first = await auditOnce(opts);
  if (first.violations.length === 0 || opts.recheck === false) return first;
  const second = await auditOnce({ ...opts, orderIds: subjects(first.violations, 'order:'), skus: subjects(first.violations, 'sku:') });
  const confirmed = new Set(second.violations.map(key));
  // Stuck events are judged by age alone and are not re-read.
  const violations = first.violations.filter((v) => v.subject.startsWith('event:') || confirmed.has(key(v)));
  return { violations, checked: first.checked };
}
