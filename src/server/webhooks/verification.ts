/**
 * Evidence, not claims: a payment event says a PaymentIntent succeeded; what
 * Stripe answers when we retrieve that PaymentIntent is what we record, on
 * the stored event, for the auditor and for people. A validly signed but
 * false event (wrong amount, an intent never paid) therefore never becomes
 * the record of a payment.
 */
import type Stripe from 'stripe';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';

export async function recordVerification(eventId: string, claimedIntentId: string, pi: Stripe.PaymentIntent | null): Promise<void> {
  const verified = pi
    ? { paymentIntentId: pi.id, status: pi.status, amountReceived: pi.amount_received, currency: pi.currency, orderId: pi.metadata?.orderId, at: new Date() }
    : { paymentIntentId: claimedIntentId, status: 'unknown', at: new Date() };
  await WebhookEvent.updateOne({ _id: eventId }, { $set: { verified } });
}
