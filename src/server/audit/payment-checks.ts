/**
 * Payment invariants, judged on evidence (what Stripe answered when an event
 * was processed, or Stripe itself), never on what an event claims: no order
 * is charged twice (at most one PaymentIntent confirmed succeeded for the
 * order, and it is the order's own); every CONFIRMED / PAID order records the
 * PaymentIntent, the stored event that paid it and the amount and currency,
 * all equal to the order's; a REFUNDED order records its refund. With a
 * Stripe client, Stripe itself is asked too: the PaymentIntent succeeded for
 * the order's amount, the refund succeeded for the order's PaymentIntent.
 * And money taken for an order that was closed (a late payment) must end
 * accepted or refunded, never sit on a CANCELLED / EXPIRED order.
 * Money is where the system must never be wrong, so its records are
 * cross-checked from both ends.
 */
import type Stripe from 'stripe';
import { CLOSED_UNPAID_STATES } from '../orders/states';
import { age, isYoung, orderSubject, type AuditContext, type AuditEvent, type AuditOrder, type Violation } from './types';

export const SUCCEEDED = 'payment_intent.succeeded';

/**
 * The PaymentIntent an event is evidence of: what Stripe answered when the
 * event was processed (`verified`), never what the event itself claims. An
 * event not processed yet, or whose PaymentIntent had not succeeded, is
 * evidence of nothing.
 */
export interface EventIntent {
  eventId: string;
  id: string;
  amount: number;
  currency: string;
  orderId: string | undefined;
  receivedAt: Date;
}

export function verifiedIntent(event: Pick<AuditEvent, '_id' | 'type' | 'verified' | 'receivedAt'>): EventIntent | null {
  const v = event.verified;
  if (event.type !== SUCCEEDED || v?.status !== 'succeeded' || !v.paymentIntentId) return null;
  return { eventId: event._id, id: v.paymentIntentId, amount: v.amountReceived ?? 0, currency: v.currency ?? '', orderId: v.orderId ?? undefined, receivedAt: event.receivedAt };
}

/** `intents`: the verified successes naming this order. */
export function checkChargedOnce(order: Pick<AuditOrder, '_id' | 'paymentIntentId'>, intents: readonly EventIntent[]): Violation | null {
  const byIntent = new Map<string, string[]>();
  for (const i of intents) byIntent.set(i.id, [...(byIntent.get(i.id) ?? []), i.eventId]);
  const list = [...byIntent].map(([pi, events]) => `${pi} (${events.join(', ')})`).join('; ');
  if (byIntent.size > 1) {
    return {
      check: 'payment.charged-twice',
      subject: orderSubject(order._id),
      message: `expected at most one succeeded PaymentIntent, found ${byIntent.size}: ${list}`,
    };
  }
  const [only] = byIntent.keys();
  if (only && order.paymentIntentId && only !== order.paymentIntentId) {
    return {
      check: 'payment.foreign-intent',
      subject: orderSubject(order._id),
      message: `expected the succeeded PaymentIntent to be the order's ${order.paymentIntentId}, found ${list}`,
    };
  }
  return null;
}

/** CONFIRMED / PAID: the payment is fully recorded and matches what Stripe confirmed when its event was processed. */
export function checkPaymentRecord(order: AuditOrder, eventsById: ReadonlyMap<string, AuditEvent>): Violation[] {
  if (order.state !== 'CONFIRMED' && order.state !== 'PAID') return [];
  const subject = orderSubject(order._id);
  const record = (message: string): Violation => ({ check: 'payment.record', subject, message: `${order.state} order: ${message}` });
  const wrongEvent = (message: string): Violation => ({ check: 'payment.event', subject, message: `${order.state} order: ${message}` });
  const out: Violation[] = [];
  const p = order.payment;
  if (!order.paymentIntentId) out.push(record('expected a paymentIntentId, found none'));
  if (p?.amountReceived !== order.totalMinor) {
    out.push(record(`expected payment.amountReceived ${order.totalMinor} (totalMinor), found ${String(p?.amountReceived ?? 'none')}`));
  }
  if (p?.currency !== order.currency) out.push(record(`expected payment.currency ${order.currency}, found ${String(p?.currency ?? 'none')}`));
  const eventId = p?.succeededEventId;
  if (!eventId) {
    out.push(record('expected payment.succeededEventId, found none'));
    return out;
  }
  const stored = eventsById.get(eventId);
  if (!stored) {
    out.push(wrongEvent(`expected payment.succeededEventId ${eventId} to be a stored WebhookEvent, found none`));
    return out;
  }
  const pi = verifiedIntent(stored);
  if (!pi) {
    out.push(wrongEvent(`expected event ${eventId} to be a ${SUCCEEDED} that Stripe confirmed, found type ${stored.type}, verified status ${String(stored.verified?.status ?? 'none')}`));
    return out;
  }
  if (pi.id !== order.paymentIntentId) {
    out.push(wrongEvent(`expected event ${eventId} confirmed for PaymentIntent ${String(order.paymentIntentId)}, found ${pi.id}`));
  }
  if (pi.amount !== order.totalMinor || pi.currency !== order.currency) {
    out.push(wrongEvent(`expected event ${eventId} confirmed paying ${order.totalMinor} ${order.currency}, found ${pi.amount} ${pi.currency}`));
  }
  return out;
}

/** A CANCELLED / EXPIRED order whose own PaymentIntent succeeded (a late payment) must not stay closed. */
export function checkLatePaymentSettled(
  order: Pick<AuditOrder, '_id' | 'state' | 'paymentIntentId'>,
  intents: readonly EventIntent[],
  ctx: AuditContext,
): Violation | null {
  if (!CLOSED_UNPAID_STATES.has(order.state)) return null;
  const paid = intents.filter((i) => i.id === order.paymentIntentId).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime())[0];
  if (!paid || isYoung(paid.receivedAt, ctx)) return null;
  return {
    check: 'payment.unsettled',
    subject: orderSubject(order._id),
    message: `${order.state} order: expected its payment (${paid.id}, event ${paid.eventId} received ${age(paid.receivedAt, ctx)}) accepted (PAID) or refunded (REFUNDED), found the order still ${order.state}`,
  };
}

/** A customer who cancelled did not want the goods: a payment after the cancel is refunded, never kept. */
export function checkNotPaidAfterCancel(order: Pick<AuditOrder, '_id' | 'state' | 'history'>): Violation | null {
  if (order.state !== 'PAID' && order.state !== 'CONFIRMED') return null;
  if (!order.history.some((h) => h.action === 'cancel')) return null;
  return {
    check: 'payment.after-cancel',
    subject: orderSubject(order._id),
    message: `expected an order its customer cancelled to end REFUNDED, found ${order.state} (history: ${order.history.map((h) => h.action).join(' → ')})`,
  };
}

export function checkRefundRecord(order: Pick<AuditOrder, '_id' | 'state' | 'refund'>): Violation | null {
  if (order.state !== 'REFUNDED' || order.refund?.id) return null;
  return { check: 'refund.record', subject: orderSubject(order._id), message: 'REFUNDED order: expected refund.id, found none' };
}

const isMissing = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** Asks Stripe about a CONFIRMED / PAID order's PaymentIntent or a REFUNDED order's refund. Other errors are thrown: the audit could not be done. */
export async function checkAtStripe(order: AuditOrder, stripe: Stripe, ctx: AuditContext): Promise<Violation[]> {
  const subject = orderSubject(order._id);
  if ((CLOSED_UNPAID_STATES.has(order.state) || order.state === 'PAYMENT_PENDING') && order.paymentIntentId && !isYoung(order.stateChangedAt, ctx)) {
    // Closing cancels the PaymentIntent; one that succeeded first is a late payment to accept or refund.
    // A PAYMENT_PENDING order's succeeded payment must have been applied (webhook, or the reconciler).
    const pi = await stripe.paymentIntents.retrieve(order.paymentIntentId, { expand: ['latest_charge'] }).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw err;
    });
    if (pi?.status !== 'succeeded') return [];
    const charge = typeof pi.latest_charge === 'object' ? pi.latest_charge : null;
    const paidAt = charge ? new Date(charge.created * 1000) : order.stateChangedAt;
    if (isYoung(paidAt, ctx)) return [];
    return [
      {
        check: 'payment.unsettled',
        subject,
        message: `${order.state} order: PaymentIntent ${pi.id} succeeded at Stripe (${pi.amount_received} ${pi.currency}, ${age(paidAt, ctx)}); expected the payment applied (PAID / CONFIRMED) or refunded (REFUNDED), found the order still ${order.state}`,
      },
    ];
  }
  if ((order.state === 'CONFIRMED' || order.state === 'PAID') && order.paymentIntentId) {
    const v = (message: string): Violation => ({ check: 'payment.stripe', subject, message: `PaymentIntent ${order.paymentIntentId}: ${message}` });
    let pi: Stripe.PaymentIntent;
    try {
      pi = await stripe.paymentIntents.retrieve(order.paymentIntentId);
    } catch (err) {
      if (isMissing(err)) return [v(`expected it at Stripe, found none (${(err as Error).message})`)];
      throw err;
    }
    const out: Violation[] = [];
    if (pi.status !== 'succeeded') out.push(v(`expected status succeeded for a ${order.state} order, found ${pi.status}`));
    if (pi.amount_received !== order.totalMinor || pi.currency !== order.currency) {
      out.push(v(`expected ${order.totalMinor} ${order.currency} received, found ${pi.amount_received} ${pi.currency}`));
    }
    if (pi.metadata?.orderId !== order._id) out.push(v(`expected metadata.orderId ${order._id}, found ${String(pi.metadata?.orderId ?? 'none')}`));
    return out;
  }
  if (order.state === 'REFUNDED' && order.refund?.id) {
    const v = (message: string): Violation => ({ check: 'refund.stripe', subject, message: `refund ${order.refund?.id}: ${message}` });
    let refund: Stripe.Refund;
    try {
      refund = await stripe.refunds.retrieve(order.refund.id);
    } catch (err) {
      if (isMissing(err)) return [v(`expected it at Stripe, found none (${(err as Error).message})`)];
      throw err;
    }
    const intent = typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
    const out: Violation[] = [];
    if (intent !== order.paymentIntentId) out.push(v(`expected it to refund PaymentIntent ${String(order.paymentIntentId)}, found ${String(intent)}`));
    if (refund.status !== 'succeeded') out.push(v(`expected status succeeded, found ${String(refund.status)}`));
    return out;
  }
  return [];
}
