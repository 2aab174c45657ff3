/**
 * Flags on an order for a human: problems no automatic step can resolve (a
 * PaymentIntent Stripe does not know, a paid line that could not be sold, a
 * refund that failed, a dispute). Each reason is recorded once; the operator
 * console lists flagged orders. Flagging never changes the order's state.
 */
import { Order } from '../../../prisma-free-models/order';
import { logger } from '../logger';

export type AttentionReason = 'payment-intent-missing' | 'unsold-lines' | 'refund-failed' | 'dispute';

export async function flagForAttention(orderId: string, reason: AttentionReason, detail: string): Promise<void> {
  const res = await Order.updateOne({ _id: orderId, 'attention.reason': { $ne: reason } }, { $push: { attention: { reason, detail, at: new Date() } } });
  if (res.modifiedCount === 1) logger.error({ orderId, reason, detail }, 'order flagged for a human');
}
