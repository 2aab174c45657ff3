/**
 * Every worker step run twice, and run concurrently, ends in the same state
 * with one effect. Steps are driven by hand here: the queues live under a
 * prefix no worker consumes, so the test alone decides what runs and when.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { DomainError } from '../../src/server/errors';
import { finalizeOrder } from '../../src/server/orders/finalize-order';
import { placeOrder } from '../../src/server/orders/place-order';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { isLegalHistory, transition } from '../../src/server/orders/state-machine';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { processWebhookEvent } from '../../src/server/webhooks/process-event';
import { asList, cartWith, customer, env, expectNoViolations, getOrder, manualDeps, newKey, seedProduct, sim, stockOf } from '../helpers';

let m: ReturnType<typeof manualDeps>;
beforeAll(() => {
  m = manualDeps();
});
afterAll(async () => {
  await m.close();
});

interface SimEvent {
  id: string;
  type: string;
  event: { id: string; type: string; data: { object: { id: string } } };
}

describe('worker steps are idempotent', () => {
  it('reaches the same end state when every step runs twice and concurrently', async () => {
    const sku = await seedProduct(4);
    const cartId = await cartWith([{ sku, qty: 2 }]);
    const placed = await placeOrder({ cartId, customer, idempotencyKey: newKey() }, m.deps);
    const orderId = placed.orderId;
    expect(await m.queues.queues.reservation.getJob(`reserve-${orderId}`)).toBeTruthy();

    // Reservation: five at once, then once more.
    const reserves = await Promise.all(Array.from({ length: 5 }, () => reserveOrder(orderId, m.deps)));
    expect(reserves.filter((r) => r === 'applied')).toHaveLength(1);
    expect(await reserveOrder(orderId, m.deps)).toBe('already-done');
    expect(await stockOf(sku)).toMatchObject({ available: 2, reserved: 2, sold: 0 });

    // Payment intent: concurrently and again; one PaymentIntent at the simulator.
    const pays = await Promise.all(Array.from({ length: 3 }, () => requestPayment(orderId, m.deps)));
    expect(pays.filter((r) => r === 'applied')).toHaveLength(1);
    expect(await requestPayment(orderId, m.deps)).toBe('already-done');
    const order = await getOrder(orderId);
    const intents = asList<{ id: string }>(await sim.intentsFor(orderId));
    expect(intents.map((i) => i.id)).toEqual([order.paymentIntentId]);

    // Webhook intake and processing, with deliveries held so only we apply them.
    await sim.configure({ hold: true });
    try {
      await sim.pay(order.paymentIntentId!);
      const events = asList<SimEvent>(await sim.events());
      const event = events.find((e) => e.type === 'payment_intent.succeeded' && e.event.data.object.id === order.paymentIntentId)?.event;
      expect(event).toBeTruthy();
      const body = JSON.stringify(event);
      const sig = () => m.deps.stripe.webhooks.generateTestHeaderString({ payload: body, secret: env('STRIPE_WEBHOOK_SECRET') });
      const intakes = await Promise.all(Array.from({ length: 3 }, () => receiveStripeWebhook(body, sig(), { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') })));
      expect(intakes.every((r) => r.status === 200)).toBe(true);
      expect(await WebhookEvent.countDocuments({ _id: event!.id })).toBe(1);

      const processed = await Promise.all(Array.from({ length: 3 }, () => processWebhookEvent(event!.id, m.deps)));
      expect(processed.filter((r) => r === 'applied')).toHaveLength(1);
      expect(await processWebhookEvent(event!.id, m.deps)).toBe('already-done');
    } finally {
      await sim.configure({ hold: false });
    }
    // Each run that found the order PAID finalized it too (concurrently with the one that made it PAID).
    expect((await getOrder(orderId)).state).toBe('CONFIRMED');
    expect(await stockOf(sku)).toMatchObject({ available: 2, reserved: 0, sold: 2, holds: [] });

    // Finalization jobs (the reconciler's, a fallback's): concurrently and again; stock sold exactly once.
    const finals = await Promise.all(Array.from({ length: 3 }, () => finalizeOrder(orderId)));
    expect(finals).toEqual(['already-done', 'already-done', 'already-done']);
    expect(await stockOf(sku)).toMatchObject({ available: 2, reserved: 0, sold: 2, holds: [] });

    const done = await getOrder(orderId);
    expect(done.state).toBe('CONFIRMED');
    expect(isLegalHistory(done.history, 'CONFIRMED')).toBe(true);
    expect(done.history).toHaveLength(5);
    await expectNoViolations({ orderIds: [orderId], skus: [sku], stripe: m.deps.stripe });
  });

  it('reserves once when a crashed attempt already took the stock', async () => {
    const sku = await seedProduct(3);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 3 }]), customer, idempotencyKey: newKey() }, m.deps);
    // Simulate "holds written, state not yet": hold by hand through the same module.
    const { reserveLines, FIRST_HOLD_REF } = await import('../../src/server/inventory/stock');
    expect(await reserveLines(placed.orderId, FIRST_HOLD_REF, [{ sku, qty: 3 }])).toEqual({ ok: true, newlyHeld: 1 });
    expect(await reserveOrder(placed.orderId, m.deps)).toBe('applied');
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 3 });
  });

  it('refuses illegal and out-of-order transitions without changing the order', async () => {
    const sku = await seedProduct(3);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    const before = await getOrder(placed.orderId);

    // Not in the table at all: a programming error, thrown.
    await expect(transition(placed.orderId, { from: 'CREATED', to: 'CONFIRMED' })).rejects.toBeInstanceOf(DomainError);
    // In the table, but the order is not in the expected state: refused.
    const refused = await transition(placed.orderId, { from: 'PAID', to: 'CONFIRMED' });
    expect(refused.outcome).toBe('refused');
    // Finalizing an unpaid order does nothing.
    expect(await finalizeOrder(placed.orderId)).toBe('refused');

    const after = await getOrder(placed.orderId);
    expect(after.state).toBe('CREATED');
    expect(after.history).toHaveLength(before.history.length);
    expect(await stockOf(sku)).toMatchObject({ available: 3, reserved: 0, sold: 0 });
  });
});
