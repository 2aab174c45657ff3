/**
 * Hoarding over real HTTP, against a web app of its own on the default
 * limits (5 units of a product and 20 products per order, 3 unpaid orders
 * per customer, 20 orders per address a minute) with no address exempt:
 * scripts that try to hold the catalogue are capped, and another customer
 * can still buy. The suite's worker reserves the orders.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cart, CustomerSlots, Order } from '../../prisma-free-models';
import { newCartId } from '../../src/server/ids';
import { cartWith, customer, getOrder, newKey, seedProduct, stockOf, trpcFailure, waitFor, waitForState } from '../helpers';
import { clientFrom, LIMITS_APP_PORTS, newClientAddress, startLimitsApps, type LimitsApps } from './limits-app';

let apps: LimitsApps;
const url = () => apps.urls[0]!;
const tag = () => randomBytes(4).toString('hex');

beforeAll(async () => {
  apps = await startLimitsApps('hoarding', LIMITS_APP_PORTS.slice(0, 1), { RATE_LIMIT_EXEMPT_IPS: 'none' });
});

afterAll(async () => {
  await apps?.stop();
});

/** What a shopper (or a script) does from one address: a cart, one line, placeOrder. */
async function placeFrom(address: string, sku: string, qty: number, email: string) {
  const client = clientFrom(url(), address, { 'Idempotency-Key': newKey() });
  const { cartId } = await client.cart.create.mutate();
  await client.cart.addLine.mutate({ cartId, sku, qty });
  return client.checkout.placeOrder.mutate({ cartId, customer: { ...customer, email } });
}

describe('hoarding', () => {
  it('caps an order at 5 units of a product and 20 products, naming the limit', async () => {
    const skus = await Promise.all(Array.from({ length: 21 }, () => seedProduct(50)));
    const address = newClientAddress();
    const client = clientFrom(url(), address);
    const { cartId } = await client.cart.create.mutate();

    const six = await trpcFailure(client.cart.addLine.mutate({ cartId, sku: skus[0]!, qty: 6 }));
    expect(six.data?.domainCode).toBe('LIMIT_EXCEEDED');
    expect(six.data?.field).toBe('qty');
    expect(six.message).toMatch('At most 5 of one product per order');
    await client.cart.addLine.mutate({ cartId, sku: skus[0]!, qty: 4 });
    expect((await trpcFailure(client.cart.addLine.mutate({ cartId, sku: skus[0]!, qty: 2 }))).message).toMatch('At most 5');
    expect((await trpcFailure(client.cart.updateLine.mutate({ cartId, sku: skus[0]!, qty: 6 }))).message).toMatch('At most 5');

    for (const sku of skus.slice(1, 20)) await client.cart.addLine.mutate({ cartId, sku, qty: 1 });
    const lines = await trpcFailure(client.cart.addLine.mutate({ cartId, sku: skus[20]!, qty: 1 }));
    expect(lines.data?.domainCode).toBe('LIMIT_EXCEEDED');
    expect(lines.data?.field).toBe('sku');
    expect(lines.message).toMatch('at most 20 different products');
    expect((await client.cart.get.query({ cartId })).lines).toHaveLength(20);

    // A cart filled beyond the caps (under older settings) is refused at checkout.
    const old = await Cart.create({ _id: newCartId(), lines: [{ sku: skus[0]!, qty: 9 }] });
    const checkout = await trpcFailure(
      // An email of its own: the suite's other orders for the shared test customer count in the same Redis counter.
      clientFrom(url(), address, { 'Idempotency-Key': newKey() }).checkout.placeOrder.mutate({ cartId: old._id, customer: { ...customer, email: `caps-${tag()}@example.com` } }),
    );
    expect(checkout.data?.domainCode).toBe('LIMIT_EXCEEDED');
    expect(checkout.data?.field).toBe('cartId');
    expect(checkout.message).toMatch(`At most 5 of one product per order; this cart has 9 of ${skus[0]}`);
    expect(await Order.countDocuments({ cartId: old._id })).toBe(0);
  });

  it('holds one customer to 3 unpaid orders, however the email is spelled, while others still buy', async () => {
    const sku = await seedProduct(25);
    const hoarder = newClientAddress();
    const name = `grabby${tag()}`;
    const spellings = [`${name}@gmail.com`, `${name.slice(0, 3)}.${name.slice(3)}+1@gmail.com`, `${name}+2@googlemail.com`, `${name.toUpperCase()}@gmail.com`];
    const held: Awaited<ReturnType<typeof placeFrom>>[] = [];
    for (const email of spellings.slice(0, 3)) held.push(await placeFrom(hoarder, sku, 5, email));

    const refused = await trpcFailure(placeFrom(hoarder, sku, 5, spellings[3]!));
    expect(refused.data?.domainCode).toBe('LIMIT_EXCEEDED');
    expect(refused.data?.field).toBe('customer.email');
    expect(refused.message).toMatch('At most 3 unpaid orders per customer');

    // The rest of the catalogue is still there for someone else.
    const buyer = await placeFrom(newClientAddress(), sku, 5, `fair-${tag()}@example.com`);
    await waitForState(buyer.orderId, ['PAYMENT_PENDING']);
    await Promise.all(held.map((o) => waitForState(o.orderId, ['PAYMENT_PENDING'])));
    expect((await stockOf(sku)).available).toBe(5);

    // An order that is no longer unpaid (here: cancelled) frees its slot.
    await clientFrom(url(), hoarder).orders.cancel.mutate({ orderId: held[0]!.orderId, accessToken: held[0]!.accessToken });
    const again = await placeFrom(hoarder, sku, 5, spellings[3]!);
    await waitForState(again.orderId, ['PAYMENT_PENDING']);
    await waitFor('the cancelled order’s holds released', () => getOrder(held[0]!.orderId), (o) => o.pendingRelease === undefined);
    expect(await stockOf(sku)).toMatchObject({ available: 5, reserved: 20 });
  });

  it('lets no more than 3 of 9 concurrent orders for one email through', async () => {
    const sku = await seedProduct(100);
    const email = `racer-${tag()}@example.com`;
    const carts = await Promise.all(Array.from({ length: 9 }, () => cartWith([{ sku, qty: 1 }])));
    const results = await Promise.allSettled(
      carts.map((cartId) =>
        clientFrom(url(), newClientAddress(), { 'Idempotency-Key': newKey() }).checkout.placeOrder.mutate({ cartId, customer: { ...customer, email } }),
      ),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { data?: { domainCode?: string } }).data?.domainCode);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toEqual(Array.from({ length: 6 }, () => 'LIMIT_EXCEEDED'));
    expect(await Order.countDocuments({ 'customer.email': email })).toBe(3);
    expect((await CustomerSlots.findById(email).lean())?.slots).toHaveLength(3);
  });

  it('stops a script placing orders from one address at the per-address order limit; others still buy', async () => {
    const sku = await seedProduct(500);
    const script = newClientAddress();
    let placed = 0;
    let refusal: Awaited<ReturnType<typeof trpcFailure>> | undefined;
    for (let i = 0; i < 30 && !refusal; i++) {
      const attempt = placeFrom(script, sku, 5, `bot-${i}-${tag()}@example.com`);
      try {
        await attempt;
        placed++;
      } catch {
        refusal = await trpcFailure(attempt);
      }
    }
    expect(placed).toBe(20);
    expect(refusal?.data?.httpStatus).toBe(429);
    expect(refusal?.data?.domainCode).toBe('RATE_LIMITED');
    expect(refusal?.message).toMatch('orders placed from your network address: at most 20 per 60 s');

    const buyer = await placeFrom(newClientAddress(), sku, 1, `fair-${tag()}@example.com`);
    await waitForState(buyer.orderId, ['PAYMENT_PENDING']);
  });
});
