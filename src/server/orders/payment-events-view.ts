/**
 * The payment events of an order as its owner may see them, for the order
 * page's timeline: which event, when it arrived, whether Stripe sent it or
 * the reconciler found it by asking Stripe, and what processing it did
 * (applied, already done, ...). Never the payload, the event id or anything
 * else of Stripe's.
 */
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';

export interface PaymentEventView {
  type: string;
  from: 'stripe' | 'reconciler';
  receivedAt: string;
  /** The processing outcome; null while the worker has not processed it yet. */
  outcome: string | null;
}

/** An order has a handful of events; this bounds a pathological one. */
const MAX_EVENTS = 50;

/** The PaymentIntent an event is about: the intent itself, or the one a refund or charge belongs to. */
function paymentIntentOf(payload: string): string | undefined {
  try {
    const object = (JSON.parse(payload) as { data?: { object?: { object?: string; id?: string; payment_intent?: unknown } } }).data?.object;
    const ref = object?.object === 'payment_intent' ? object.id : object?.payment_intent;
    return typeof ref === 'string' ? ref : typeof ref === 'object' && ref !== null ? (ref as { id?: string }).id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Events about the order's own PaymentIntent only (its payment, refunds,
 * charge): one naming the order in its metadata but about another intent
 * never moved the order, and is not the owner's to see. Found by the order
 * id the intake recorded (indexed), checked against the payload.
 */
export async function paymentEventsFor(order: { _id: string; paymentIntentId?: string | null }): Promise<PaymentEventView[]> {
  if (!order.paymentIntentId) return [];
  const events = await WebhookEvent.find({ orderId: order._id }, { _id: 1, type: 1, receivedAt: 1, outcome: 1, payload: 1 })
    .sort({ receivedAt: 1 })
    .limit(MAX_EVENTS)
    .lean();
  return events
    .filter((e) => paymentIntentOf(e.payload) === order.paymentIntentId)
    .map((e) => ({
      type: e.type,
      // observed-success.ts records what the reconciler learned from Stripe under `reconcile:<pi>`.
      from: e._id.startsWith('reconcile:') ? 'reconciler' : 'stripe',
      receivedAt: e.receivedAt.toISOString(),
      outcome: e.outcome ?? null,
    }));
}
