/** Many buyers, few units: never oversell, conserve stock, all or nothing per order. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cart, CustomerSlots, Order } from '../../prisma-free-models';
import { customerKey } from '../../src/server/abuse/customer-key';
import { placeOrder } from '../../src/server/orders/place-order';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { api, cartWith, customer, expectNoViolations, manualDeps, newKey, seedProduct, stockOf, waitFor } from '../helpers';

describe('stock under contention', () => {
  // Orders placed on queues no worker reads: these tests decide when (and whether) each is reserved.
  let m: ReturnType<typeof manualDeps>;
  beforeAll(() => {
    m = manualDeps();
  });
  afterAll(() => m.close());

  it('sells exactly 10 units to 50 concurrent buyers', async () => {
    const sku = await seedProduct(10);
    const carts = await Promise.all(Array.from({ length: 50 }, () => cartWith([{ sku, qty: 1 }])));
    const placed = await Promise.all(carts.map((cartId) => api(newKey()).checkout.placeOrder.mutate({ cartId, customer })));
    const ids = placed.map((p) => p.orderId);

    const settled = await waitFor(
      'all 50 orders to settle',
      () => Order.find({ _id: { $in: ids } }, { state: 1, rejection: 1 }).lean(),
      (orders) => orders.every((o) => o.state === 'PAYMENT_PENDING' || o.state === 'REJECTED'),
      60_000,
    );
    const reserved = settled.filter((o) => o.state === 'PAYMENT_PENDING');
    const rejected = settled.filter((o) => o.state === 'REJECTED');
    expect(reserved).toHaveLength(10);
    expect(rejected).toHaveLength(40);
    for (const o of rejected) expect(o.rejection?.reason).toBe('OUT_OF_STOCK');

    const p = await stockOf(sku);
    expect(p.available).toBe(0);
    expect(p.reserved).toBe(10);
    expect(p.available + p.reserved + p.sold).toBe(p.initialStock);
    expect(p.holds.map((h) => h.orderId).sort()).toEqual(reserved.map((o) => o._id).sort());
    await expectNoViolations({ orderIds: ids, skus: [sku] });
  });

  const untouched = async (stock: ReadonlyArray<readonly [string, number]>) => {
    for (const [sku, initial] of stock) {
      const p = await stockOf(sku);
      expect({ available: p.available, reserved: p.reserved, sold: p.sold, holds: p.holds.length }, sku).toEqual({
        available: initial,
        reserved: 0,
        sold: 0,
        holds: 0,
      });
    }
  };

  it('leaves stock untouched when the reservation of a multi-line order cannot fill a line (all or nothing)', async () => {
    const plenty = await seedProduct(10);
    const scarce = await seedProduct(2);
    // Sort order matters for the give-back: put the fillable line first.
    const cartId = await cartWith([
      { sku: plenty, qty: 3 },
      { sku: scarce, qty: 2 },
    ]);
    // Placed while the stock covers it ...
    const placed = await placeOrder({ cartId, customer, idempotencyKey: newKey() }, m.deps);
    expect(placed.state).toBe('CREATED');
    // ... and another buyer takes a unit of the scarce line before its reservation runs.
    const rival = await placeOrder({ cartId: await cartWith([{ sku: scarce, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    expect(await reserveOrder(rival.orderId, m.deps)).toBe('applied');

    expect(await reserveOrder(placed.orderId, m.deps)).toBe('applied');
    const order = await Order.findById(placed.orderId).lean();
    expect(order).toMatchObject({ state: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: scarce } });
    await untouched([[plenty, 10]]);
    expect(await stockOf(scarce)).toMatchObject({ available: 1, reserved: 1, sold: 0 });
    await expectNoViolations({ orderIds: [placed.orderId, rival.orderId], skus: [plenty, scarce] });
  });

  it('writes an order the stock visibly cannot cover already REJECTED: the answer carries the decision, nothing is held or queued', async () => {
    const plenty = await seedProduct(10);
    const scarce = await seedProduct(1);
    const cartId = await cartWith([
      { sku: plenty, qty: 3 },
      { sku: scarce, qty: 2 },
    ]);
    const key = newKey();
    const placed = await placeOrder({ cartId, customer, idempotencyKey: key }, m.deps);
    expect(placed).toMatchObject({ state: 'REJECTED', outcome: 'created' });
    const order = await Order.findById(placed.orderId).lean();
    expect(order?.rejection).toMatchObject({ reason: 'OUT_OF_STOCK', sku: scarce });
    // The history a reservation would have left: created, then rejected.
    expect(order?.history.map((h) => [h.from, h.to, h.action])).toEqual([
      [null, 'CREATED', 'place-order'],
      ['CREATED', 'REJECTED', 'reject'],
    ]);
    expect(await m.queues.queues.reservation.getJob(`reserve-${placed.orderId}`)).toBeUndefined();
    await untouched([
      [plenty, 10],
      [scarce, 1],
    ]);
    // The same key replays it; the cart became this order; the customer holds no unpaid-order slot for it.
    expect(await placeOrder({ cartId, customer, idempotencyKey: key }, m.deps)).toMatchObject({ orderId: placed.orderId, state: 'REJECTED', outcome: 'replayed' });
    expect((await Cart.findById(cartId).lean())?.orderId).toBe(placed.orderId);
    expect((await CustomerSlots.findById(customerKey(customer.email)).lean())?.slots ?? []).not.toContainEqual(expect.objectContaining({ cartId }));
    await expectNoViolations({ orderIds: [placed.orderId], skus: [plenty, scarce] });
  });
});
