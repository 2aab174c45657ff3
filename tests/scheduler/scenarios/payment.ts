/**
 * The payment half: creating the PaymentIntent, applying its success, and
 * finalizing, each against a twin of itself and against the customer's
 * cancel, the expiry and the reconciler.
 */
import { cancelOrder } from '../../../src/server/orders/close-order';
import { reconcile } from '../../../src/server/orders/reconcile';
import { job, type Fixture, type Scenario, type StepTask } from '../explore';
import { processWebhookEvent } from '../../../src/server/webhooks/process-event';
import { order, paidPendingOrder, PAYING, pay, pendingOrder, placeFixture, product, reservedOrder, successEvent, type PlaceFixture } from '../fixtures';
import { requestPayment } from '../../../src/server/orders/request-payment';
import { withDatabaseRefusing } from '../../helpers';
import type { Operation } from '../../../prisma-free-models/operation-gate';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import type { World } from '../world';
import { Order } from '../../../prisma-free-models/order';
import type { Deps } from '../../../src/server/deps';
import { placeOrder } from '../../../src/server/orders/place-order';
import { customer } from '../../helpers';

const KEY_TTL_MS = 24 * 3600_000;

export const reconcileTask = (world: World, name = 'reconcile'): StepTask => ({
  name,
  run: () => reconcile(world.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: KEY_TTL_MS }),
});

/** The order's PaymentIntents at Stripe (the simulator), by status. */
export function intentStatuses(world: World, orderId: string): Promise<string[]> {
  return Promise.resolve(world.sim.paymentIntents({ metadata: { orderId } }).map((pi) => pi.status));
}

/** A violation unless Stripe holds exactly one PaymentIntent for the order. */
export async function oneIntent(world: World, orderId: string): Promise<string[]> {
  const statuses = await intentStatuses(world, orderId);
  return statuses.length === 1 ? [] : [`expected one PaymentIntent for the order, found ${statuses.length} (${statuses.join(', ')})`];
}

type PaymentFixture = Fixture & { token: string };

export const requestPaymentTwins: Scenario = {
  name: 'request-payment twins',
  async setup(world) {
    const sku = await product(2);
    return { orderIds: [await reservedOrder(world, [sku])], skus: [sku] };
  },
  tasks: ({ orderIds: [id] }, world) => [
    job(world, 'payment', { orderId: id as string }, 'request-payment A'),
    job(world, 'payment', { orderId: id as string }, 'request-payment B'),
  ],
  check: ({ orderIds: [id] }, world) => oneIntent(world, id as string),
};

export const requestPaymentVsCancel: Scenario<PaymentFixture> = {
  name: 'request-payment × cancel',
  async setup(world) {
    const sku = await product(2);
    const id = await reservedOrder(world, [sku]);
    return { orderIds: [id], skus: [sku], token: (await order(id)).accessToken };
  },
  tasks: ({ orderIds: [id], token }, world) => [
    job(world, 'payment', { orderId: id as string }, 'request-payment'),
    { name: 'cancel', run: () => cancelOrder(id as string, token, world.deps) },
    job(world, 'release', { orderId: id as string }, 'release'),
  ],
  async check({ orderIds: [id] }, world) {
    const o = await order(id as string);
    const payable = (await intentStatuses(world, id as string)).filter((s) => s !== 'canceled');
    return [
      ...(o.state === 'CANCELLED' ? [] : [`expected CANCELLED, found ${o.state}`]),
      ...(payable.length === 0 ? [] : [`expected no payable PaymentIntent after the cancel, found ${payable.join(', ')}`]),
    ];
  },
};

/** placeOrder as the web app runs it: reserved and asked to pay in the call (with `deps`, e.g. a hold that is over at once). */
const placingTask = ({ cartId, key }: PlaceFixture, deps: Deps): StepTask => ({
  name: 'placeOrder paying at placement',
  run: async () => (await placeOrder({ cartId, customer, idempotencyKey: key }, { ...deps, ...PAYING })).state,
});

/** No PaymentIntent of a closed order may stay payable, and there is never more than one. */
async function closedOrPayable(world: World, id: string, closed: string): Promise<string[]> {
  const o = await order(id);
  const statuses = await intentStatuses(world, id);
  const payable = statuses.filter((st) => st !== 'canceled');
  return [
    ...(statuses.length <= 1 ? [] : [`${statuses.length} PaymentIntents for the order (${statuses.join(', ')}), expected at most one`]),
    ...(o.state === closed || o.state === 'PAYMENT_PENDING' ? [] : [`expected ${closed} or PAYMENT_PENDING, found ${o.state}`]),
    ...(o.state === closed && payable.length > 0 ? [`the order is ${closed} but its PaymentIntent is still ${payable.join(', ')}`] : []),
    ...(o.state === 'PAYMENT_PENDING' && (payable.length !== 1 || o.paymentIntentId === undefined) ? [`PAYMENT_PENDING with PaymentIntents ${statuses.join(', ') || 'none'} and ${o.paymentIntentId ?? 'no id'} stored`] : []),
  ];
}

/**
 * The customer cancels while placeOrder is reserving and asking Stripe (as
 * soon as the order exists: its page can be open before the answer arrives).
 * A cancel between the reservation and the PaymentIntent makes the
 * transition to PAYMENT_PENDING refused: the intent must be recorded and
 * cancelled, not left payable.
 */
export const placeOrderPayingVsCancel: Scenario<PlaceFixture> = {
  name: 'placeOrder paying at placement × cancel',
  setup: placeFixture,
  tasks: (fixture, world) => [
    placingTask(fixture, world.deps),
    {
      name: 'cancel',
      run: async () => {
        const placed = await Order.findById(fixture.orderIds[0], { accessToken: 1 }).lean();
        if (!placed) return 'no order yet';
        return (await cancelOrder(placed._id, placed.accessToken, world.deps)).state;
      },
    },
  ],
  check: async ({ orderIds: [id] }, world) => closedOrPayable(world, id as string, 'CANCELLED'),
};

/**
 * placeOrder's payment request against the payment job's, for the same order:
 * a job the reconciler enqueued while the call was still asking Stripe (the
 * job reads and marks; the call skips both). One PaymentIntent, PAYMENT_PENDING.
 */
export const placeOrderPayingVsPaymentJob: Scenario<PlaceFixture> = {
  name: 'placeOrder paying at placement × the payment job',
  setup: placeFixture,
  tasks: (fixture, world) => [placingTask(fixture, world.deps), job(world, 'payment', { orderId: fixture.orderIds[0] as string }, 'request-payment')],
  check: async ({ orderIds: [id] }, world) => [...(await expectState(id as string, ['PAYMENT_PENDING'])), ...(await oneIntent(world, id as string))],
};

/** The same against the expiry, with a hold that is over as soon as it is taken. */
export const placeOrderPayingVsExpire: Scenario<PlaceFixture> = {
  name: 'placeOrder paying at placement × expire',
  setup: placeFixture,
  tasks: (fixture, world) => [placingTask(fixture, world.expiringDeps), job(world, 'expiry', { orderId: fixture.orderIds[0] as string }, 'expire')],
  // The expiry job placeOrder enqueues runs as the schedule settles: the order ends EXPIRED either way.
  check: async ({ orderIds: [id] }, world) => closedOrPayable(world, id as string, 'EXPIRED'),
};

export const markPaidTwins: Scenario<Fixture & { eventId: string }> = {
  name: 'mark-paid twins',
  async setup(world) {
    const sku = await product(2);
    const { id, eventId } = await paidPendingOrder(world, [sku]);
    return { orderIds: [id], skus: [sku], eventId };
  },
  tasks: ({ eventId }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event A'),
    job(world, 'webhook-events', { eventId }, 'process event B'),
  ],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

/**
 * The event's job finalizes the order right after making it PAID, while a
 * finalization job (the reconciler's, or one a failed attempt handed over)
 * runs for it too: each line sold once, the order confirmed once.
 */
export const markPaidFinalizingVsFinalize: Scenario<Fixture & { eventId: string }> = {
  name: 'mark-paid finalizing × finalize',
  async setup(world) {
    const sku = await product(2);
    const { id, eventId } = await paidPendingOrder(world, [sku]);
    return { orderIds: [id], skus: [sku], eventId };
  },
  tasks: ({ orderIds: [id], eventId }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event'),
    job(world, 'finalization', { orderId: id as string }, 'finalize'),
  ],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

/**
 * The same two finalizations, both starting from PAID: the event's job was
 * killed right after making the order PAID (crash point mark-paid:after-paid:
 * nothing sold, the event not marked processed), and its re-run finds the
 * order PAID and finalizes it while a finalization job does too. Here the
 * finalization job cannot read the order before PAID, as it may above.
 */
export const markPaidRerunVsFinalize: Scenario<Fixture & { eventId: string }> = {
  name: 'mark-paid re-run on a PAID order × finalize',
  async setup(world) {
    const sku = await product(2);
    const { id, eventId } = await paidPendingOrder(world, [sku]);
    // As the kill leaves it: the sale refused, and the event's job stopped before it marked the event processed.
    const killedAfterPaid = (op: Operation) => op.model === 'Product' || (op.model === 'WebhookEvent' && JSON.stringify(op.update ?? {}).includes('processedAt'));
    await withDatabaseRefusing(killedAfterPaid, () => processWebhookEvent(eventId, world.deps)).catch(() => undefined);
    const o = await order(id);
    if (o.state !== 'PAID' || (o.sold ?? []).length > 0) throw new Error(`fixture: expected PAID with nothing sold, found ${o.state}`);
    if ((await WebhookEvent.findById(eventId).lean())?.processedAt) throw new Error('fixture: expected the event not yet processed');
    return { orderIds: [id], skus: [sku], eventId };
  },
  tasks: ({ orderIds: [id], eventId }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event again'),
    job(world, 'finalization', { orderId: id as string }, 'finalize'),
  ],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

/**
 * The buyer paid (Stripe made the PaymentIntent, the answer was lost before
 * the order recorded it), and the success event is processed while the
 * payment job asks again and records it: the event's one write finds the
 * order not yet payable and its retry applies the payment; never a second
 * PaymentIntent, the order confirmed once.
 */
export const markPaidVsPaymentRecorded: Scenario<Fixture & { eventId: string }> = {
  name: 'mark-paid × the PaymentIntent being recorded',
  async setup(world) {
    const sku = await product(1);
    const id = await reservedOrder(world, [sku]);
    // The payment step up to Stripe's answer: the transition that records the intent refused.
    const recording = (op: Operation) => op.model === 'Order' && JSON.stringify(op.update ?? {}).includes('PAYMENT_PENDING');
    await withDatabaseRefusing(recording, () => requestPayment(id, world.deps)).catch(() => undefined);
    const o = await order(id);
    const [pi, ...more] = world.sim.paymentIntents({ metadata: { orderId: id } });
    if (o.state !== 'INVENTORY_RESERVED' || o.paymentIntentId || !pi || more.length > 0) throw new Error(`fixture: expected INVENTORY_RESERVED with one intent not recorded, found ${o.state}`);
    return { orderIds: [id], skus: [sku], eventId: await successEvent(world, await pay(world, pi.id)) };
  },
  tasks: ({ orderIds: [id], eventId }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event'),
    job(world, 'payment', { orderId: id as string }, 'request-payment'),
  ],
  check: async ({ orderIds: [id], eventId }, world) => {
    // The event itself paid the order (at once or on its retry), not a reconciler pass after it was put aside.
    const outcome = (await WebhookEvent.findById(eventId).lean())?.outcome;
    return [
      ...(await expectState(id as string, ['CONFIRMED'])),
      ...(await oneIntent(world, id as string)),
      ...(outcome === 'applied' ? [] : [`the success event's outcome: expected applied, found ${String(outcome)}`]),
    ];
  },
};

/** Race 5: the customer cancels while the payment that succeeded is being applied. */
export const markPaidVsCancel: Scenario<PaymentFixture & { eventId: string }> = {
  name: 'mark-paid × cancel',
  async setup(world) {
    const sku = await product(1);
    const { id, eventId } = await paidPendingOrder(world, [sku]);
    return { orderIds: [id], skus: [sku], eventId, token: (await order(id)).accessToken };
  },
  tasks: ({ orderIds: [id], eventId, token }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event'),
    { name: 'cancel', run: () => cancelOrder(id as string, token, world.deps) },
    job(world, 'release', { orderId: id as string }, 'release'),
  ],
  async check({ orderIds: [id] }) {
    const o = await order(id as string);
    const cancelled = o.history.some((h) => h.action === 'cancel');
    // A customer who cancelled did not want the goods: the payment is refunded.
    if (cancelled) return o.state === 'REFUNDED' ? [] : [`the customer cancelled, expected REFUNDED, found ${o.state}`];
    return o.state === 'CONFIRMED' ? [] : [`the payment won, expected CONFIRMED, found ${o.state}`];
  },
};

/** The payment succeeded as the hold ran out: it is honoured either way, the unit was still held. */
export const markPaidVsExpire: Scenario<Fixture & { eventId: string }> = {
  name: 'mark-paid × expire',
  async setup(world) {
    const sku = await product(1);
    const { id, eventId } = await paidPendingOrder(world, [sku], { expiring: true });
    return { orderIds: [id], skus: [sku], eventId };
  },
  tasks: ({ orderIds: [id], eventId }, world) => [
    job(world, 'webhook-events', { eventId }, 'process event'),
    job(world, 'expiry', { orderId: id as string }, 'expire'),
    job(world, 'release', { orderId: id as string }, 'release'),
  ],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

async function paidOrder(world: World, stock: number): Promise<Fixture> {
  const sku = await product(stock);
  const { id, pi } = await pendingOrder(world, [sku]);
  // Its success event processed, and the finalization right after it refused
  // by the database: the finalization job it enqueued instead waits (and runs after the schedule).
  const eventId = await successEvent(world, await pay(world, pi));
  await withDatabaseRefusing((op) => op.model === 'Product', () => processWebhookEvent(eventId, world.deps));
  if ((await order(id)).state !== 'PAID') throw new Error('fixture: expected PAID');
  return { orderIds: [id], skus: [sku] };
}

export const finalizeTwins: Scenario = {
  name: 'finalize twins',
  setup: (world) => paidOrder(world, 2),
  tasks: ({ orderIds: [id] }, world) => [
    job(world, 'finalization', { orderId: id as string }, 'finalize A'),
    job(world, 'finalization', { orderId: id as string }, 'finalize B'),
  ],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

export const finalizeVsReconcile: Scenario = {
  name: 'finalize × reconcile',
  setup: (world) => paidOrder(world, 1),
  tasks: ({ orderIds: [id] }, world) => [job(world, 'finalization', { orderId: id as string }, 'finalize'), reconcileTask(world)],
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

export async function expectState(id: string, states: string[]): Promise<string[]> {
  const o = await order(id);
  return states.includes(o.state) ? [] : [`expected ${states.join(' or ')}, found ${o.state} (history: ${o.history.map((h) => h.action).join(' → ')})`];
}
