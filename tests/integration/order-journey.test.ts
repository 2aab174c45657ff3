/**
 * What the order page reads to show the journey (orders.get): each step's
 * outcome, the payment events of the order's own PaymentIntent (its payment,
 * the refund of it, the charge's refunds) with what processing did — and
 * nothing of an event about another intent, nor any event id or payload —
 * and the server's clock for the countdown.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { api, cartWith, customer, getOrder, newKey, seedProduct, sim, waitFor, waitForState } from '../helpers';

afterAll(async () => {
  await sim.configure({ hold: false });
});

/** A signed event naming the order in its metadata but about someone else's payment: it moved nothing and is not shown. */
async function foreignEvent(orderId: string, type: string, object: Record<string, unknown>): Promise<void> {
  const id = `evt_foreign_${type}_${orderId}`;
  await WebhookEvent.create({
    _id: id,
    type,
    objectId: String(object.id),
    orderId,
    payload: JSON.stringify({ id, type, data: { object: { ...object, metadata: { orderId } } } }),
    receivedAt: new Date(),
    processedAt: new Date(),
    outcome: 'refused',
  });
}

describe('the order journey in orders.get', () => {
  it('lists each transition with its outcome and the order’s payment events with theirs', async () => {
    const sku = await seedProduct(3);
    const client = api(newKey());
    const placed = await client.checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING']);
    const owner = { orderId: placed.orderId, accessToken: placed.accessToken };

    const before = Date.now();
    const first = await client.orders.get.query(owner);
    expect(Math.abs(new Date(first.serverTime).getTime() - before)).toBeLessThan(60_000);
    expect(first.history.map((h) => [h.action, h.outcome])).toEqual([
      ['place-order', 'created'],
      ['reserve', 'applied'],
      ['request-payment', 'applied'],
    ]);
    expect(first.paymentEvents).toEqual([]);

    await foreignEvent(placed.orderId, 'payment_intent.succeeded', { object: 'payment_intent', id: 'pi_someone_else' });

    await sim.pay(pending.paymentIntentId ?? '', 'pm_card_chargeDeclined').catch(() => undefined);
    // Deliveries are not ordered (Stripe's are not either): a late failure after the success is
    // skipped, correctly. Pay again only once the failure has been processed, so the list is fixed.
    await waitFor(
      'the failed payment processed',
      () => client.orders.get.query(owner),
      (v) => v.paymentEvents.some((e) => e.type === 'payment_intent.payment_failed' && e.outcome !== null),
    );
    await sim.pay(pending.paymentIntentId ?? '', 'pm_card_visa');
    await waitForState(placed.orderId, ['CONFIRMED']);
    const view = await waitFor(
      'both payment events processed',
      () => client.orders.get.query(owner),
      (v) => v.paymentEvents.length >= 2 && v.paymentEvents.every((e) => e.outcome !== null),
    );
    expect(view.paymentEvents.map((e) => [e.type, e.from, e.outcome])).toEqual([
      ['payment_intent.payment_failed', 'stripe', 'applied'],
      ['payment_intent.succeeded', 'stripe', 'applied'],
    ]);
    for (const e of view.paymentEvents) expect(Object.keys(e).sort()).toEqual(['from', 'outcome', 'receivedAt', 'type']);
    expect(view.history.slice(-2).map((h) => [h.action, h.outcome])).toEqual([
      ['mark-paid', 'applied'],
      ['finalize', 'applied'],
    ]);
    expect((await getOrder(placed.orderId)).state).toBe('CONFIRMED');
  });

  it('shows the refund of a payment made after the buyer cancelled, and not a refund of another payment naming the order', async () => {
    const sku = await seedProduct(2);
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    const pi = (await waitForState(placed.orderId, ['PAYMENT_PENDING'])).paymentIntentId ?? '';
    const owner = { orderId: placed.orderId, accessToken: placed.accessToken };
    // Deliveries held, so the cancel reaches the order before the payment's webhook does.
    await sim.configure({ hold: true });
    expect((await sim.pay(pi)).status).toBe('succeeded');
    await api().orders.cancel.mutate(owner);
    await sim.configure({ hold: false });
    await sim.flush();
    await waitForState(placed.orderId, ['REFUNDED']);
    await foreignEvent(placed.orderId, 'refund.created', { object: 'refund', id: 're_someone_else', payment_intent: 'pi_someone_else' });
    await foreignEvent(placed.orderId, 'charge.refunded', { object: 'charge', id: 'ch_someone_else', payment_intent: { id: 'pi_someone_else' } });

    const view = await waitFor(
      'the refund’s events processed',
      () => api().orders.get.query(owner),
      // Events show once processed: wait for Stripe's three (its success may come after the refund's).
      (v) => ['payment_intent.succeeded', 'refund.created', 'charge.refunded'].every((t) => v.paymentEvents.some((e) => e.type === t && e.from === 'stripe')),
    );
    expect(view.state).toBe('REFUNDED');
    expect(view.refund).toMatchObject({ status: 'succeeded' });
    const fromStripe = view.paymentEvents.filter((e) => e.from === 'stripe');
    expect(fromStripe.map((e) => e.type).sort()).toEqual(['charge.refunded', 'payment_intent.succeeded', 'refund.created']);
    expect(fromStripe.filter((e) => e.type !== 'payment_intent.succeeded').map((e) => e.outcome)).toEqual(['applied', 'applied']);
    // Cancelling found the payment at Stripe too, so the success may be on the journey twice: once applied, once already done.
    const successes = view.paymentEvents.filter((e) => e.type === 'payment_intent.succeeded');
    expect(successes.map((e) => e.outcome).sort()).toEqual(successes.length === 1 ? ['applied'] : ['already-done', 'applied']);
    expect(view.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'CANCELLED', 'REFUNDED']);
  });
});
