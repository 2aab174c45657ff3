/**
 * An operator's decision on a PAYMENT_MISMATCH order: give the money back.
 *
 * The refund goes through the same path as a late payment's: one Stripe
 * refund of the whole amount received, under the order's refund idempotency
 * key (`order-<id>-refund`), so repeating the action, two operators clicking
 * at once, or a retry after a crash between the refund and the transition all
 * end with one refund. The state moves PAYMENT_MISMATCH → REFUNDED through the
 * state machine, recording the refund in the same write. The mismatched stock
 * was already released when the order was flagged.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import type { Deps } from '../deps';
import { DomainError } from '../errors';
import { logger } from '../logger';
import { refundOrderPayment } from '../payments/payment-intents';
import type { StepOutcome } from './reserve-order';
import { transition } from './state-machine';

export interface RefundMismatchResult {
  outcome: Extract<StepOutcome, 'applied' | 'already-done'>;
  refund: { id: string; amount: number };
}

/** What Stripe says when it will not refund (disputed, already refunded by hand), as a message for the operator. */
function refusal(err: unknown): string | null {
  const e = err as { type?: string; code?: string; message?: string } | null;
  return e?.type === 'StripeInvalidRequestError' ? `${e.code ?? 'refused'}: ${e.message ?? 'Stripe refused the refund'}` : null;
}

export async function refundMismatchedPayment(orderId: string, deps: Pick<Deps, 'stripe'>): Promise<RefundMismatchResult> {
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (!order) throw new DomainError('NOT_FOUND', 'Order not found', { field: 'orderId' });
  if (order.state === 'REFUNDED' && order.refund?.id) {
    logger.info({ orderId, state: order.state, action: 'refund-mismatch', outcome: 'already-done' }, 'mismatch refund repeated');
    return { outcome: 'already-done', refund: { id: order.refund.id, amount: order.refund.amount ?? 0 } };
  }
  if (order.state !== 'PAYMENT_MISMATCH' || !order.paymentIntentId) {
    throw new DomainError('ILLEGAL_TRANSITION', `The order is ${order.state}: only a PAYMENT_MISMATCH order can be refunded here`, { field: 'orderId' });
  }

  let refund;
  try {
    refund = await refundOrderPayment(deps.stripe, orderId, order.paymentIntentId);
  } catch (err) {
    const why = refusal(err);
    if (!why) throw err;
    logger.error({ orderId, state: order.state, action: 'refund-mismatch', outcome: 'refused', why }, 'Stripe refused the mismatch refund');
    throw new DomainError('REFUND_REFUSED', `Stripe refused the refund (${why})`, { field: 'orderId' });
  }

  const result = await transition(orderId, {
    from: 'PAYMENT_MISMATCH',
    to: 'REFUNDED',
    set: { refund: { id: refund.id, amount: refund.amount, at: new Date() } },
    detail: refund.id,
  });
  if (result.outcome === 'refused') {
    throw new DomainError('ILLEGAL_TRANSITION', `The order could not be refunded: ${result.reason}`, { field: 'orderId' });
  }
  logger.warn({ orderId, state: 'REFUNDED', action: 'refund-mismatch', outcome: result.outcome, refundId: refund.id }, 'mismatched payment refunded by an operator');
  return { outcome: result.outcome, refund: { id: refund.id, amount: refund.amount } };
}
