/**
 * Webhook intake: verify, record, enqueue, answer fast.
 *   - the signature is verified on the raw body before anything else; a bad or
 *     stale signature is a 400 with no effect;
 *   - the event id is the primary key of the stored event, so a duplicate
 *     delivery is recognised and changes nothing;
 *   - the event is processed by the worker; if enqueuing fails we answer 500
 *     so Stripe delivers again, and that delivery re-enqueues.
 */
import type Stripe from 'stripe';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { insertValidated } from '../../../prisma-free-models/insert-validated';
import { runConcurrently } from '../../../prisma-free-models/operation-gate';
import type { Deps } from '../deps';
import { isDuplicateKeyError } from '../errors';
import { logger } from '../logger';
import { countWebhookVerificationFailure } from '../metrics/domain-metrics';
import { openEventEntry } from '../open-work/open-events';
import { HANDLED_EVENT_TYPES } from './process-event';

export const MAX_WEBHOOK_BYTES = 512 * 1024;

export interface WebhookIntakeResult {
  status: 200 | 400 | 413 | 500;
  body: { received: boolean; outcome?: string; error?: string };
}

function objectRefs(event: Stripe.Event): { objectId?: string; orderId?: string } {
  const obj = event.data.object as { id?: unknown; metadata?: Record<string, unknown> | null };
  const orderId = obj.metadata?.orderId;
  return {
    ...(typeof obj.id === 'string' ? { objectId: obj.id } : {}),
    ...(typeof orderId === 'string' ? { orderId } : {}),
  };
}

function isEventShaped(e: unknown): e is Stripe.Event {
  if (typeof e !== 'object' || e === null) return false;
  const { id, type, data } = e as { id?: unknown; type?: unknown; data?: unknown };
  if (typeof id !== 'string' || id.length === 0 || id.length > 255 || typeof type !== 'string') return false;
  const object = (data as { object?: unknown } | null | undefined)?.object;
  return typeof data === 'object' && data !== null && !Array.isArray(data) && typeof object === 'object' && object !== null && !Array.isArray(object);
}

export async function receiveStripeWebhook(
  rawBody: string,
  signature: string | null,
  deps: Pick<Deps, 'stripe' | 'enqueuer'> & { webhookSecret: string },
): Promise<WebhookIntakeResult> {
  if (!signature) {
    countWebhookVerificationFailure('missing_signature');
    return { status: 400, body: { received: false, error: 'Missing Stripe-Signature header' } };
  }
  if (Buffer.byteLength(rawBody) > MAX_WEBHOOK_BYTES) {
    return { status: 413, body: { received: false, error: 'Payload too large' } };
  }
  let event: Stripe.Event;
  try {
    event = deps.stripe.webhooks.constructEvent(rawBody, signature, deps.webhookSecret);
  } catch (err) {
    const badSignature = (err as { type?: string }).type === 'StripeSignatureVerificationError';
    countWebhookVerificationFailure(badSignature ? 'invalid_signature' : 'malformed_body');
    logger.warn({ err: (err as Error).message, outcome: 'refused' }, 'webhook refused');
    return { status: 400, body: { received: false, error: badSignature ? 'Invalid signature' : 'Malformed event: body is not JSON' } };
  }
  // Authentic but not shaped like an event (or a kind we cannot read): refuse
  // before touching it, so nothing half-understood is stored.
  if (!isEventShaped(event)) {
    logger.warn({ outcome: 'refused' }, 'webhook refused: signed body is not a Stripe event');
    return { status: 400, body: { received: false, error: 'Malformed event: expected string id, string type and object data.object' } };
  }

  const log = { eventId: event.id, type: event.type };
  if (!HANDLED_EVENT_TYPES.has(event.type)) {
    logger.info({ ...log, outcome: 'skipped' }, 'webhook event type ignored');
    return { status: 200, body: { received: true, outcome: 'ignored' } };
  }

  // Set by the insert's branch (a closure: not narrowed here).
  let outcome = 'created' as 'created' | 'replayed' | 'already-done';
  // The event and its open-events entry (open-work/open-events.ts) are written
  // at once, and the answer waits for both: a delivery that fails or dies
  // between them is not acknowledged, so Stripe delivers it again, and that
  // delivery writes both again.
  await runConcurrently([
    () => openEventEntry(event.id),
    async () => {
      try {
        await insertValidated(WebhookEvent, { _id: event.id, type: event.type, ...objectRefs(event), payload: rawBody, receivedAt: new Date() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const existing = await WebhookEvent.findById(event.id, { processedAt: 1 }).lean();
        outcome = existing?.processedAt ? 'already-done' : 'replayed';
      }
    },
  ]);
  if (outcome !== 'already-done') {
    try {
      // A stored event's first enqueue: no job for it can have run yet.
      await deps.enqueuer.processEvent(event.id, { first: outcome === 'created' });
    } catch (err) {
      logger.error({ ...log, err }, 'could not enqueue webhook event; asking Stripe to deliver again');
      return { status: 500, body: { received: false, error: 'Temporarily unable to process' } };
    }
  }
  logger.info({ ...log, ...objectRefs(event), outcome }, 'webhook received');
  return { status: 200, body: { received: true, outcome } };
}
