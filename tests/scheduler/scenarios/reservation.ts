/**
 * Reservation meets itself, a cancel, an expiry, and other buyers for the
 * last unit. The stock churn (another order cancelled and its hold given
 * back mid-schedule) is what frees a unit at an arbitrary point.
 */
import { cancelOrder, settleClosedOrder } from '../../../src/server/orders/close-order';
import { finalizeOrder } from '../../../src/server/orders/finalize-order';
import { requestPayment } from '../../../src/server/orders/request-payment';
import { reserveCreatedOrder, reserveOrder } from '../../../src/server/orders/reserve-order';
import { reconcile } from '../../../src/server/orders/reconcile';
import { dropSale } from '../../../src/server/inventory/stock';
import type { OrderDoc } from '../../../prisma-free-models';
import { processWebhookEvent } from '../../../src/server/webhooks/process-event';
import { job, type Fixture, type Scenario, type StepTask } from '../explore';
import { createdOrder, order, paidPendingOrder, pay, product, reservedOrder, successEvent } from '../fixtures';
import { stockOf } from '../../helpers';
import type { World } from '../world';

/** Another buyer's order that gives its unit back during the schedule: the customer cancels, the release job runs. */
export function churn(world: World, orderId: string, token: string): StepTask[] {
  return [
    { name: 'churn cancel', run: () => cancelOrder(orderId, token, world.deps) },
    job(world, 'release', { orderId }, 'churn release'),
  ];
}

/** The same churn as one task: fewer tasks, so deeper orderings are likelier under PCT. */
export function churnInOne(world: World, orderId: string, token: string): StepTask {
  return {
    name: 'churn cancel+release',
    run: async () => {
      await cancelOrder(orderId, token, world.deps);
      return settleClosedOrder(orderId, world.deps);
    },
  };
}

async function churnOrder(world: World, sku: string): Promise<{ id: string; token: string }> {
  const id = await reservedOrder(world, [sku]);
  return { id, token: (await order(id)).accessToken };
}

/** Race 1: two runs of one reservation (a stalled job run again) while the last unit frees up. */
export const reserveTwins: Scenario<{ orderIds: string[]; skus: string[]; churn: { id: string; token: string } }> = {
  name: 'reserve twins while the last unit frees up',
  async setup(world) {
    const sku = await product(1);
    const other = await churnOrder(world, sku);
    const id = await createdOrder([sku]);
    return { orderIds: [id, other.id], skus: [sku], churn: other };
  },
  tasks: ({ orderIds: [id], churn: c }, world) => [
    job(world, 'reservation', { orderId: id as string }, 'reserve A'),
    job(world, 'reservation', { orderId: id as string }, 'reserve B'),
    ...churn(world, c.id, c.token),
  ],
};

/** Two lines, two runs, stock for one of the lines contended by the churn: all lines or none, once. */
export const reserveTwinsMultiLine: Scenario<{ orderIds: string[]; skus: string[]; churn: { id: string; token: string } }> = {
  name: 'reserve twins of a two-line order',
  async setup(world) {
    const a = await product(1);
    const b = await product(2);
    const other = await churnOrder(world, a);
    const id = await createdOrder([a, b]);
    return { orderIds: [id, other.id], skus: [a, b], churn: other };
  },
  tasks: ({ orderIds: [id], churn: c }, world) => [
    job(world, 'reservation', { orderId: id as string }, 'reserve A'),
    job(world, 'reservation', { orderId: id as string }, 'reserve B'),
    ...churn(world, c.id, c.token),
  ],
};

export const reserveVsCancel: Scenario<{ orderIds: string[]; skus: string[]; token: string }> = {
  name: 'reserve × cancel',
  async setup() {
    const sku = await product(1);
    const id = await createdOrder([sku]);
    return { orderIds: [id], skus: [sku], token: (await order(id)).accessToken };
  },
  tasks: ({ orderIds: [id], token }, world) => [
    job(world, 'reservation', { orderId: id as string }, 'reserve'),
    { name: 'cancel', run: () => cancelOrder(id as string, token, world.deps) },
    job(world, 'release', { orderId: id as string }, 'release'),
  ],
};

/** Reservation with a hold time of zero: its expiry is due the moment it is reserved. */
export const reserveVsExpire: Scenario = {
  name: 'reserve × expire',
  async setup() {
    const sku = await product(1);
    return { orderIds: [await createdOrder([sku])], skus: [sku] };
  },
  tasks: ({ orderIds: [id] }, world) => [
    { name: 'reserve', job: { queue: 'reservation', data: { orderId: id as string } }, run: () => reserveOrder(id as string, world.expiringDeps) },
    { name: 'reserve again', job: { queue: 'reservation', data: { orderId: id as string } }, run: () => reserveOrder(id as string, world.expiringDeps) },
    job(world, 'expiry', { orderId: id as string }, 'expire'),
  ],
};

/**
 * A reservation twin that read the order while it was new, and resumes after
 * the order was reserved, paid and finalized (a stalled job's first run, long
 * paused): it must not take stock for lines already sold.
 */
export const staleReserveTwin: Scenario = {
  name: 'reserve twin resuming after the order was paid and finalized',
  async setup() {
    const sku = await product(2);
    return { orderIds: [await createdOrder([sku])], skus: [sku] };
  },
  tasks: ({ orderIds: [id] }, world) => [
    job(world, 'reservation', { orderId: id as string }, 'reserve A'),
    job(world, 'reservation', { orderId: id as string }, 'reserve B'),
    {
      name: 'pay and finalize',
      run: async () => {
        if ((await requestPayment(id as string, world.deps)) === 'already-done') return 'not reserved yet';
        const pi = (await order(id as string)).paymentIntentId as string;
        await processWebhookEvent(await successEvent(world, await pay(world, pi)), world.deps);
        return finalizeOrder(id as string);
      },
    },
  ],
};

/**
 * A reservation run that read the order while it was new resumes after the
 * order was sold and the product's sale record pruned (SALE_RECORD_TTL_MS
 * later), so nothing on the product stops it holding again; meanwhile a
 * reconciler pass looks for holds whose order can never use them. Between
 * the run's own give-back and the pass's, the unit goes back exactly once.
 */
export const staleReserveVsStraySweep: Scenario<Fixture & { lines: OrderDoc['lines'] }> = {
  name: 'reserve run resuming after the sale record was pruned × stray-hold sweep',
  async setup(world) {
    const sku = await product(2);
    const { id, eventId } = await paidPendingOrder(world, [sku]);
    await processWebhookEvent(eventId, world.deps); // PAID, then finalized in the same job
    const { state, lines } = await order(id);
    if (state !== 'CONFIRMED') throw new Error(`fixture: expected CONFIRMED, found ${state}`);
    await dropSale(id, { sku });
    return { orderIds: [id], skus: [sku], lines };
  },
  tasks: ({ orderIds: [id], lines }, world) => [
    { name: 'stale reserve', run: () => reserveCreatedOrder({ _id: id as string, lines }, world.deps) },
    { name: 'reconcile', run: () => reconcile(world.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: 24 * 3600_000, strayHoldAfterMs: 0 }) },
  ],
  async check({ skus: [sku] }) {
    const { available, reserved, sold, holds } = await stockOf(sku as string);
    return available === 1 && reserved === 0 && sold === 1 && holds.length === 0
      ? []
      : [`expected 1 available, 0 reserved, 1 sold, no holds; found ${JSON.stringify({ available, reserved, sold, holds })}`];
  },
};

/** Two new orders want the last unit while a third order gives it back. */
export const lastUnit: Scenario<{ orderIds: string[]; skus: string[]; churn: { id: string; token: string } }> = {
  name: 'two orders contend for the last unit while a third releases it',
  async setup(world) {
    const sku = await product(1);
    const other = await churnOrder(world, sku);
    const a = await createdOrder([sku]);
    const b = await createdOrder([sku]);
    return { orderIds: [a, b, other.id], skus: [sku], churn: other };
  },
  tasks: ({ orderIds: [a, b], churn: c }, world) => [
    job(world, 'reservation', { orderId: a as string }, 'reserve A'),
    job(world, 'reservation', { orderId: b as string }, 'reserve B'),
    ...churn(world, c.id, c.token),
  ],
  async check({ orderIds: [a, b] }) {
    const states = [(await order(a as string)).state, (await order(b as string)).state];
    const holding = states.filter((s) => s !== 'REJECTED').length;
    return holding <= 1 ? [] : [`expected at most one of the two new orders to get the one unit, found ${states.join(' and ')}`];
  },
};
