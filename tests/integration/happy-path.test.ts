/**
 * The whole pipeline through every real component: tRPC over HTTP -> Next app
 * -> BullMQ -> worker process -> payment simulator -> signed webhook -> Next
 * route handler -> worker -> CONFIRMED.
 */
import { describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { isLegalHistory } from '../../src/server/orders/state-machine';
import { api, asList, cartWith, customer, expectNoViolations, getOrder, manualDeps, newKey, seedProduct, sim, stockOf, waitForState } from '../helpers';

describe('happy path', () => {
  it('takes an order from placeOrder to CONFIRMED', async () => {
    const skuA = await seedProduct(5, 129_900);
    const skuB = await seedProduct(3, 49_900);
    const cartId = await cartWith([
      { sku: skuA, qty: 2 },
      { sku: skuB, qty: 1 },
    ]);

    const client = api(newKey());
    const placed = await client.checkout.placeOrder.mutate({ cartId, customer });
    // Reserved and given its PaymentIntent as it was placed: the answer is payable.
    expect(placed.state).toBe('PAYMENT_PENDING');
    expect(placed.replayed).toBe(false);
    expect(placed.payment?.clientSecret).toMatch(/_secret_/);

    const pending = await getOrder(placed.orderId);
    expect(pending.state).toBe('PAYMENT_PENDING');
    expect(placed.payment?.paymentIntentId).toBe(pending.paymentIntentId);
    // Server-side prices in paise: 2 x 1299.00 + 1 x 499.00.
    expect(pending.totalMinor).toBe(2 * 129_900 + 49_900);
    expect(pending.currency).toBe('inr');
    expect((await stockOf(skuA)).reserved).toBe(2);

    const view = await client.orders.get.query({ orderId: placed.orderId, accessToken: placed.accessToken });
    expect(view.state).toBe('PAYMENT_PENDING');
    expect(view.payment.clientSecret).toMatch(/_secret_/);
    expect(view).not.toHaveProperty('accessToken');
    expect(view).not.toHaveProperty('requestHash');

    // The PaymentIntent carries what India's export rules ask for.
    const intents = asList<{ id: string; amount: number; currency: string; description: string; shipping: { name: string; address: { line1: string } } }>(
      await sim.intentsFor(placed.orderId),
    );
    expect(intents).toHaveLength(1);
    const intent = intents[0]!;
    expect(intent.id).toBe(pending.paymentIntentId);
    expect(intent.amount).toBe(pending.totalMinor);
    expect(intent.currency).toBe('inr');
    expect(intent.description).toContain(placed.orderId);
    expect(intent.shipping.name).toBe(customer.name);
    expect(intent.shipping.address.line1).toBe(customer.address.line1);

    // The customer pays; the simulator sends a signed webhook to our route.
    await sim.pay(intent.id, 'pm_card_visa');
    const confirmed = await waitForState(placed.orderId, ['CONFIRMED']);

    expect(confirmed.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED']);
    expect(isLegalHistory(confirmed.history, 'CONFIRMED')).toBe(true);
    expect(confirmed.payment?.amountReceived).toBe(confirmed.totalMinor);

    for (const [sku, initial, qty] of [
      [skuA, 5, 2],
      [skuB, 3, 1],
    ] as const) {
      const p = await stockOf(sku);
      expect({ available: p.available, reserved: p.reserved, sold: p.sold, holds: p.holds.length }).toEqual({
        available: initial - qty,
        reserved: 0,
        sold: qty,
        holds: 0,
      });
    }
    const events = await WebhookEvent.find({ orderId: placed.orderId, type: 'payment_intent.succeeded' }).lean();
    expect(events).toHaveLength(1);
    expect(events[0]!.processedAt).toBeInstanceOf(Date);

    const seen = await client.orders.get.query({ orderId: placed.orderId, accessToken: placed.accessToken });
    expect(seen.state).toBe('CONFIRMED');
    expect(seen.payment.clientSecret).toBeNull();
    expect((await getOrder(placed.orderId)).state).toBe('CONFIRMED');
    const m = manualDeps();
    try {
      await expectNoViolations({ orderIds: [placed.orderId], skus: [skuA, skuB], stripe: m.deps.stripe });
    } finally {
      await m.close();
    }
  });

  it('records a declined card on the order and keeps it payable', async () => {
    const sku = await seedProduct(2);
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING']);

    await sim.pay(pending.paymentIntentId!, 'pm_card_chargeDeclined').catch(() => undefined);
    const failed = await waitForState(placed.orderId, ['PAYMENT_PENDING'], 10_000).then(async () => {
      for (let i = 0; i < 100; i++) {
        const o = await getOrder(placed.orderId);
        if (o.payment?.lastError?.code) return o;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('payment failure not recorded');
    });
    expect(failed.state).toBe('PAYMENT_PENDING');
    expect(failed.payment?.lastError?.code).toBe('generic_decline');

    // The same PaymentIntent can still be paid.
    await sim.pay(pending.paymentIntentId!, 'pm_card_visa');
    await waitForState(placed.orderId, ['CONFIRMED']);
  });
});
