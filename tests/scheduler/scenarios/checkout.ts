/**
 * placeOrder meets itself: a double click, or a retry sent before the first
 * attempt answered, possibly through two web processes. One cart, one key:
 * exactly one order, and both calls answer it.
 */
import { Cart, Order } from '../../../prisma-free-models';
import { newCartId } from '../../../src/server/ids';
import { placeOrder } from '../../../src/server/orders/place-order';
import type { Scenario } from '../explore';
import { product } from '../fixtures';

const customer = { name: 'Asha Rao', email: 'asha@example.com', address: { line1: '1 MG Road', city: 'Bengaluru', state: 'KA', postalCode: '560001', country: 'IN' } };

export const placeOrderTwins: Scenario<{ orderIds: string[]; skus: string[]; cartId: string; key: string }> = {
  name: 'placeOrder twins with one key',
  async setup() {
    const sku = await product(2);
    const cartId = newCartId();
    await Cart.create({ _id: cartId, lines: [{ sku, qty: 1 }] });
    return { orderIds: [], skus: [sku], cartId, key: `twin-${cartId.slice(0, 12)}` };
  },
  tasks: (fixture, world) =>
    ['A', 'B'].map((name) => ({
      name: `placeOrder ${name}`,
      run: async () => {
        const placed = await placeOrder({ idempotencyKey: fixture.key, cartId: fixture.cartId, customer }, world.deps);
        // The auditor looks at the orders the schedule made.
        if (!fixture.orderIds.includes(placed.orderId)) fixture.orderIds.push(placed.orderId);
        return placed.orderId;
      },
    })),
  async check({ cartId }, _world, results) {
    const problems = results.flatMap((r) => (r.ok ? [] : [`${r.name} failed: ${(r.error as Error).message}`]));
    const answered = new Set(results.flatMap((r) => (r.ok ? [r.value as string] : [])));
    if (answered.size > 1) problems.push(`the twins answered different orders: ${[...answered].join(', ')}`);
    const stored = await Order.countDocuments({ cartId });
    if (stored !== 1) problems.push(`${stored} orders stored for the cart, expected 1`);
    return problems;
  },
};
