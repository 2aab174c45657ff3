/**
 * What a payment event means for an order. Events are matched to orders by
 * the order id in the PaymentIntent's metadata and checked against the
 * PaymentIntent id stored on the order: an event for someone else's
 * PaymentIntent never moves an order.
 */
import type Stripe from 'stripe';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import type { Deps } from '../deps';
import { RetryLaterError } from '../errors';
import { logger } from '../logger';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

async function orderForIntent(pi: Stripe.PaymentIntent, action: string): Promise<OrderDoc | null> {
  const orderId = pi.metadata?.orderId;
  if (!orderId) {
    logger.info({ paymentIntentId: pi.id, action, outcome: 'skipped' }, 'payment event without an order id: not ours');
    return null;
  }
  const order = await Order.findById(orderId).lean<OrderDoc>();
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

export async function applyPaymentSucceeded(
  pi: Stripe.PaymentIntent,
  eventId: string,
  deps: Pick<Deps, 'enqueuer'>,
): Promise<StepOutcome> {
  const order = await orderForIntent(pi, 'mark-paid');
  if (!order) return 'skipped';
  const received = pi.amount_received || pi.amount;
  if (received !== order.totalMinor || pi.currency !== order.currency) {
    logger.error(
      { orderId: order._id, expected: [order.totalMinor, order.currency], got: [received, pi.currency], outcome: 'refused' },
      'PAYMENT MISMATCH: amount or currency differs from the order; not marking paid',
    );
    return 'refused';
  }
  const result = await transition(order._id, {
    from: 'PAYMENT_PENDING',
    to: 'PAID',
    set: { 'payment.succeededEventId': eventId, 'payment.amountReceived': received, 'payment.currency': pi.currency },
    detail: eventId,
  });
  const state = result.order?.state;
  if (state === 'PAID') await deps.enqueuer.finalize(order._id);
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
