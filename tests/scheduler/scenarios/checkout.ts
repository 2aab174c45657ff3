/**
 * placeOrder meets itself: a double click, or a retry sent before the first
 * attempt answered, possibly through two web processes. One cart, one key:
 * exactly one order, and both calls answer it; also while another order
 * takes the last unit, so that one twin may see the stock and the other not
 * (an order the stock visibly cannot cover is written already REJECTED).
 * And one key sent with two different carts at once: one order, one conflict.
 */
import { Cart, CustomerSlots, Order } from '../../../prisma-free-models';
import { customerKey } from '../../../src/server/abuse/customer-key';
import { CANCELLABLE_STATES } from '../../../src/server/orders/states';
import { newCartId } from '../../../src/server/ids';
import { placeOrder } from '../../../src/server/orders/place-order';
import { reserveOrder } from '../../../src/server/orders/reserve-order';
import type { Deps } from '../../../src/server/deps';
import type { Scenario } from '../explore';
import { createdOrder, PAYING, product } from '../fixtures';
import { intentStatuses } from './payment';

const customer = { name: 'Asha Rao', email: 'asha@example.com', address: { line1: '1 MG Road', city: 'Bengaluru', state: 'KA', postalCode: '560001', country: 'IN' } };

type TwinsFixture = { orderIds: string[]; skus: string[]; cartId: string; key: string; rival?: string };

async function twinsSetup(stock: number, rival: boolean): Promise<TwinsFixture> {
  const sku = await product(stock);
  const cartId = newCartId();
  await Cart.create({ _id: cartId, lines: [{ sku, qty: 1 }] });
  const fixture: TwinsFixture = { orderIds: [], skus: [sku], cartId, key: `twin-${cartId.slice(0, 12)}` };
  if (rival) {
    fixture.rival = await createdOrder([sku]);
    fixture.orderIds.push(fixture.rival);
  }
  return fixture;
}

type World = Parameters<Scenario<TwinsFixture>['tasks']>[1];

/** Reserved in the call (deps.reserveAtPlacement); PAYING also asks for the PaymentIntent there, as the web app does. */
const RESERVING: Partial<Deps> = { reserveAtPlacement: true };

const twinTasks = (fixture: TwinsFixture, world: World, placement: Partial<Deps> = {}) =>
  ['A', 'B'].map((name) => ({
    name: `placeOrder ${name}`,
    run: async () => {
      const placed = await placeOrder({ idempotencyKey: fixture.key, cartId: fixture.cartId, customer }, { ...world.deps, ...placement });
      // The auditor looks at the orders the schedule made.
      if (!fixture.orderIds.includes(placed.orderId)) fixture.orderIds.push(placed.orderId);
      return placed.orderId;
    },
  }));

export const placeOrderTwins: Scenario<TwinsFixture> = {
  name: 'placeOrder twins with one key',
  setup: () => twinsSetup(2, false),
  tasks: twinTasks,
  check: checkTwins,
};

const rivalReserves = (fixture: TwinsFixture, world: World) => ({
  name: 'rival reserves',
  job: { queue: 'reservation' as const, data: { orderId: fixture.rival as string } },
  run: () => reserveOrder(fixture.rival as string, world.deps),
});

export const placeOrderTwinsLastUnit: Scenario<TwinsFixture> = {
  name: 'placeOrder twins while another order takes the last unit',
  setup: () => twinsSetup(1, true),
  tasks: (fixture, world) => [...twinTasks(fixture, world), rivalReserves(fixture, world)],
  check: checkTwins,
};

/**
 * As the web app places orders: the twin that writes the order reserves it
 * in the same call; the other replays and hands it to the job (which runs as
 * the schedule settles), so a reservation at placement meets its own job run
 * and the rival's reservation for the last unit.
 */
export const placeOrderReservingTwinsLastUnit: Scenario<TwinsFixture> = {
  name: 'placeOrder twins reserving at placement while another order takes the last unit',
  setup: () => twinsSetup(1, true),
  tasks: (fixture, world) => [...twinTasks(fixture, world, RESERVING), rivalReserves(fixture, world)],
  check: checkTwins,
};

/**
 * The same with the PaymentIntent asked for in the call too, as the web app
 * runs it: the twin that reserved asks Stripe while the other replays (and
 * hands the order to the jobs). One order, and at most one PaymentIntent for it.
 */
export const placeOrderPayingTwinsLastUnit: Scenario<TwinsFixture> = {
  name: 'placeOrder twins paying at placement while another order takes the last unit',
  setup: () => twinsSetup(1, true),
  tasks: (fixture, world) => [...twinTasks(fixture, world, PAYING), rivalReserves(fixture, world)],
  check: async (fixture, world, results) => [...(await checkTwins(fixture, world, results)), ...(await atMostOneIntent(world, fixture))],
};

async function atMostOneIntent(world: World, { cartId }: TwinsFixture): Promise<string[]> {
  const stored = await Order.findOne({ cartId }, { _id: 1 }).lean();
  if (!stored) return [];
  const statuses = await intentStatuses(world, stored._id);
  return statuses.length <= 1 ? [] : [`${statuses.length} PaymentIntents for order ${stored._id} (${statuses.join(', ')}), expected at most one`];
}

/** Both twins answered, with one order, the only one stored for the cart (the rival is no twin). */
async function checkTwins({ cartId }: TwinsFixture, _world: unknown, results: readonly { name: string; ok: boolean; value?: unknown; error?: unknown }[]): Promise<string[]> {
  const problems = results.flatMap((r) => (r.ok ? [] : [`${r.name} failed: ${(r.error as Error).message}`]));
  const answered = new Set(results.flatMap((r) => (r.ok && r.name.startsWith('placeOrder') ? [r.value as string] : [])));
  if (answered.size > 1) problems.push(`the twins answered different orders: ${[...answered].join(', ')}`);
  const stored = await Order.countDocuments({ cartId });
  if (stored !== 1) problems.push(`${stored} orders stored for the cart, expected 1`);
  return problems;
}

type OneKeyFixture = { orderIds: string[]; skus: string[]; carts: string[]; key: string };

/**
 * A client bug: one Idempotency-Key for two different carts, both sent at
 * once. The insert is tried before the key is looked up, so neither call
 * sees the other's order before writing its own: the key's unique index
 * decides. Exactly one order is stored, for one of the carts; the other call
 * is refused with IDEMPOTENCY_CONFLICT and its cart has no order.
 */
export const oneKeyTwoCarts: Scenario<OneKeyFixture> = {
  name: 'placeOrder with one key for two carts at once',
  async setup() {
    const sku = await product(5);
    const carts = await Promise.all(
      ['A', 'B'].map(async () => {
        const cartId = newCartId();
        await Cart.create({ _id: cartId, lines: [{ sku, qty: 1 }] });
        return cartId;
      }),
    );
    return { orderIds: [], skus: [sku], carts, key: `one-${(carts[0] as string).slice(0, 12)}` };
  },
  tasks: (fixture, world) =>
    fixture.carts.map((cartId, i) => ({
      name: `placeOrder ${'AB'[i]}`,
      run: async () => {
        const placed = await placeOrder({ idempotencyKey: fixture.key, cartId, customer }, { ...world.deps, reserveAtPlacement: true });
        fixture.orderIds.push(placed.orderId);
        return placed.outcome;
      },
    })),
  async check({ carts, key }, _world, results) {
    const problems = results.flatMap((r) =>
      r.ok || (r.error as { code?: string }).code === 'IDEMPOTENCY_CONFLICT' ? [] : [`${r.name} failed: ${(r.error as Error).message}`],
    );
    const created = results.filter((r) => r.ok && r.value === 'created').length;
    const refused = results.filter((r) => !r.ok && (r.error as { code?: string }).code === 'IDEMPOTENCY_CONFLICT').length;
    if (created !== 1 || refused !== 1) problems.push(`${created} created and ${refused} refused as a conflict, expected 1 and 1`);
    const stored = await Order.find({ idempotencyKey: key }, { cartId: 1 }).lean();
    if (stored.length !== 1) problems.push(`${stored.length} orders stored under the key, expected 1`);
    const ordered = await Order.countDocuments({ cartId: { $in: carts } });
    if (ordered !== 1) problems.push(`${ordered} of the two carts have an order, expected 1`);
    return problems;
  },
};

type SlotsFixture = { orderIds: string[]; skus: string[]; carts: string[] };

/** A customer allowed one unpaid order at a time, with no slot document yet: their first orders race for it. */
const ONE_SLOT = 1;

/**
 * A customer's first orders, three carts at once, one unpaid order allowed:
 * the slot document is created by whichever call gets there first (an upsert
 * that the others' collide with), and at most one order stays unpaid; the
 * others are refused (LIMIT_EXCEEDED) or written and rejected (customer-limit).
 */
export const firstOrdersRaceForTheSlot: Scenario<SlotsFixture> = {
  name: 'one customer’s first orders race for their one slot',
  async setup() {
    const sku = await product(5);
    const carts = await Promise.all(
      ['A', 'B', 'C'].map(async () => {
        const cartId = newCartId();
        await Cart.create({ _id: cartId, lines: [{ sku, qty: 1 }] });
        return cartId;
      }),
    );
    return { orderIds: [], skus: [sku], carts };
  },
  tasks: (fixture, world) =>
    fixture.carts.map((cartId, i) => ({
      name: `placeOrder ${'ABC'[i]}`,
      run: async () => {
        const deps = { ...world.deps, orderLimits: { ...world.deps.orderLimits, maxUnpaidOrdersPerCustomer: ONE_SLOT } };
        const placed = await placeOrder({ idempotencyKey: `slot-${cartId.slice(0, 12)}`, cartId, customer }, deps);
        fixture.orderIds.push(placed.orderId);
        return placed.state;
      },
    })),
  async check({ carts }, _world, results) {
    const problems = results.flatMap((r) =>
      r.ok || (r.error as { code?: string }).code === 'LIMIT_EXCEEDED' ? [] : [`${r.name} failed: ${(r.error as Error).message}`],
    );
    const orders = await Order.find({ cartId: { $in: carts } }, { state: 1, rejection: 1 }).lean();
    const unpaid = orders.filter((o) => (CANCELLABLE_STATES as readonly string[]).includes(o.state));
    if (unpaid.length > ONE_SLOT) problems.push(`${unpaid.length} unpaid orders for one customer, at most ${ONE_SLOT} allowed`);
    if (unpaid.length === 0) problems.push('every first order was refused: the customer had a free slot');
    const slots = (await CustomerSlots.findById(customerKey(customer.email)).lean())?.slots ?? [];
    if (slots.length > ONE_SLOT) problems.push(`${slots.length} slots taken, at most ${ONE_SLOT}`);
    return problems;
  },
};
