/**
 * Orders as an operator sees them: a bounded, filtered list and the whole of
 * one order (history, payment, refund, attention flags, holds, events).
 *
 * Bounded by construction: a page is at most MAX_PAGE orders, sorted by _id
 * and continued after the last id (keyset paging, no skip). On MongoDB the
 * state filter can use the { state, stateChangedAt } index; the local
 * mongo-java-server ignores non-unique indexes, so there every filter is a
 * scan, which the page limit keeps from turning into a full read. Order ids
 * are random, so id order is not time order: the time window narrows by
 * placement time.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { WebhookEvent, type WebhookEventDoc } from '../../../prisma-free-models/webhook-event';
import { DomainError } from '../errors';
import type { OrderState } from '../orders/states';
import { withAllStripes } from '../inventory/stripes';

export const MAX_PAGE = 100;

export interface OrderListFilter {
  states?: OrderState[];
  /** Placed at or after. */
  from?: Date;
  /** Placed before. */
  to?: Date;
  /** An exact order id or customer email. */
  search?: string;
  /** Continue after this order id. */
  after?: string;
  limit?: number;
}

export interface OrderSummary {
  orderId: string;
  state: OrderState;
  createdAt: string;
  stateChangedAt: string;
  email: string;
  totalMinor: number;
  currency: string;
  lines: number;
  attention: string[];
}

export interface OrderPage {
  orders: OrderSummary[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

type Stored = OrderDoc & { createdAt: Date };

function summary(o: Stored): OrderSummary {
  return {
    orderId: o._id,
    state: o.state,
    createdAt: o.createdAt.toISOString(),
    stateChangedAt: o.stateChangedAt.toISOString(),
    email: o.customer.email,
    totalMinor: o.totalMinor,
    currency: o.currency,
    lines: o.lines.length,
    attention: (o.attention ?? []).map((a) => a.reason),
  };
}

function searchFilter(search: string): Record<string, unknown> {
  if (/^ord_[a-f0-9]{24}$/.test(search)) return { _id: search };
  // Emails as typed, and lower-cased (what most people type); an exact match either way, never a regex scan.
  return { 'customer.email': { $in: [...new Set([search, search.toLowerCase()])] } };
}

export async function listOrders(filter: OrderListFilter): Promise<OrderPage> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), MAX_PAGE);
  const query: Record<string, unknown> = {};
  if (filter.states?.length) query.state = { $in: filter.states };
  if (filter.from || filter.to) query.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
  if (filter.search) Object.assign(query, searchFilter(filter.search));
  if (filter.after) query._id = query._id !== undefined ? { $eq: query._id, $gt: filter.after } : { $gt: filter.after };
  const found = await Order.find(query, { accessToken: 0, requestHash: 0, idempotencyKey: 0, clientSecret: 0, history: 0 })
    .sort({ _id: 1 })
    .limit(limit + 1)
    .lean<Stored[]>();
  const page = found.slice(0, limit);
  return { orders: page.map(summary), next: found.length > limit ? (page[page.length - 1]?._id ?? null) : null };
}

export interface OrderDetail extends OrderSummary {
  customer: { name: string; email: string; address: OrderDoc['customer']['address'] };
  items: { sku: string; name: string; unitPriceMinor: number; qty: number; lineTotalMinor: number }[];
  history: { from: OrderState | null; to: OrderState; action: string; outcome: string; at: string; detail: string | null }[];
  payment: {
    paymentIntentId: string | null;
    requestedAt: string | null;
    succeededEventId: string | null;
    amountReceived: number | null;
    currency: string | null;
    lastError: { code: string | null; message: string | null; at: string | null } | null;
  };
  refund: { id: string; amount: number | null; at: string | null } | null;
  attentionFlags: { reason: string; detail: string | null; at: string }[];
  rejection: { reason: string; sku: string | null } | null;
  closeReason: string | null;
  lateDecision: string | null;
  holdRef: string;
  holdExpiresAt: string | null;
  pendingWork: string[];
  sold: { sku: string; qty: number; at: string }[];
  /** Stock this order holds right now, read from the products. */
  holds: { sku: string; ref: string; qty: number; at: string }[];
  events: { id: string; type: string; receivedAt: string; processedAt: string | null; outcome: string | null }[];
  reconciledAt: string | null;
  /** Whether the console offers "refund" (PAYMENT_MISMATCH only). */
  refundable: boolean;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export async function getOrderDetail(orderId: string): Promise<OrderDetail> {
  const o = await Order.findById(orderId, { accessToken: 0, requestHash: 0, idempotencyKey: 0, clientSecret: 0 }).lean<Stored>();
  if (!o) throw new DomainError('NOT_FOUND', 'Order not found', { field: 'orderId' });
  const skus = o.lines.map((l) => l.sku);
  const [products, events] = await Promise.all([
    // Holds of every stripe of a striped product (inventory/stripes.ts).
    Product.find({ _id: { $in: skus } }, { holds: 1, stripes: 1 }).lean<Pick<ProductDoc, '_id' | 'holds' | 'stripes'>[]>().then(withAllStripes),
    // Bounded: an order has a handful of events; a flood of forged ones never gets stored (signatures).
    WebhookEvent.find({ orderId }, { payload: 0 }).sort({ receivedAt: 1 }).limit(200).lean<Omit<WebhookEventDoc, 'payload'>[]>(),
  ]);
  const lastError = o.payment?.lastError;
  return {
    ...summary(o),
    customer: { name: o.customer.name, email: o.customer.email, address: o.customer.address },
    items: o.lines.map((l) => ({ sku: l.sku, name: l.name, unitPriceMinor: l.unitPriceMinor, qty: l.qty, lineTotalMinor: l.lineTotalMinor })),
    history: o.history.map((h) => ({
      from: (h.from ?? null),
      to: h.to,
      action: h.action,
      outcome: h.outcome,
      at: h.at.toISOString(),
      detail: h.detail ?? null,
    })),
    payment: {
      paymentIntentId: o.paymentIntentId ?? null,
      requestedAt: iso(o.paymentRequestedAt),
      succeededEventId: o.payment?.succeededEventId ?? null,
      amountReceived: o.payment?.amountReceived ?? null,
      currency: o.payment?.currency ?? null,
      lastError: lastError?.code ? { code: lastError.code, message: lastError.message ?? null, at: iso(lastError.at) } : null,
    },
    refund: o.refund?.id ? { id: o.refund.id, amount: o.refund.amount ?? null, at: iso(o.refund.at) } : null,
    attentionFlags: (o.attention ?? []).map((a) => ({ reason: a.reason, detail: a.detail ?? null, at: a.at.toISOString() })),
    rejection: o.rejection?.reason ? { reason: o.rejection.reason, sku: o.rejection.sku ?? null } : null,
    closeReason: o.closeReason ?? null,
    lateDecision: o.lateDecision ?? null,
    holdRef: o.holdRef,
    holdExpiresAt: iso(o.holdExpiresAt),
    pendingWork: [...(o.pendingRelease ? [`release holds ${o.pendingRelease}`] : []), ...(o.pendingIntentCancel ? ['cancel the PaymentIntent'] : [])],
    sold: (o.sold ?? []).map((s) => ({ sku: s.sku, qty: s.qty, at: s.at.toISOString() })),
    holds: products.flatMap((p) => p.holds.filter((h) => h.orderId === orderId).map((h) => ({ sku: p._id, ref: h.ref, qty: h.qty, at: h.at.toISOString() }))),
    events: events.map((e) => ({ id: e._id, type: e.type, receivedAt: e.receivedAt.toISOString(), processedAt: iso(e.processedAt), outcome: e.outcome ?? null })),
    reconciledAt: iso(o.reconciledAt),
    refundable: o.state === 'PAYMENT_MISMATCH',
  };
}
