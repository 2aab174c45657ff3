/**
 * A product's stock split into stripes (src/server/inventory/stripes.ts):
 * holds on different stripes, the transfers that move units to a short
 * stripe, twins of one order's hold, and a transfer left half done, in every
 * order of their database operations. Besides the auditor's checks (stock
 * conserved over the stripes and units in transit, one hold per order), each
 * scenario checks that no buyer was refused while the product had units for him.
 */
import { Product } from '../../../prisma-free-models';
import { finishStrandedTransfers } from '../../../src/server/inventory/stripes';
import { job, type Scenario } from '../explore';
import { createdOrder, order, reservedOrder, stripedProduct } from '../fixtures';
import { churn } from './reservation';

type Orders = { orderIds: string[]; skus: string[] };

/**
 * Exactly `units` of the orders must have got a unit (their reservation held;
 * settling then moves them on to payment): fewer means one was refused while
 * units were left, more that units were oversold.
 */
function expectHolding(ids: readonly string[], units: number): () => Promise<string[]> {
  return async () => {
    const states = [];
    for (const id of ids) states.push((await order(id)).state);
    const served = states.filter((s) => s !== 'REJECTED').length;
    return served === units ? [] : [`expected ${units} of ${ids.length} orders to get a unit, found ${states.join(', ')}`];
  };
}

/** Three buyers on three stripes for two units that all sit on stripe 0: each short stripe pulls units while the others do. */
export const stripeHoldsRace: Scenario<Orders> = {
  name: 'holds on three stripes pull the last two units from a fourth',
  async setup() {
    const sku = await stripedProduct(2, 4);
    const ids = [await createdOrder([sku], 1, 1), await createdOrder([sku], 1, 2), await createdOrder([sku], 1, 3)];
    return { orderIds: ids, skus: [sku] };
  },
  tasks: ({ orderIds: [a, b, c] }, world) => [
    job(world, 'reservation', { orderId: a as string }, 'reserve A (stripe 1)'),
    job(world, 'reservation', { orderId: b as string }, 'reserve B (stripe 2)'),
    job(world, 'reservation', { orderId: c as string }, 'reserve C (stripe 3)'),
  ],
  check: ({ orderIds }) => expectHolding(orderIds, 2)(),
};

/** One order's reservation run twice (a stalled job run again) on a short stripe while another stripe pulls the same units. */
export const stripeReserveTwins: Scenario<Orders> = {
  name: 'reserve twins on a short stripe while another stripe pulls units',
  async setup() {
    const sku = await stripedProduct(2, 3);
    const ids = [await createdOrder([sku], 1, 1), await createdOrder([sku], 1, 2)];
    return { orderIds: ids, skus: [sku] };
  },
  tasks: ({ orderIds: [a, b] }, world) => [
    job(world, 'reservation', { orderId: a as string }, 'reserve A'),
    job(world, 'reservation', { orderId: a as string }, 'reserve A again'),
    job(world, 'reservation', { orderId: b as string }, 'reserve B'),
  ],
  check: ({ orderIds }) => expectHolding(orderIds, 2)(),
};

/** The one unit is held on stripe 0 and given back (cancel, release) while an order on stripe 1 looks for it. */
export const stripeHoldVsRelease: Scenario<Orders & { churn: { id: string; token: string } }> = {
  name: 'a hold on an empty stripe while the last unit is given back on another',
  async setup(world) {
    const sku = await stripedProduct(1, 2);
    const other = await reservedOrder(world, [sku]); // holds the unit on stripe 0
    const a = await createdOrder([sku], 1, 1);
    return { orderIds: [a, other], skus: [sku], churn: { id: other, token: (await order(other)).accessToken } };
  },
  tasks: ({ orderIds: [a], churn: c }, world) => [job(world, 'reservation', { orderId: a as string }, 'reserve A (stripe 1)'), ...churn(world, c.id, c.token)],
};

/** A transferer died between its steps: the units in transit are found by the holds that need them and by the reconciler's sweep. */
export const strandedTransfer: Scenario<Orders> = {
  name: 'a stripe transfer left half done × holds on three stripes × the sweep',
  async setup() {
    const sku = await stripedProduct(2, 3);
    // Step 1 of a transfer of both units from stripe 0 to stripe 2, and nothing after.
    await Product.updateOne({ _id: sku }, { $inc: { available: -2, v: 1 }, $set: { xferSeq: 1, xfer: { seq: 1, to: 2, qty: 2 } } });
    const ids = [await createdOrder([sku], 1, 1), await createdOrder([sku], 1, 2), await createdOrder([sku], 1, 0)];
    return { orderIds: ids, skus: [sku] };
  },
  tasks: ({ orderIds: [a, b, c] }, world) => [
    job(world, 'reservation', { orderId: a as string }, 'reserve A (stripe 1)'),
    job(world, 'reservation', { orderId: b as string }, 'reserve B (stripe 2)'),
    job(world, 'reservation', { orderId: c as string }, 'reserve C (stripe 0)'),
    { name: 'sweep transfers', run: () => finishStrandedTransfers(100) },
  ],
  check: ({ orderIds }) => expectHolding(orderIds, 2)(),
};
