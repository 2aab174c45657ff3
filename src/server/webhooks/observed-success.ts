/**
 * A payment success we learned about from Stripe itself rather than from a
 * webhook (the webhook was lost, or we found it while cancelling). It is
 * recorded as an event of our own (id `reconcile:<pi>`) and processed by the
 * same code as a webhook, so the audit trail is the same either way, and a
 * real webhook arriving later is one more duplicate.
 */
import type Stripe from 'stripe';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import type { Deps } from '../deps';
import { isDuplicateKeyError } from '../errors';
import { openEventEntry } from '../open-work/open-events';
import type { StepOutcome } from '../orders/reserve-order';
import { processWebhookEvent } from './process-event';

export async function applyObservedSuccess(pi: Stripe.PaymentIntent, deps: Pick<Deps, 'enqueuer' | 'stripe'>): Promise<StepOutcome> {
  const id = `reconcile:${pi.id}`;
  const payload = JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', data: { object: pi } });
  await openEventEntry(id);
  try {
    await WebhookEvent.create({ _id: id, type: 'payment_intent.succeeded', objectId: pi.id, orderId: pi.metadata?.orderId, payload, receivedAt: new Date() });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  return processWebhookEvent(id, deps);
}
