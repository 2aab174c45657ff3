/**
 * Processing a recorded Stripe event, in the worker. A map from event type to
 * the domain function that applies it; each is idempotent, and the event is
 * marked processed only after it was applied, so a crash in between means it
 * is applied again (harmlessly), never skipped.
 */
import type Stripe from 'stripe';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import type { Deps } from '../deps';
import { crashPoint } from '../crash-points';
import { logger } from '../logger';
import { dropEventEntry } from '../open-work/open-events';
import { keepOpen } from '../open-work/open-orders';
import { applyPaymentFailed, applyPaymentSucceeded } from '../orders/payment-outcome';
import { recordPaymentEvent } from '../orders/payment-events-view';
import type { StepOutcome } from '../orders/reserve-order';
import { applyChargeRefunded, applyDisputeCreated, applyRefundUpdate } from '../orders/refunds-and-disputes';

type Handler = (event: Stripe.Event, deps: Pick<Deps, 'enqueuer' | 'stripe'>) => Promise<StepOutcome>;

const handlers: Record<string, Handler> = {
  'payment_intent.succeeded': (e, deps) => applyPaymentSucceeded(e.data.object as Stripe.PaymentIntent, e.id, deps),
  'payment_intent.payment_failed': (e) => applyPaymentFailed(e.data.object as Stripe.PaymentIntent),
  'refund.created': (e, deps) => applyRefundUpdate(e.data.object as Stripe.Refund, deps),
  'refund.updated': (e, deps) => applyRefundUpdate(e.data.object as Stripe.Refund, deps),
  'refund.failed': (e, deps) => applyRefundUpdate(e.data.object as Stripe.Refund, deps),
  'charge.refunded': (e, deps) => applyChargeRefunded(e.data.object as Stripe.Charge, deps),
  'charge.dispute.created': (e, deps) => applyDisputeCreated(e.data.object as Stripe.Dispute, deps),
};

export const HANDLED_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(handlers));

export async function processWebhookEvent(eventId: string, deps: Pick<Deps, 'enqueuer' | 'stripe'>): Promise<StepOutcome> {
  const stored = await WebhookEvent.findById(eventId).lean();
  if (!stored) {
    logger.warn({ eventId, outcome: 'skipped' }, 'processing an event that was never recorded');
    return 'skipped';
  }
  if (stored.processedAt) {
    logger.info({ eventId, outcome: 'already-done' }, 'event already processed');
    return 'already-done';
  }
  const event = JSON.parse(stored.payload) as Stripe.Event;
  const handler = handlers[event.type];
  const outcome = handler ? await handler(event, deps) : 'skipped';
  crashPoint('process-event:after-apply');
  if (stored.orderId) {
    const asWritten = await recordPaymentEvent(stored.orderId, stored, outcome);
    // A late payment can take a settled order out of settlement: list it again
    // before the event counts as processed (open-work/open-orders.ts, rule 2).
    await keepOpen(stored.orderId, asWritten);
  }
  await WebhookEvent.updateOne({ _id: eventId, processedAt: { $exists: false } }, { $set: { processedAt: new Date(), outcome } });
  await dropEventEntry(eventId);
  logger.info({ eventId, type: event.type, orderId: stored.orderId, outcome }, 'event processed');
  return outcome;
}
