/** placeOrder consumes the cart: a cart becomes one order, sequentially and under concurrency. */
import { describe, expect, it } from 'vitest';
import { CustomerSlots, Order } from '../../prisma-free-models';
import { customerKey } from '../../src/server/abuse/customer-key';
import { api, cartWith, customer, newKey, seedProduct, trpcFailure, waitForState } from '../helpers';

describe('placeOrder consumes the cart', () => {
  it('answers a second order of the same cart with CART_ALREADY_ORDERED naming the first; the same key still replays', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await api(key).checkout.placeOrder.mutate({ cartId, customer });

    const second = await trpcFailure(api(newKey()).checkout.placeOrder.mutate({ cartId, customer }));
    expect(second.data?.httpStatus).toBe(409);
    expect(second.data?.domainCode).toBe('CART_ALREADY_ORDERED');
    expect(second.data?.field).toBe('cartId');
    expect(second.message).toContain(first.orderId);

    const replay = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    expect(replay).toMatchObject({ orderId: first.orderId, replayed: true });

    // The cart names its order and no longer changes.
    expect((await api().cart.get.query({ cartId })).orderId).toBe(first.orderId);
    const edit = await trpcFailure(api().cart.addLine.mutate({ cartId, sku, qty: 1 }));
    expect(edit.data?.domainCode).toBe('CART_ALREADY_ORDERED');
    expect((await trpcFailure(api().cart.removeLine.mutate({ cartId, sku }))).data?.domainCode).toBe('CART_ALREADY_ORDERED');
    expect(await Order.countDocuments({ cartId })).toBe(1);
    await waitForState(first.orderId, ['PAYMENT_PENDING']);
  });

  it('makes one order of 10 concurrent calls with different keys (and customers) on one cart, and leaves the others no slot', async () => {
    const sku = await seedProduct(20);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const emails = Array.from({ length: 10 }, (_, i) => `same-cart-${i}-${cartId.slice(0, 6)}@example.com`);
    const results = await Promise.allSettled(emails.map((email) => api(newKey()).checkout.placeOrder.mutate({ cartId, customer: { ...customer, email } })));

    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(won).toHaveLength(1);
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error & { data?: { domainCode?: string } }] : []));
    expect(lost.map((e) => e.data?.domainCode)).toEqual(Array.from({ length: 9 }, () => 'CART_ALREADY_ORDERED'));
    for (const e of lost) expect(e.message).toContain(won[0]!.orderId);

    const orders = await Order.find({ cartId }).lean();
    expect(orders.map((o) => o._id)).toEqual([won[0]!.orderId]);
    // Only the winner's customer holds an unpaid-order slot for this cart.
    const slots = await CustomerSlots.find({ _id: { $in: emails.map(customerKey) } }).lean();
    expect(slots.filter((d) => d.slots.some((s) => s.cartId === cartId)).map((d) => d._id)).toEqual([customerKey(orders[0]!.customer.email)]);
    await waitForState(won[0]!.orderId, ['PAYMENT_PENDING']);
  });
});
