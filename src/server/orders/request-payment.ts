/**
 * Payment step: INVENTORY_RESERVED -> PAYMENT_PENDING with the order's one
 * PaymentIntent. A crash between "PaymentIntent created" and "id stored" is
 * harmless: the retry sends the same Stripe idempotency key and gets the same
 * PaymentIntent back, so there is never a second one.
 *
 * The payment job runs the whole step. placeOrder runs its second half
 * (requestMarkedPayment) on the order it has just reserved, whose reservation
 * wrote the mark together with the state (reserve-order.ts, `payHere`).
 */
import type Stripe from 'stripe';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import type { Deps } from '../deps';
import { logger } from '../logger';
import { createOrderPaymentIntent } from '../payments/payment-intents';
import type { StepOutcome } from './reserve-order';
import { transition, type TransitionResult } from './state-machine';

export async function requestPayment(orderId: string, deps: Pick<Deps, 'stripe' | 'enqueuer'>): Promise<StepOutcome> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order) {
    logger.warn({ orderId, action: 'request-payment', outcome: 'skipped' }, 'payment request for a missing order');
    return 'skipped';
  }
  if (order.state !== 'INVENTORY_RESERVED') {
    logger.info({ orderId, state: order.state, action: 'request-payment', outcome: 'already-done' }, 'payment request not needed');
    return 'already-done';
  }
  // Mark the order before calling Stripe: if we die between Stripe's answer
  // and storing its id, closing the order still knows an intent may exist.
  const marked = await Order.updateOne({ _id: orderId, state: 'INVENTORY_RESERVED' }, { $set: { paymentRequestedAt: new Date() } });
  if (marked.matchedCount === 0) return 'already-done';
  return (await requestMarkedPayment(order, deps)).outcome;
}

/**
 * The step after the mark: the PaymentIntent, then the transition. `order`
 * was read INVENTORY_RESERVED with `paymentRequestedAt` already stored (or
 * stored since); `limits` bounds the call to Stripe.
 */
export async function requestMarkedPayment(
  order: OrderDoc,
  deps: Pick<Deps, 'stripe' | 'enqueuer'>,
  limits?: Pick<Stripe.RequestOptions, 'timeout' | 'maxNetworkRetries'>,
): Promise<TransitionResult> {
  const orderId = order._id;
  const intent = await createOrderPaymentIntent(deps.stripe, order, limits);
  crashPoint('request-payment:after-intent');
  const result = await transition(orderId, {
    from: 'INVENTORY_RESERVED',
    to: 'PAYMENT_PENDING',
    set: { paymentIntentId: intent.id, clientSecret: intent.client_secret },
    detail: intent.id,
  });
  if (result.outcome === 'refused' && result.order && result.order.state !== 'PAYMENT_PENDING') {
    // Closed while we created the intent: remember it so its events still map
    // to the order, and have it cancelled so nobody can pay it.
    await Order.updateOne(
      { _id: orderId, paymentIntentId: { $exists: false } },
      { $set: { paymentIntentId: intent.id, pendingIntentCancel: true } },
    );
    await deps.enqueuer.release(orderId);
  }
  return result;
}
