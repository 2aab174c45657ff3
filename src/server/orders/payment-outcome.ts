/**
 * What a payment event means for an order. Events are matched to orders by
 * the order id in the PaymentIntent's metadata and checked against the
 * PaymentIntent id stored on the order: an event for someone else's
 * PaymentIntent never moves an order.
 *
 * Events may arrive in any order and any number of times:
 *   succeeded, order PAYMENT_PENDING         -> PAID, then CONFIRMED (finalization, in this job)
 *   succeeded, order PAID                    -> finalization (an earlier run stopped after PAID)
 *   succeeded, order CONFIRMED               -> nothing (already done)
 *   succeeded, order EXPIRED                 -> late payment: hold the stock again
 *                                               and accept (PAID), or refund (REFUNDED)
 *   succeeded, order CANCELLED               -> refunded: the customer cancelled
 *   succeeded, Stripe does not know the intent -> nothing (logged)
 *   succeeded, but Stripe says the intent has not succeeded -> nothing (logged)
 *   succeeded, amount or currency wrong      -> PAYMENT_MISMATCH, never PAID
 *   succeeded before our PAYMENT_PENDING write landed -> retried later
 *   payment_failed, order PAYMENT_PENDING    -> failure recorded, still payable
 *   payment_failed, any other state          -> nothing (a success or closing won)
 *
 * The first case, the usual one, is one conditional write; for the others
 * the order is read (that write's refusal reads it) and decided on.
 */
import type Stripe from 'stripe';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import type { Deps } from '../deps';
import { RetryLaterError } from '../errors';
import { finalizeOrderAsRead } from './finalize-order';
import { LATE_HOLD_REF, releaseLines, reserveLines } from '../inventory/stock';
import { logger } from '../logger';
import { recordVerification } from '../webhooks/verification';
import { refundOrderPayment, retrievePaymentIntentIfKnown } from '../payments/payment-intents';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';
import { CLOSED_UNPAID_STATES, HOLDING_STATES, type OrderState } from './states';

async function orderForIntent(pi: Stripe.PaymentIntent, action: string): Promise<OrderDoc | null> {
  const orderId = orderIdOf(pi, action);
  return orderId ? ourOrder(await Order.findById(orderId).lean<OrderDoc>(), pi, orderId, action) : null;
}

function orderIdOf(pi: Stripe.PaymentIntent, action: string): string | null {
  const orderId = pi.metadata?.orderId;
  if (!orderId) logger.info({ paymentIntentId: pi.id, action, outcome: 'skipped' }, 'payment event without an order id: not ours');
  return orderId || null;
}

/** The order the event names, if the event's PaymentIntent is the one recorded on it. */
function ourOrder(order: OrderDoc | null, pi: Stripe.PaymentIntent, orderId: string, action: string): OrderDoc | null {
  if (!order) {
    logger.warn({ orderId, paymentIntentId: pi.id, action, outcome: 'skipped' }, 'payment event for an unknown order');
    return null;
  }
  if (order.paymentIntentId === pi.id) return order;
  if (!order.paymentIntentId && (order.state === 'CREATED' || order.state === 'INVENTORY_RESERVED')) {
    // Our own write of the PaymentIntent id has not landed yet: try again shortly.
    throw new RetryLaterError(`order ${orderId} has no PaymentIntent recorded yet`);
  }
  logger.error(
    { orderId, paymentIntentId: pi.id, recorded: order.paymentIntentId, action, outcome: 'refused' },
    'payment event for a PaymentIntent that is not the order’s',
  );
  return null;
}

/**
 * Finalization right after the order became PAID, in the job that made it
 * so: one job and one read of the order fewer per sale than handing it to
 * the finalization queue. It is the same step that queue runs (safe twice,
 * concurrently, and killed anywhere). If it fails here, the finalization job
 * takes it over; a crash before or during it leaves the order PAID, which
 * this event job's retry (it finds the order PAID) and the reconciler both
 * finalize.
 */
async function finalizeNow(order: OrderDoc, deps: Pick<Deps, 'enqueuer'>): Promise<void> {
  crashPoint('mark-paid:after-paid');
  try {
    await finalizeOrderAsRead(order);
  } catch (err) {
    logger.warn({ orderId: order._id, err }, 'finalization after payment failed; the finalization job takes it over');
    await deps.enqueuer.finalize(order._id);
  }
}

const paymentFields = (pi: Stripe.PaymentIntent, eventId: string, received: number) => ({
  'payment.succeededEventId': eventId,
  'payment.amountReceived': received,
  'payment.currency': pi.currency,
});

export async function applyPaymentSucceeded(
  claimed: Stripe.PaymentIntent,
  eventId: string,
  deps: Pick<Deps, 'enqueuer' | 'stripe'>,
): Promise<StepOutcome> {
  const orderId = orderIdOf(claimed, 'mark-paid');
  if (!orderId) return 'skipped';
  // The event says the money arrived; Stripe itself must agree. An event is
  // a hint (it may be stale, replayed from a test, or signed by anyone who
  // holds the webhook secret); the PaymentIntent is the record.
  const pi = await retrievePaymentIntentIfKnown(deps.stripe, claimed.id);
  await recordVerification(eventId, claimed.id, pi);
  if (!pi || pi.status !== 'succeeded') {
    // Refused if it is about the order's own PaymentIntent; not ours (skipped) otherwise.
    if (!(await orderForIntent(claimed, 'mark-paid'))) return 'skipped';
    if (!pi) logger.error({ orderId, paymentIntentId: claimed.id, eventId, outcome: 'refused' }, 'success event for a PaymentIntent Stripe does not know; nothing marked paid');
    else {
      logger.error(
        { orderId, paymentIntentId: pi.id, eventId, status: pi.status, outcome: 'refused' },
        'success event not confirmed by Stripe: the PaymentIntent has not succeeded; nothing marked paid',
      );
    }
    return 'refused';
  }
  const received = pi.amount_received;
  // The usual case in one conditional write, without reading the order
  // first: it awaits exactly this payment (its PaymentIntent, amount and
  // currency). Anything else is decided below on the order as it is.
  const paid = await transition(orderId, {
    from: 'PAYMENT_PENDING',
    to: 'PAID',
    where: { paymentIntentId: pi.id, totalMinor: received, currency: pi.currency },
    set: paymentFields(pi, eventId, received),
    detail: eventId,
  });
  if (paid.outcome === 'applied') {
    await finalizeNow(paid.order, deps);
    return 'applied';
  }
  const order = ourOrder(paid.order, pi, orderId, 'mark-paid');
  if (!order) return 'skipped';
  if (received !== order.totalMinor || pi.currency !== order.currency) {
    return flagMismatch(order, pi, eventId, received, deps);
  }
  // Lost a race with expiry or cancel, or came after it: a late payment.
  if (CLOSED_UNPAID_STATES.has(order.state)) return settleLatePayment(order, pi, eventId, received, deps);
  // Became payable only after the write above was refused: the retry finds it so.
  if (order.state === 'PAYMENT_PENDING') throw new RetryLaterError(`order ${orderId} became payable meanwhile`);
  if (order.state === 'PAID') await finalizeNow(order, deps);
  logger.info({ orderId, state: order.state, action: 'mark-paid', outcome: 'already-done' }, 'payment already applied');
  return 'already-done';
}

type LateDecision = 'accept' | 'refund';

/**
 * A payment for an order that was closed. After the customer's own cancel it
 * is refunded: they did not want the goods. After expiry it is accepted if
 * every line can be held again (taking over holds not released yet), else
 * refunded.
 *
 * Decide first, act after. The decision is written on the order once, by a
 * conditional update, and every run (the webhook's, the reconciler's, a
 * retry) follows the one written; nothing is given back before it exists, so
 * runs never free each other's holds. Each transition is conditional on the
 * decision it follows. An accepted payment whose stock has gone after all
 * (which no step should cause) falls back to a refund rather than waiting
 * forever: the switch is itself one conditional update, and the accept
 * transition requires the decision still to be accept.
 */
async function settleLatePayment(
  order: OrderDoc,
  pi: Stripe.PaymentIntent,
  eventId: string,
  received: number,
  deps: Pick<Deps, 'enqueuer' | 'stripe'>,
): Promise<StepOutcome> {
  const orderId = order._id;
  const closed = order.state;
  let decision = order.lateDecision as LateDecision | undefined;
  if (!decision) {
    let proposal: LateDecision = 'refund';
    if (closed === 'EXPIRED') {
      const held = await reserveLines(orderId, LATE_HOLD_REF, order.lines, { adoptRef: order.holdRef });
      crashPoint('late-payment:after-reserve');
      if (held.ok) proposal = 'accept';
    }
    decision = await decideOnce(orderId, closed, { lateDecision: { $exists: false } }, proposal);
  }
  logger.warn({ orderId, state: closed, decision, action: 'late-payment' }, 'payment arrived after the order closed');

  if (decision === 'accept') {
    const held = await reserveLines(orderId, LATE_HOLD_REF, order.lines, { adoptRef: order.holdRef });
    if (held.ok) {
      const result = await transition(orderId, {
        from: closed,
        to: 'PAID',
        where: { lateDecision: 'accept' },
        set: { ...paymentFields(pi, eventId, received), holdRef: LATE_HOLD_REF },
        // Nothing is left to release or cancel: the holds are this payment's, its PaymentIntent succeeded.
        unset: ['pendingRelease', 'pendingIntentCancel'],
        detail: `late ${eventId}`,
      });
      if (result.order?.state === 'PAID') await finalizeNow(result.order, deps);
      if (result.outcome !== 'refused' || result.order?.state !== closed) return result.outcome;
    } else {
      logger.error({ orderId, sku: held.sku, action: 'late-payment' }, 'accepted late payment cannot hold its stock; refunding instead');
      await decideOnce(orderId, closed, { lateDecision: 'accept' }, 'refund');
    }
    // Switched to a refund (by this run or another): follow it.
    decision = (await Order.findById(orderId, { lateDecision: 1 }).lean<Pick<OrderDoc, 'lateDecision'>>())?.lateDecision as LateDecision | undefined;
  }
  if (decision === 'refund') {
    const refund = await refundOrderPayment(deps.stripe, orderId, pi.id);
    crashPoint('late-payment:after-refund');
    const result = await transition(orderId, {
      from: closed,
      to: 'REFUNDED',
      where: { lateDecision: 'refund' },
      // Dotted fields: the refund's status comes from Stripe's refund events, which may already be recorded.
      set: { ...paymentFields(pi, eventId, received), 'refund.id': refund.id, 'refund.amount': refund.amount, 'refund.at': new Date() },
      unset: ['pendingIntentCancel'],
      detail: refund.id,
    });
    // The order holds nothing now; what a run took for it before the decision goes back.
    await releaseLines(orderId, LATE_HOLD_REF, order.lines);
    return result.outcome;
  }
  // The order left the closed state meanwhile: another run finished it. If it
  // ended holding nothing (refunded), what this run took before deciding goes back.
  const now = await Order.findById(orderId, { state: 1 }).lean<Pick<OrderDoc, 'state'>>();
  if (now && !HOLDING_STATES.has(now.state) && !CLOSED_UNPAID_STATES.has(now.state)) await releaseLines(orderId, LATE_HOLD_REF, order.lines);
  return 'already-done';
}

/**
 * Writes a late-payment decision on a closed order if `condition` still holds,
 * and returns the decision the order carries afterwards (this one, another
 * run's, or none if the order is no longer in `closed`).
 */
async function decideOnce(orderId: string, closed: OrderState, condition: Record<string, unknown>, decision: LateDecision): Promise<LateDecision | undefined> {
  const filter: Record<string, unknown> = { ...condition, _id: orderId, state: closed };
  const decided = await Order.findOneAndUpdate(filter, { $set: { lateDecision: decision } }, { returnDocument: 'after' }).lean<OrderDoc>();
  const now = decided ?? (await Order.findById(orderId).lean<OrderDoc>());
  return now?.state === closed ? (now.lateDecision as LateDecision | undefined) : undefined;
}

async function flagMismatch(
  order: OrderDoc,
  pi: Stripe.PaymentIntent,
  eventId: string,
  received: number,
  deps: Pick<Deps, 'enqueuer'>,
): Promise<StepOutcome> {
  logger.error(
    { orderId: order._id, state: order.state, expected: [order.totalMinor, order.currency], got: [received, pi.currency], outcome: 'refused' },
    'PAYMENT MISMATCH: amount or currency differs from the order; flagged for review, never PAID',
  );
  if (order.state !== 'PAYMENT_PENDING' && !CLOSED_UNPAID_STATES.has(order.state)) return 'refused';
  const result = await transition(order._id, {
    from: order.state,
    to: 'PAYMENT_MISMATCH',
    set: {
      ...paymentFields(pi, eventId, received),
      // Stock goes back on sale; a human decides about the money.
      ...(HOLDING_STATES.has(order.state) ? { pendingRelease: order.holdRef } : {}),
    },
    detail: `${received} ${pi.currency}`,
  });
  if (result.outcome === 'applied') await deps.enqueuer.release(order._id);
  return result.outcome;
}

/** A failed attempt: recorded for the customer, the order stays payable. */
export async function applyPaymentFailed(pi: Stripe.PaymentIntent): Promise<StepOutcome> {
  const order = await orderForIntent(pi, 'record-payment-failure');
  if (!order) return 'skipped';
  const err = pi.last_payment_error;
  const res = await Order.updateOne(
    { _id: order._id, paymentIntentId: pi.id, state: 'PAYMENT_PENDING' },
    {
      $set: {
        'payment.lastError': { code: err?.decline_code ?? err?.code ?? 'payment_failed', message: err?.message ?? 'Payment failed', at: new Date() },
      },
    },
  );
  const outcome: StepOutcome = res.modifiedCount === 1 ? 'applied' : 'skipped';
  logger.info({ orderId: order._id, state: order.state, action: 'record-payment-failure', outcome }, 'payment failed');
  return outcome;
}
