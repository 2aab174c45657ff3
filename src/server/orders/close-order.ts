/**
 * Closing an unpaid order: the customer cancels, or the hold time runs out.
 *
 * The transition to CANCELLED / EXPIRED records the work it leaves
 * (`pendingRelease`: the holds to give back; `pendingIntentCancel`: the
 * PaymentIntent to cancel) in the same write. `settleClosedOrder` does that
 * work, PaymentIntent first, and clears each marker when done; it is safe to
 * repeat and to run concurrently with itself and with a late payment's
 * webhook, and the reconciler re-drives it for any order whose markers
 * linger after a crash.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { crashPoint } from '../crash-points';
import type { Deps } from '../deps';
import { DomainError, RetryLaterError } from '../errors';
import { sameSecret } from '../ids';
import { releaseLines } from '../inventory/stock';
import { logger } from '../logger';
import { cancelPaymentIntent, createOrderPaymentIntent } from '../payments/payment-intents';
import { applyObservedSuccess } from '../webhooks/observed-success';
import { toOrderView, type OrderView } from './order-view';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';
import { flagForAttention } from './attention';
import { CANCELLABLE_STATES } from './states';

function closingFields(order: OrderDoc, reason: string): Record<string, unknown> {
  return {
    closeReason: reason,
    pendingRelease: order.holdRef,
    ...(order.paymentIntentId || order.paymentRequestedAt ? { pendingIntentCancel: true } : {}),
  };
}

/** The customer cancels an unpaid order. Repeating it is harmless; a paid order cannot be cancelled. */
export async function cancelOrder(orderId: string, accessToken: string, deps: Pick<Deps, 'enqueuer'>): Promise<OrderView> {
  // A few rounds: the order may move (reserved, payment requested) while we try.
  for (let round = 0; round < 5; round++) {
    const order = await Order.findById(orderId).lean<OrderDoc & { createdAt: Date }>();
    if (!order || !sameSecret(order.accessToken, accessToken)) {
      throw new DomainError('NOT_FOUND', 'Order not found', { field: 'orderId' });
    }
    if (order.state === 'CANCELLED') {
      logger.info({ orderId, state: order.state, action: 'cancel', outcome: 'already-done' }, 'cancel repeated');
      return toOrderView(order);
    }
    if (!CANCELLABLE_STATES.includes(order.state)) {
      throw new DomainError('ILLEGAL_TRANSITION', `The order is ${order.state} and can no longer be cancelled`, { field: 'orderId' });
    }
    const result = await transition(orderId, {
      from: order.state,
      to: 'CANCELLED',
      set: closingFields(order, 'cancelled by the customer'),
    });
    if (result.outcome === 'applied') {
      await deps.enqueuer.release(orderId);
      return toOrderView(result.order);
    }
  }
  throw new DomainError('UNAVAILABLE', 'The order is changing; try again');
}

/** The hold time ran out before payment. Early or repeated runs change nothing. */
export async function expireOrder(orderId: string, deps: Pick<Deps, 'enqueuer' | 'stripe'>): Promise<StepOutcome> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  const state = order?.state;
  if (!order || (state !== 'INVENTORY_RESERVED' && state !== 'PAYMENT_PENDING')) {
    logger.info({ orderId, state, action: 'expire', outcome: 'skipped' }, 'expiry not applicable');
    if (order && (order.pendingRelease || order.pendingIntentCancel)) await settleClosedOrder(orderId, deps);
    return 'skipped';
  }
  if (order.holdExpiresAt && order.holdExpiresAt.getTime() > Date.now()) {
    // Early (clocks differ): fail this run so BullMQ retries it with backoff;
    // the reconciler also expires overdue orders.
    throw new RetryLaterError(`order ${orderId} holds until ${order.holdExpiresAt.toISOString()}`);
  }
  const result = await transition(orderId, { from: order.state, to: 'EXPIRED', set: closingFields(order, 'payment not received in time') });
  crashPoint('expire:after-transition');
  if (result.outcome === 'applied') await settleClosedOrder(orderId, deps);
  return result.outcome;
}

async function recoverPaymentIntentId(order: OrderDoc, deps: Pick<Deps, 'stripe'>): Promise<string> {
  const intent = await createOrderPaymentIntent(deps.stripe, order);
  await Order.updateOne({ _id: order._id, paymentIntentId: { $exists: false } }, { $set: { paymentIntentId: intent.id } });
  return intent.id;
}

/**
 * Gives back the holds a closed (or rejected) order recorded as pending
 * release, then clears the marker; safe to repeat. The marker names the
 * reservation ref, so a release that runs late never frees a newer reservation.
 */
export async function releasePendingHolds(orderId: string, known?: OrderDoc): Promise<void> {
  const order = known ?? (await Order.findById(orderId).lean<OrderDoc>());
  const ref = order?.pendingRelease;
  if (!order || !ref) return;
  const released = await releaseLines(orderId, ref, order.lines);
  crashPoint('release:after-holds');
  await Order.updateOne({ _id: orderId, pendingRelease: ref }, { $unset: { pendingRelease: 1 } });
  logger.info({ orderId, state: order.state, action: 'release', ref, released, outcome: 'applied' }, 'holds released');
}

/**
 * Does the work a closed order left, in this order: first the PaymentIntent,
 * then the stock. The PaymentIntent decides what the stock is for: cancelled
 * (or unknown to Stripe), nobody can pay any more and the holds go back on
 * sale; found already succeeded, it is a late payment, applied here through
 * the same path as its webhook, which keeps the units the customer paid for
 * while they were still held. Releasing first would sell a paid buyer's unit
 * to someone else and refund them. Each marker is cleared only after its work.
 */
export async function settleClosedOrder(orderId: string, deps: Pick<Deps, 'stripe' | 'enqueuer'>): Promise<StepOutcome> {
  let order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order || (!order.pendingRelease && !order.pendingIntentCancel)) return 'already-done';
  if (order.pendingIntentCancel) {
    await closePaymentIntent(order, deps);
    order = await Order.findById(orderId).lean<OrderDoc>();
    if (!order) return 'already-done';
  }
  // A late payment accepted meanwhile took the holds over (their ref changed), so this frees nothing of it.
  if (order.pendingRelease) await releasePendingHolds(orderId, order);
  return 'applied';
}

async function closePaymentIntent(order: OrderDoc, deps: Pick<Deps, 'stripe' | 'enqueuer'>): Promise<void> {
  const orderId = order._id;
  // The id may never have been stored (the payment step died after Stripe
  // answered): the same idempotency key gives back that very PaymentIntent.
  const paymentIntentId = order.paymentIntentId ?? (await recoverPaymentIntentId(order, deps));
  const intent = await cancelPaymentIntent(deps.stripe, paymentIntentId);
  if (!intent) {
    // Stripe does not know it: nothing to cancel, nothing was paid. A human should know why.
    await flagForAttention(orderId, 'payment-intent-missing', `Stripe has no PaymentIntent ${paymentIntentId}`);
  } else if (intent.status === 'succeeded') {
    // Paid before we could cancel: a late payment. Apply it now rather than
    // trusting its webhook to arrive; the marker is cleared only afterwards.
    await applyObservedSuccess(intent, deps);
  }
  await Order.updateOne({ _id: orderId, pendingIntentCancel: true }, { $unset: { pendingIntentCancel: 1 } });
  logger.info({ orderId, paymentIntentId, status: intent?.status ?? 'missing', action: 'cancel-intent' }, 'PaymentIntent closed');
}
