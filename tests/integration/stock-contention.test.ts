/** Many buyers, few units: never oversell, conserve stock, all or nothing per order. */
import { describe, expect, it } from 'vitest';
import { Order } from '../../prisma-free-models';
import { api, cartWith, customer, expectNoViolations, newKey, seedProduct, stockOf, waitFor } from '../helpers';

describe('stock under contention', () => {
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

  it('leaves stock untouched when a multi-line order cannot be filled', async () => {
    const plenty = await seedProduct(10);
    const scarce = await seedProduct(1);
    // Sort order matters for the give-back: put the fillable line first.
    const cartId = await cartWith([
      { sku: plenty, qty: 3 },
      { sku: scarce, qty: 2 },
    ]);
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId, customer });
    const order = await waitFor('rejection', () => Order.findById(placed.orderId).lean(), (o) => o?.state === 'REJECTED');
    expect(order?.rejection).toMatchObject({ reason: 'OUT_OF_STOCK', sku: scarce });
    for (const [sku, initial] of [
      [plenty, 10],
      [scarce, 1],
    ] as const) {
      const p = await stockOf(sku);
      expect({ available: p.available, reserved: p.reserved, sold: p.sold, holds: p.holds.length }).toEqual({
        available: initial,
        reserved: 0,
        sold: 0,
        holds: 0,
      });
    }
    await expectNoViolations({ orderIds: [placed.orderId], skus: [plenty, scarce] });
  });
});
