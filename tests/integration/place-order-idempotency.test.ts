/** placeOrder with Idempotency-Key: replay, conflict, concurrency, where the key comes from. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Cart, CustomerSlots, Order, Product } from '../../prisma-free-models';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { customerKey } from '../../src/server/abuse/customer-key';
import { isDomainError } from '../../src/server/errors';
import { placeOrder } from '../../src/server/orders/place-order';
import { api, cartWith, customer, manualDeps, newKey, operationsOf, seedProduct, waitForState, trpcFailure } from '../helpers';

const m = manualDeps();
afterAll(() => m.close());

describe('placeOrder idempotency', () => {
  it('replays the same order for the same key and request', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    const second = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    expect(second.orderId).toBe(first.orderId);
    expect(second.accessToken).toBe(first.accessToken);
    expect(second.replayed).toBe(true);
    expect(await Order.countDocuments({ idempotencyKey: key })).toBe(1);
    await waitForState(first.orderId, ['PAYMENT_PENDING']);
  });

  it('refuses the same key with a different request, writing nothing', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    const err = await trpcFailure(api(key).checkout.placeOrder.mutate({ cartId, customer: { ...customer, name: 'Someone Else' } }));
    expect(err.data?.code).toBe('CONFLICT');
    expect(err.data?.httpStatus).toBe(409);
    expect(err.data?.domainCode).toBe('IDEMPOTENCY_CONFLICT');
    expect(err.message).toMatch(/Idempotency-Key/);
    const stored = await Order.find({ idempotencyKey: key }).lean();
    expect(stored.map((o) => o._id)).toEqual([first.orderId]);
    expect(stored[0]!.customer.name).toBe(customer.name);
  });

  it('creates one order from 20 concurrent calls with one key', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const results = await Promise.all(Array.from({ length: 20 }, () => api(key).checkout.placeOrder.mutate({ cartId, customer })));
    expect(new Set(results.map((r) => r.orderId)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await Order.countDocuments({ idempotencyKey: key })).toBe(1);
    const order = await waitForState(results[0]!.orderId, ['PAYMENT_PENDING']);
    expect(order.history.filter((h) => h.to === 'INVENTORY_RESERVED')).toHaveLength(1);
  });

  it('takes the key from the input when there is no header, and refuses a mismatch', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const viaInput = await api().checkout.placeOrder.mutate({ cartId, customer, idempotencyKey: key });
    const viaHeader = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    expect(viaHeader.orderId).toBe(viaInput.orderId);

    const mismatch = await trpcFailure(api(newKey()).checkout.placeOrder.mutate({ cartId, customer, idempotencyKey: newKey() }));
    expect(mismatch.data?.code).toBe('BAD_REQUEST');
    expect(mismatch.data?.field).toBe('idempotencyKey');
  });

  it('requires a key', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const before = await Order.countDocuments();
    const err = await trpcFailure(api().checkout.placeOrder.mutate({ cartId, customer }));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.data?.field).toBe('idempotencyKey');
    const bad = await trpcFailure(api('short').checkout.placeOrder.mutate({ cartId, customer }));
    expect(bad.data?.httpStatus).toBe(400);
    expect(await Order.countDocuments()).toBe(before);
  });

  it('reads nothing by the key on a first call: the insert is tried first', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const ops = await operationsOf(() => placeOrder({ idempotencyKey: key, cartId, customer }, m.deps));
    expect(ops.filter((op) => op.model === 'Order' && JSON.stringify(op.filter ?? {}).includes('idempotencyKey'))).toEqual([]);
    expect(await Order.countDocuments({ idempotencyKey: key })).toBe(1);
  });

  it('replays an order whose cart is marked with two reads: the cart, then the key', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await placeOrder({ idempotencyKey: key, cartId, customer }, m.deps);
    let again: Awaited<ReturnType<typeof placeOrder>> | undefined;
    const ops = await operationsOf(async () => (again = await placeOrder({ idempotencyKey: key, cartId, customer }, m.deps)));
    expect(again).toMatchObject({ orderId: first.orderId, outcome: 'replayed' });
    // Listed again only while it needs the reconciler (it is CREATED here: its job is not run).
    expect(ops.map((op) => `${op.model}.${op.op}`).filter((op) => !op.startsWith('OpenOrder.'))).toEqual(['Cart.findOne', 'Order.findOne']);
  });

  it('replays a stored order that a new check would refuse (its cart not yet marked ordered, its product withdrawn since)', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    await waitForState(first.orderId, ['PAYMENT_PENDING']);
    // As after a crash between writing the order and marking its cart.
    await Cart.updateOne({ _id: cartId }, { $unset: { orderId: 1 } });
    await Product.updateOne({ _id: sku }, { $set: { active: false } });
    // In this process, whose product reads have not seen the product yet: the withdrawal is what it reads.
    const again = await placeOrder({ idempotencyKey: key, cartId, customer }, m.deps);
    expect(again).toMatchObject({ orderId: first.orderId, accessToken: first.accessToken, outcome: 'replayed', state: 'PAYMENT_PENDING' });
    expect((await Cart.findById(cartId).lean())?.orderId).toBe(first.orderId);
    expect(await Order.countDocuments({ idempotencyKey: key })).toBe(1);
  });

  it('answers its own refusal after writing the order (the customer over the cap), not a replay of that order', async () => {
    const sku = await seedProduct(5);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const buyer = { ...customer, email: `cap-${randomUUID()}@example.com` };
    const key = newKey();
    const deps = { ...m.deps, orderLimits: { ...m.deps.orderLimits, maxUnpaidOrdersPerCustomer: 1 } };
    // As the order is inserted, the customer's one slot goes to another cart (a check dropped this
    // one meanwhile): the confirmation after the insert finds no room, and the order is rejected.
    let taken = false;
    setOperationGate(async (op) => {
      if (taken || op.model !== 'Order' || op.op !== 'insert') return;
      taken = true;
      await CustomerSlots.updateOne({ _id: customerKey(buyer.email) }, { $set: { slots: [{ cartId: `other-${randomUUID()}`, at: new Date() }] } });
    });
    const err = await placeOrder({ idempotencyKey: key, cartId, customer: buyer }, deps).then(
      () => null,
      (e: unknown) => e,
    );
    setOperationGate(undefined);
    expect(taken).toBe(true);
    expect(isDomainError(err) && err.code).toBe('LIMIT_EXCEEDED');
    const stored = await Order.findOne({ idempotencyKey: key }).lean();
    expect(stored).toMatchObject({ state: 'REJECTED', rejection: { reason: 'customer-limit' } });
    // The key's next call replays that order.
    expect(await placeOrder({ idempotencyKey: key, cartId, customer: buyer }, deps)).toMatchObject({ orderId: stored?._id, outcome: 'replayed', state: 'REJECTED' });
  });

  it('refuses the same key for another cart, and that cart can still be ordered with a key of its own', async () => {
    const sku = await seedProduct(5);
    const key = newKey();
    const first = await api(key).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    const otherCart = await cartWith([{ sku, qty: 2 }]);
    const err = await trpcFailure(api(key).checkout.placeOrder.mutate({ cartId: otherCart, customer }));
    expect(err.data?.domainCode).toBe('IDEMPOTENCY_CONFLICT');
    expect(await Order.countDocuments({ cartId: otherCart })).toBe(0);
    expect(await Order.countDocuments({ idempotencyKey: key })).toBe(1);
    const second = await api(newKey()).checkout.placeOrder.mutate({ cartId: otherCart, customer });
    expect(second.orderId).not.toBe(first.orderId);
    await waitForState(second.orderId, ['PAYMENT_PENDING']);
  });
});
