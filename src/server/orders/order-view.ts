/**
 * What an order's owner may see. Named explicitly so internal fields (the
 * request hash, the raw idempotency key, Stripe objects) never leak.
 */
import type { OrderDoc } from '../../../prisma-free-models/order';
import { Order } from '../../../prisma-free-models/order';
import { DomainError } from '../errors';
import { sameSecret } from '../ids';
import { paymentEventsFor, type PaymentEventView } from './payment-events-view';
import type { OrderState } from './states';

export interface OrderView {
  orderId: string;
  state: OrderState;
  lines: { sku: string; name: string; unitPriceMinor: number; qty: number; lineTotalMinor: number }[];
  totalMinor: number;
  currency: string;
  customer: { name: string; email: string };
  payment: {
    paymentIntentId: string | null;
    /** Only while payment is possible: the browser needs it to confirm the PaymentIntent. */
    clientSecret: string | null;
    lastError: { code: string | null; message: string | null } | null;
  };
  rejection: { reason: string; sku: string | null } | null;
  /** Why an order was cancelled or expired, or why its payment was refunded or flagged. */
  closeReason: string | null;
  /** status: as Stripe reports it (pending, succeeded, failed, ...); null until Stripe has said. */
  refund: { id: string; amount: number; status: string | null; failureReason: string | null } | null;
  /** A dispute (chargeback) of the payment by the customer's bank. */
  dispute: { status: string; reason: string } | null;
  holdExpiresAt: string | null;
  /** Each state change; `outcome` is how the step found the order (`created`, `applied`). */
  history: { from: OrderState | null; to: OrderState; action: string; outcome: string; at: string }[];
  /** The payment events for the order's PaymentIntent and what each did (only from getOrderForOwner). */
  paymentEvents: PaymentEventView[];
  createdAt: string;
  /** The server's clock when this view was made, so a countdown to holdExpiresAt does not trust the browser's clock. */
  serverTime: string;
}

function closeReasonFor(o: OrderDoc): string | null {
  if (o.refund?.status === 'failed' || o.refund?.status === 'canceled') {
    return 'Your refund could not be completed; our team has been told and will contact you.';
  }
  switch (o.state) {
    case 'REFUNDED':
      return o.history.some((h) => h.to === 'CANCELLED')
        ? 'You cancelled this order after paying, so your payment was refunded in full.'
        : 'Your payment arrived after the order had closed and the stock was gone, so it was refunded in full.';
    case 'CONFIRMED':
      return o.dispute?.id ? 'Your bank has disputed this payment; we will be in touch about it.' : (o.closeReason ?? null);
    case 'PAYMENT_MISMATCH':
      return 'The payment received does not match the order total; the order is on hold for review.';
    default:
      return o.closeReason ?? null;
  }
}

export function toOrderView(o: OrderDoc & { createdAt?: Date }, paymentEvents: PaymentEventView[] = []): OrderView {
  const state = o.state;
  return {
    orderId: o._id,
    state,
    lines: o.lines.map((l) => ({
      sku: l.sku,
      name: l.name,
      unitPriceMinor: l.unitPriceMinor,
      qty: l.qty,
      lineTotalMinor: l.lineTotalMinor,
    })),
    totalMinor: o.totalMinor,
    currency: o.currency,
    customer: { name: o.customer.name, email: o.customer.email },
    payment: {
      paymentIntentId: o.paymentIntentId ?? null,
      clientSecret: state === 'PAYMENT_PENDING' ? (o.clientSecret ?? null) : null,
      lastError: o.payment?.lastError?.code
        ? { code: o.payment.lastError.code, message: o.payment.lastError.message ?? null }
        : null,
    },
    rejection: o.rejection?.reason ? { reason: o.rejection.reason, sku: o.rejection.sku ?? null } : null,
    closeReason: closeReasonFor(o),
    refund: o.refund?.id ? { id: o.refund.id, amount: o.refund.amount ?? 0, status: o.refund.status ?? null, failureReason: o.refund.failureReason ?? null } : null,
    dispute: o.dispute?.id ? { status: o.dispute.status ?? 'unknown', reason: o.dispute.reason ?? 'unknown' } : null,
    holdExpiresAt: o.holdExpiresAt ? o.holdExpiresAt.toISOString() : null,
    history: o.history.map((h) => ({
      from: (h.from ?? null),
      to: h.to,
      action: h.action,
      outcome: h.outcome,
      at: h.at.toISOString(),
    })),
    paymentEvents,
    createdAt: (o.createdAt ?? o.stateChangedAt).toISOString(),
    serverTime: new Date().toISOString(),
  };
}

/**
 * The order, for whoever holds its access token. A wrong token and a missing
 * order give the same answer, so ids cannot be probed.
 */
export async function getOrderForOwner(orderId: string, accessToken: string): Promise<OrderView> {
  const order = await Order.findById(orderId).lean<OrderDoc & { createdAt: Date }>();
  if (!order || !sameSecret(order.accessToken, accessToken)) {
    throw new DomainError('NOT_FOUND', 'Order not found', { field: 'orderId' });
  }
  return toOrderView(order, await paymentEventsFor(order));
}
