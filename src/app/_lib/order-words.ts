/**
 * The order page's words: each state's name, each step of the journey, and
 * what happens next in every state, for a buyer rather than an engineer.
 * Pure functions of the order view, so the page and the tests agree.
 */
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/api/root';
import type { OrderState } from '../../server/orders/states';
import { describePaymentError, TRY_AGAIN } from './payment-errors';

export type OrderView = inferRouterOutputs<AppRouter>['orders']['get'];

export const STATE_NAMES: Record<OrderState, string> = {
  CREATED: 'Placed',
  INVENTORY_RESERVED: 'Items held',
  PAYMENT_PENDING: 'Awaiting payment',
  PAID: 'Paid',
  CONFIRMED: 'Confirmed',
  REJECTED: 'Not accepted',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
  REFUNDED: 'Refunded',
  PAYMENT_MISMATCH: 'Payment under review',
};

const ACTIONS: Record<string, string> = {
  'place-order': 'Order placed',
  reserve: 'Items held for you',
  reject: 'Items could not be held',
  'request-payment': 'Payment requested',
  'mark-paid': 'Payment received',
  finalize: 'Order confirmed',
  cancel: 'Order cancelled',
  expire: 'Hold ended before payment',
  'accept-late-payment': 'Late payment accepted',
  'refund-late-payment': 'Late payment refunded',
  'flag-mismatch': 'Payment held for review',
};

const EVENTS: Record<string, string> = {
  'payment_intent.succeeded': 'Stripe reported the payment succeeded',
  'payment_intent.payment_failed': 'Stripe reported a failed payment attempt',
  'refund.created': 'Refund started',
  'refund.updated': 'Refund updated',
  'refund.failed': 'Refund failed',
  'charge.refunded': 'Payment refunded',
};

const OUTCOMES: Record<string, string> = {
  created: 'done',
  applied: 'applied',
  'already-done': 'already done',
  skipped: 'nothing to do',
  refused: 'not applied',
};

export interface JourneyEntry {
  key: string;
  at: string;
  what: string;
  outcome: string;
}

/** State changes and payment events, oldest first. */
export function journeyOf(order: OrderView): JourneyEntry[] {
  const steps = order.history.map((h, i) => ({
    key: `step-${i}`,
    at: h.at,
    what: ACTIONS[h.action] ?? h.action,
    outcome: OUTCOMES[h.outcome] ?? h.outcome,
  }));
  const events = order.paymentEvents.map((e, i) => ({
    key: `event-${i}`,
    at: e.receivedAt,
    what: e.from === 'reconciler' ? 'We checked the payment with Stripe' : (EVENTS[e.type] ?? e.type),
    outcome: e.outcome ? (OUTCOMES[e.outcome] ?? e.outcome) : 'being processed',
  }));
  return [...steps, ...events].sort((a, b) => a.at.localeCompare(b.at));
}

/** Stripe's refund statuses that mean the money did not go back. */
const REFUND_FAILED = new Set(['failed', 'canceled']);

/**
 * The server's reason as a line under the next step, or null when the next
 * step already says it (REFUNDED and PAYMENT_MISMATCH put it in their detail
 * or word it themselves) or there is none. A closed order's reason is
 * introduced as one; a dispute or a failed refund on a sale is its own sentence.
 */
export function closeReasonLine(order: OrderView): string | null {
  if (!order.closeReason || order.state === 'REFUNDED' || order.state === 'PAYMENT_MISMATCH') return null;
  return order.state === 'CANCELLED' || order.state === 'EXPIRED' ? `Reason: ${order.closeReason}` : order.closeReason;
}

export interface NextStep {
  title: string;
  detail: string;
}

function itemName(order: OrderView, sku: string | null): string {
  return order.lines.find((l) => l.sku === sku)?.name ?? sku ?? 'An item';
}

/** What happens next, in every state. */
export function nextStepFor(order: OrderView): NextStep {
  switch (order.state) {
    case 'CREATED':
      return { title: 'Checking stock', detail: 'We are holding your items. This takes a moment.' };
    case 'INVENTORY_RESERVED':
      return { title: 'Your items are held', detail: 'We are preparing your payment.' };
    case 'PAYMENT_PENDING': {
      const failed = order.payment.lastError;
      return failed
        ? {
            title: 'Your last payment attempt did not go through',
            detail: `${describePaymentError({ code: failed.code, message: failed.message })} ${TRY_AGAIN}`,
          }
        : { title: 'Pay to complete your order', detail: 'Your items are held for you until the time shown. Pay below to complete the order.' };
    }
    case 'PAID':
      return { title: 'Payment received', detail: 'We are confirming your order.' };
    case 'CONFIRMED':
      return { title: 'Your order is confirmed', detail: 'Thank you! Your items are reserved for you and will be shipped to the address you gave.' };
    case 'REJECTED': {
      const r = order.rejection;
      const why =
        r?.reason === 'OUT_OF_STOCK'
          ? `${itemName(order, r.sku)} ran out before we could hold it for you.`
          : r?.reason === 'UNKNOWN_SKU'
            ? `${itemName(order, r.sku)} is no longer sold.`
            : 'We could not hold your items.';
      return { title: 'We could not accept this order', detail: `${why} Nothing was charged. You can go back to the shop and order what is still available.` };
    }
    case 'CANCELLED':
      return {
        title: 'This order is cancelled',
        detail: 'Nothing was charged and your items were released. If a payment went through at the last moment, we will refund it in full.',
      };
    case 'EXPIRED':
      return {
        title: 'The hold on your items ended before payment arrived',
        detail: 'Nothing was charged and the items were released. If a payment went through at the last moment, we will honour it or refund it in full. You can place a new order.',
      };
    case 'REFUNDED':
      // The server says why (a late payment, a payment after cancelling) and whether the refund failed.
      return REFUND_FAILED.has(order.refund?.status ?? '')
        ? { title: 'Your refund did not go through', detail: order.closeReason ?? 'Our team has been told and will contact you.' }
        : {
            title: 'Your payment was refunded',
            detail: `${order.closeReason ?? 'We refunded your payment in full.'} Refunds take a few working days to reach your account.`,
          };
    case 'PAYMENT_MISMATCH':
      return {
        title: 'We are reviewing your payment',
        detail: 'The payment we received does not match the order total. Nothing more will be charged; we will contact you by e-mail.',
      };
  }
}
