/**
 * The payment events of an order as its owner may see them, for the order
 * page's timeline: which event, when it arrived, whether Stripe sent it or
 * the reconciler found it by asking Stripe, and what processing it did
 * (applied, already done, ...). Never the payload, the event id or anything
 * else of Stripe's.
 */
import { Order } from '../../../prisma-free-models/order';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { RECONCILER_VIEW, type ReconcilerView } from '../open-work/open-orders';

export interface PaymentEventView {
  type: string;
  from: 'stripe' | 'reconciler';
  receivedAt: string;
  /** The processing outcome; null while the worker has not processed it yet. */
  outcome: string | null;
}

/** An order has a handful of events; this bounds a pathological one. */
export const MAX_EVENTS = 50;

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
 * never moved the order, and is not the owner's to see. Read from the order
 * itself (recordPaymentEvent), so the order page costs one read by _id
 * however many events are stored; orders written before the order carried
 * them are looked up by order id.
 */
export async function paymentEventsFor(order: OrderEvents): Promise<PaymentEventView[]> {
  if (!order.paymentIntentId) return [];
  const recorded = [...(order.paymentEvents ?? (await recordedBefore(order._id)))];
  const success = successNotYetRecorded(order, recorded);
  if (success) recorded.push(success);
  return recorded
    .filter((e) => e.paymentIntentId === order.paymentIntentId)
    .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime())
    .map((e) => ({
      type: e.type,
      // observed-success.ts records what the reconciler learned from Stripe under `reconcile:<pi>`.
      from: e.id.startsWith('reconcile:') ? 'reconciler' : 'stripe',
      receivedAt: e.receivedAt.toISOString(),
      outcome: e.outcome ?? null,
    }));
}

interface OrderEvents {
  _id: string;
  paymentIntentId?: string | null;
  paymentEvents?: readonly RecordedEvent[] | null;
  payment?: { succeededEventId?: string | null } | null;
  history?: readonly { to: string; at: Date }[] | null;
}

/**
 * The success event that made the order PAID is named on the order by that
 * very transition (payment.succeededEventId), but its entry here is written
 * when the event's job ends, after the order was finalized. Until then it is
 * shown from the transition (when and that it applied), so a page that stops
 * following the order at CONFIRMED still shows it.
 */
function successNotYetRecorded(order: OrderEvents, recorded: readonly RecordedEvent[]): RecordedEvent | undefined {
  const id = order.payment?.succeededEventId;
  if (!id || recorded.some((e) => e.id === id)) return undefined;
  const paid = order.history?.findLast((h) => h.to === 'PAID');
  return paid ? { id, type: 'payment_intent.succeeded', paymentIntentId: order.paymentIntentId, receivedAt: paid.at, outcome: 'applied' } : undefined;
}

/** What the order keeps of one processed event. */
interface RecordedEvent {
  id: string;
  type: string;
  paymentIntentId?: string | null;
  receivedAt: Date;
  outcome?: string | null;
}

/** An order from before the order carried its events: search them by order id (indexed on MongoDB). */
async function recordedBefore(orderId: string): Promise<RecordedEvent[]> {
  const events = await WebhookEvent.find({ orderId }, { _id: 1, type: 1, receivedAt: 1, outcome: 1, payload: 1 })
    .sort({ receivedAt: 1 })
    .limit(MAX_EVENTS)
    .lean();
  return events.map((e) => ({ id: e._id, type: e.type, paymentIntentId: paymentIntentOf(e.payload), receivedAt: e.receivedAt, outcome: e.outcome ?? null }));
}

/**
 * Keeps a processed event on its order for the owner's page: once per event
 * (a re-run after a crash finds it there), at most MAX_EVENTS per order.
 * Returns what the reconciler's rule reads of the order as this write left
 * it, so the caller need not read it again (open-orders.ts `keepOpen`); null
 * when nothing was written.
 */
export async function recordPaymentEvent(
  orderId: string,
  event: { _id: string; type: string; payload: string; receivedAt: Date },
  outcome: string,
): Promise<ReconcilerView | null> {
  const entry = { id: event._id, type: event.type, paymentIntentId: paymentIntentOf(event.payload), receivedAt: event.receivedAt, outcome };
  return Order.findOneAndUpdate(
    { _id: orderId, 'paymentEvents.id': { $ne: event._id }, [`paymentEvents.${MAX_EVENTS - 1}`]: { $exists: false } },
    { $push: { paymentEvents: entry } },
    { returnDocument: 'after', projection: RECONCILER_VIEW },
  ).lean<ReconcilerView>();
}
