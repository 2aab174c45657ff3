/**
 * The open-orders list against the reconciler that walks it and deletes
 * entries of settled orders (src/server/open-work/open-orders.ts): an order
 * being placed, and a settled order taken out of settlement by a late
 * payment, each while a reconciler pass runs. The job that would move the
 * order on is lost, so only the reconciler, through the list, can finish it:
 * an entry lost to the race leaves the order stuck (and `open.missing`).
 * The same for the open-events list: a delivery and its redelivery, whose
 * processing jobs are lost, while a reconciler pass runs.
 */
import type { Operation } from '../../../prisma-free-models/operation-gate';
import { customer, withDatabaseRefusing } from '../../helpers';
import { releasePendingHolds } from '../../../src/server/orders/close-order';
import { placeOrder } from '../../../src/server/orders/place-order';
import { reconcile } from '../../../src/server/orders/reconcile';
import { job, type Fixture, type Scenario, type StepTask } from '../explore';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { deliverEvent, PAYING, pay, pendingOrder, placeFixture, product, signedSuccessEvent, successEvent, type PlaceFixture } from '../fixtures';
import type { World } from '../world';
import { expectState, oneIntent } from './payment';
import { transition } from '../../../src/server/orders/state-machine';

const KEY_TTL_MS = 24 * 3600_000;

/** A pass that also drops entries of orders not written yet at once (no grace): the harshest reconciler. */
const eagerReconcile = (world: World, name = 'reconcile'): StepTask => ({
  name,
  run: () => reconcile(world.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: KEY_TTL_MS, orphanGraceMs: 0 }),
});

export const reconcileVsPlaceOrder: Scenario<PlaceFixture> = {
  name: 'reconcile × placeOrder',
  setup: placeFixture,
  tasks: ({ cartId, key }, world) => [
    { name: 'placeOrder', run: () => placeOrder({ cartId, customer, idempotencyKey: key }, world.deps) },
    { name: 'placeOrder retried', run: () => placeOrder({ cartId, customer, idempotencyKey: key }, world.deps) },
    eagerReconcile(world),
  ],
  lostJobs: (j) => j.queue === 'reservation',
  // Reserved and asked to pay, by the reconciler alone.
  check: async ({ orderIds: [id] }) => expectState(id as string, ['PAYMENT_PENDING']),
};

/**
 * EXPIRED, holds given back, nothing pending: settled, its entry not yet
 * deleted. Its customer paid anyway; the success event is received, not processed.
 */
async function settledExpiredPaidLate(world: World): Promise<Fixture & { eventId: string }> {
  const sku = await product(1);
  const { id, pi } = await pendingOrder(world, [sku]);
  const expired = await transition(id, { from: 'PAYMENT_PENDING', to: 'EXPIRED', set: { closeReason: 'payment not received in time', pendingRelease: 'r1' } });
  if (expired.outcome !== 'applied') throw new Error(`fixture: expiry of ${id} was ${expired.outcome}`);
  await releasePendingHolds(id);
  const eventId = await successEvent(world, await pay(world, pi));
  return { orderIds: [id], skus: [sku], eventId };
}

/** The sale of held stock (finalization's first write): refused by the database while the task runs. */
const isSale = (op: Operation) => op.model === 'Product' && (op.update as { $push?: { sales?: unknown } } | undefined)?.$push?.sales !== undefined;
const sellingRefused = (task: StepTask): StepTask => ({ ...task, run: () => withDatabaseRefusing(isSale, task.run) });

export const reconcileVsSettling: Scenario<Fixture & { eventId: string }> = {
  name: 'reconcile × order settling',
  setup: settledExpiredPaidLate,
  tasks: ({ eventId }, world) => [sellingRefused(job(world, 'webhook-events', { eventId }, 'late payment accepted, finalizing fails')), eagerReconcile(world)],
  // The job its failed finalization is handed to is lost too: as after a crash right after PAID.
  lostJobs: (j) => j.queue === 'finalization',
  // The unit was free again and is held again for the payment: confirmed, by the reconciler's finalize.
  check: async ({ orderIds: [id] }) => expectState(id as string, ['CONFIRMED']),
};

/**
 * The same with the reservation made by placeOrder itself, as in the web
 * app: the reconciler may re-drive the order while that reservation is half
 * done, and the retried call replays and hands it to the (lost) job.
 */
export const reconcileVsPlaceOrderReserving: Scenario<PlaceFixture> = {
  name: 'reconcile × placeOrder reserving at placement',
  setup: placeFixture,
  tasks: ({ cartId, key }, world) => [
    { name: 'placeOrder', run: () => placeOrder({ cartId, customer, idempotencyKey: key }, { ...world.deps, reserveAtPlacement: true }) },
    { name: 'placeOrder retried', run: () => placeOrder({ cartId, customer, idempotencyKey: key }, { ...world.deps, reserveAtPlacement: true }) },
    eagerReconcile(world),
  ],
  lostJobs: (j) => j.queue === 'reservation',
  check: async ({ orderIds: [id] }) => expectState(id as string, ['PAYMENT_PENDING']),
};

/**
 * placeOrder paying at placement, its answer from Stripe lost (the intent
 * created, the call timed out), retried, while a reconciler pass runs; the
 * jobs it hands the work to are lost too. The order must still end payable
 * with the one PaymentIntent Stripe made, through the list and the reconciler.
 */
export const reconcileVsPlaceOrderPayingAnswerLost: Scenario<PlaceFixture> = {
  name: 'reconcile × placeOrder paying at placement, Stripe’s answer lost',
  setup: placeFixture,
  tasks: ({ cartId, key }, world) => {
    const deps = { ...world.deps, ...PAYING, stripe: world.stripeAnswerLost };
    return [
      { name: 'placeOrder', run: async () => (await placeOrder({ cartId, customer, idempotencyKey: key }, deps)).state },
      { name: 'placeOrder retried', run: async () => (await placeOrder({ cartId, customer, idempotencyKey: key }, deps)).state },
      eagerReconcile(world),
    ];
  },
  lostJobs: (j) => j.queue === 'reservation' || j.queue === 'payment',
  check: async ({ orderIds: [id] }, world) => [...(await expectState(id as string, ['PAYMENT_PENDING'])), ...(await oneIntent(world, id as string))],
};

type DeliveryFixture = Fixture & { event: { id: string; body: string; signature: string } };

/** A PAYMENT_PENDING order paid at Stripe; its success event signed, not delivered yet. */
async function paidNotDelivered(world: World): Promise<DeliveryFixture> {
  const sku = await product(1);
  const { id, pi } = await pendingOrder(world, [sku]);
  return { orderIds: [id], skus: [sku], event: signedSuccessEvent(world, await pay(world, pi)) };
}

/**
 * The intake writes the event and its open-events entry at once
 * (src/server/webhooks/intake.ts): whichever lands first, and whatever a
 * reconciler pass reads in between, an acknowledged event whose job is lost
 * must still be found through the list and processed. (The order itself
 * would be confirmed anyway: the reconciler asks Stripe about unpaid orders.
 * The event is what this checks.)
 */
export const deliveriesVsReconcile: Scenario<DeliveryFixture> = {
  name: 'a delivery and its redelivery × reconcile',
  setup: paidNotDelivered,
  tasks: ({ event }, world) => {
    const deliver = (name: string): StepTask => ({ name, run: async () => (await deliverEvent(world, event)).body.outcome ?? 'refused' });
    return [deliver('delivery'), deliver('redelivery'), { name: 'reconcile', run: () => reconcile(world.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: KEY_TTL_MS }) }];
  },
  lostJobs: (j) => j.queue === 'webhook-events',
  check: async ({ orderIds: [id], event }, _world, results) => {
    const problems: string[] = [];
    const answers = results.slice(0, 2).map((r) => (r.ok ? String(r.value) : `threw ${(r.error as Error).message}`));
    if (answers.filter((a) => a === 'created').length !== 1 || !answers.every((a) => ['created', 'replayed', 'already-done'].includes(a))) {
      problems.push(`the deliveries were answered ${answers.join(' and ')}: expected one created, the other a replay`);
    }
    const stored = await WebhookEvent.findById(event.id, { processedAt: 1 }).lean<{ processedAt?: Date }>();
    if (!stored?.processedAt) problems.push(`event ${event.id} was acknowledged but never processed: its job was lost and the reconciler did not find it`);
    return [...problems, ...(await expectState(id as string, ['CONFIRMED']))];
  },
};
