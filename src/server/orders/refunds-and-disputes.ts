/**
 * What happens to a payment after it is taken: refunds (ours, or made from
 * Stripe's dashboard) and disputes. They never change an order's state (the
 * state table is about the sale); they are recorded on the order, shown to
 * its owner, and a refund that fails or a dispute flags the order for a
 * human. Refunds can fail after they were created as succeeded (Stripe
 * reports it later with refund.failed), so REFUNDED alone is not the end of
 * the story: `refund.status` is.
 *
 * Events are hints: each handler retrieves the object from Stripe and
 * records what Stripe says, so a false event changes nothing. Orders are
 * found by their PaymentIntent id (a unique key).
 */
import type Stripe from 'stripe';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import type { Deps } from '../deps';
import { logger } from '../logger';
import { isNoSuchObject } from '../payments/payment-intents';
import { flagForAttention } from './attention';
import type { StepOutcome } from './reserve-order';

/** Stripe's object, or null when Stripe does not know it (a false or foreign event): nothing to record, nothing to retry. */
async function knownToStripe<T>(what: string, retrieve: () => Promise<T>): Promise<T | null> {
  try {
    return await retrieve();
  } catch (err) {
    if (!isNoSuchObject(err)) throw err;
    logger.warn({ what, outcome: 'refused' }, 'payment event about an object Stripe does not know');
    return null;
  }
}

const idOf = (ref: string | { id: string } | null | undefined): string | undefined => (typeof ref === 'string' ? ref : ref?.id);

async function orderPaidBy(paymentIntentId: string | undefined, what: string): Promise<OrderDoc | null> {
  const order = paymentIntentId ? await Order.findOne({ paymentIntentId }).lean<OrderDoc>() : null;
  if (!order) logger.info({ paymentIntentId, what, outcome: 'skipped' }, 'payment event for no order of ours');
  return order;
}

/** refund.created / refund.updated / refund.failed: the refund's status as Stripe has it now. */
export async function applyRefundUpdate(claimed: Stripe.Refund, deps: Pick<Deps, 'stripe'>): Promise<StepOutcome> {
  const refund = await knownToStripe(`refund ${claimed.id}`, () => deps.stripe.refunds.retrieve(claimed.id));
  if (!refund) return 'refused';
  const order = await orderPaidBy(idOf(refund.payment_intent), `refund ${refund.id}`);
  if (!order) return 'skipped';
  const record = { id: refund.id, amount: refund.amount, status: refund.status ?? 'pending', failureReason: refund.failure_reason ?? null };
  // Our own full refund is the order's `refund`; others (from Stripe's dashboard) are recorded alongside.
  const ours = !order.refund?.id || order.refund.id === refund.id;
  if (ours) {
    await Order.updateOne(
      { _id: order._id },
      { $set: { 'refund.id': record.id, 'refund.amount': record.amount, 'refund.status': record.status, 'refund.failureReason': record.failureReason, 'refund.at': order.refund?.at ?? new Date() } },
    );
  } else {
    await Order.updateOne({ _id: order._id, 'otherRefunds.id': { $ne: refund.id } }, { $push: { otherRefunds: record } });
    await Order.updateOne({ _id: order._id, 'otherRefunds.id': refund.id }, { $set: { 'otherRefunds.$[r].status': record.status } }, { arrayFilters: [{ 'r.id': refund.id }] });
  }
  if (refund.status === 'failed' || refund.status === 'canceled') {
    await flagForAttention(order._id, 'refund-failed', `refund ${refund.id} ${refund.status}${refund.failure_reason ? `: ${refund.failure_reason}` : ''}`);
  }
  logger.info({ orderId: order._id, refundId: refund.id, status: refund.status, action: 'record-refund' }, 'refund recorded');
  return 'applied';
}

/** charge.refunded: how much of the payment has been given back in all. */
export async function applyChargeRefunded(claimed: Stripe.Charge, deps: Pick<Deps, 'stripe'>): Promise<StepOutcome> {
  const charge = await knownToStripe(`charge ${claimed.id}`, () => deps.stripe.charges.retrieve(claimed.id));
  if (!charge) return 'refused';
  const order = await orderPaidBy(idOf(charge.payment_intent), `charge ${charge.id}`);
  if (!order) return 'skipped';
  await Order.updateOne({ _id: order._id }, { $set: { 'payment.amountRefunded': charge.amount_refunded } });
  logger.info({ orderId: order._id, amountRefunded: charge.amount_refunded, action: 'record-refund' }, 'charge refunds recorded');
  return 'applied';
}

/** charge.dispute.created: the customer's bank disputes the payment; a human must respond. */
export async function applyDisputeCreated(claimed: Stripe.Dispute, deps: Pick<Deps, 'stripe'>): Promise<StepOutcome> {
  const dispute = await knownToStripe(`dispute ${claimed.id}`, () => deps.stripe.disputes.retrieve(claimed.id));
  if (!dispute) return 'refused';
  const order = await orderPaidBy(idOf(dispute.payment_intent), `dispute ${dispute.id}`);
  if (!order) return 'skipped';
  await Order.updateOne(
    { _id: order._id },
    { $set: { dispute: { id: dispute.id, amount: dispute.amount, currency: dispute.currency, reason: dispute.reason, status: dispute.status, at: new Date(dispute.created * 1000) } } },
  );
  await flagForAttention(order._id, 'dispute', `dispute ${dispute.id}: ${dispute.reason}, ${dispute.status}`);
  return 'applied';
}
