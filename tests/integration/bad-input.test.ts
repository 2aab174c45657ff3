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

  describe('input that is not JSON, at every procedure', () => {
    const mutations = ['cart.create', 'cart.addLine', 'cart.updateLine', 'cart.removeLine', 'checkout.placeOrder', 'orders.cancel'];
    const queries = ['catalog.list', 'cart.get', 'orders.get'];
    const notJson = ['{not json', '{"cartId":', ' ', "{'cartId':'x'}", '\u0000'];
    const counts = async () => ({ carts: await Cart.countDocuments(), orders: await Order.countDocuments() });
    const post = (path: string, body: BodyInit | undefined, contentType = 'application/json') =>
      fetch(`${appUrl()}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': contentType, 'idempotency-key': newKey() }, body });
    interface TrpcError {
      error?: { message?: string; data?: { httpStatus?: number } };
    }

    it('answers a body that is not valid JSON with 400 naming the problem, and creates nothing', async () => {
      const before = await counts();
      for (const path of mutations) {
        for (const body of notJson) {
          const label = `${path} ${JSON.stringify(body)}`;
          const res = await post(path, body);
          const json = (await res.json()) as TrpcError;
          expect(res.status, label).toBe(400);
          expect(json.error?.message, label).toMatch(/^Request body is not valid JSON: /);
          expect(json.error?.data?.httpStatus, label).toBe(400);
        }
      }
      // A batch is refused call by call, with the same answer.
      const batch = await post('cart.create,cart.create?batch=1', '{not json');
      expect(batch.status).toBe(400);
      const answers = (await batch.json()) as TrpcError[];
      expect(answers.map((a) => a.error?.message?.startsWith('Request body is not valid JSON'))).toEqual([true, true]);
      expect(await counts()).toEqual(before);
    });

    it('answers a GET whose input parameter is not valid JSON with 400', async () => {
      for (const path of queries) {
        for (const input of notJson) {
          for (const batch of [false, true]) {
            const label = `${path} ${JSON.stringify(input)} batch=${batch}`;
            const res = await fetch(`${appUrl()}/api/trpc/${path}?${batch ? 'batch=1&' : ''}input=${encodeURIComponent(input)}`);
            expect(res.status, label).toBe(400);
            const json = (await res.json()) as TrpcError | TrpcError[];
            const first = Array.isArray(json) ? json[0] : json;
            expect(first?.error?.message, label).toMatch(/^The "input" query parameter is not valid JSON: /);
          }
        }
      }
    });

    it('still takes no body, an empty input and valid JSON where a procedure needs no input', async () => {
      const before = await counts();
      expect((await post('cart.create', undefined)).status).toBe(200);
      expect((await post('cart.create', '{}')).status).toBe(200);
      expect((await fetch(`${appUrl()}/api/trpc/catalog.list?input=`)).status).toBe(200);
      expect((await fetch(`${appUrl()}/api/trpc/catalog.list?input=${encodeURIComponent('{}')}`)).status).toBe(200);
      expect((await counts()).carts).toBe(before.carts + 2);
    });

    it('refuses a form or octet-stream body, which no procedure takes, with 415', async () => {
      const before = await counts();
      const form = new FormData();
      form.set('cartId', 'x');
      const formRes = await fetch(`${appUrl()}/api/trpc/cart.create`, { method: 'POST', body: form });
      expect(formRes.status).toBe(415);
      expect((await post('cart.create', 'x', 'application/octet-stream')).status).toBe(415);
      expect(await counts()).toEqual(before);
    });
  });
});
