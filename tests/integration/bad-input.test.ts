/** Bad input gets a clear error naming the field: never a 500, never a half-written order. */
import { describe, expect, it } from 'vitest';
import { Cart, Order } from '../../prisma-free-models';
import { api, appUrl, cartWith, customer, newKey, seedProduct, trpcFailure } from '../helpers';

describe('bad input', () => {
  it('names the field for each malformed checkout field and writes nothing', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const before = await Order.countDocuments();
    const cases: [string, unknown][] = [
      ['customer.email', { ...customer, email: 'not-an-email' }],
      ['customer.name', { ...customer, name: '' }],
      ['customer.name', { ...customer, name: 'x'.repeat(500) }],
      ['customer.address.country', { ...customer, address: { ...customer.address, country: 'India' } }],
      ['customer.address.postalCode', { ...customer, address: { ...customer.address, postalCode: '<script>' } }],
      ['customer.address.line1', { ...customer, address: { ...customer.address, line1: undefined } }],
      ['customer', { ...customer, admin: true }],
    ];
    for (const [field, bad] of cases) {
      const err = await trpcFailure(api(newKey()).checkout.placeOrder.mutate({ cartId, customer: bad as typeof customer }));
      expect(err.data?.httpStatus, field).toBe(400);
      expect(err.data?.field ?? err.message, field).toContain(field.split('.').pop()!);
    }
    expect(await Order.countDocuments()).toBe(before);
  });

  it('refuses unknown SKUs, bad quantities and unknown carts with clear codes', async () => {
    const sku = await seedProduct(5);
    const { cartId } = await api().cart.create.mutate();
    const unknown = await trpcFailure(api().cart.addLine.mutate({ cartId, sku: 'NOPE-404', qty: 1 }));
    expect(unknown.data?.httpStatus).toBe(422);
    expect(unknown.data?.domainCode).toBe('UNKNOWN_SKU');
    for (const qty of [0, -1, 101, 1.5]) {
      const err = await trpcFailure(api().cart.addLine.mutate({ cartId, sku, qty }));
      expect(err.data?.httpStatus).toBe(400);
      expect(err.data?.field).toBe('qty');
    }
    const badSku = await trpcFailure(api().cart.addLine.mutate({ cartId, sku: 'lower case!', qty: 1 }));
    expect(badSku.data?.field).toBe('sku');
    const noCart = await trpcFailure(api().cart.get.query({ cartId: 'A'.repeat(32) }));
    expect(noCart.data?.httpStatus).toBe(404);
    await api().cart.addLine.mutate({ cartId, sku, qty: 100 });
    const over = await trpcFailure(api().cart.addLine.mutate({ cartId, sku, qty: 1 }));
    expect(over.data?.domainCode).toBe('LIMIT_EXCEEDED');
    const cart = await Cart.findById(cartId).lean();
    expect(cart?.lines).toEqual([{ sku, qty: 100 }]);
  });

  it('refuses an empty cart at checkout', async () => {
    const { cartId } = await api().cart.create.mutate();
    const err = await trpcFailure(api(newKey()).checkout.placeOrder.mutate({ cartId, customer }));
    expect(err.data?.domainCode).toBe('EMPTY_CART');
    expect(err.data?.httpStatus).toBe(422);
  });

  it('does not reveal an order to a wrong token', async () => {
    const sku = await seedProduct(5);
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    const err = await trpcFailure(api().orders.get.query({ orderId: placed.orderId, accessToken: 'x'.repeat(32) }));
    expect(err.data?.httpStatus).toBe(404);
  });

  it('answers raw garbage over HTTP with 4xx, never 500', async () => {
    const bodies = ['{', 'null', '[]', '"x"', JSON.stringify({ cartId: 1 }), 'x'.repeat(200_000)];
    for (const body of bodies) {
      const res = await fetch(`${appUrl()}/api/trpc/checkout.placeOrder`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': newKey() },
        body,
      });
      expect(res.status, body.slice(0, 20)).toBeGreaterThanOrEqual(400);
      expect(res.status, body.slice(0, 20)).toBeLessThan(500);
    }
    const missing = await fetch(`${appUrl()}/api/trpc/nope.nothing`);
    expect(missing.status).toBe(404);
  });
});
