/**
 * The order page's payment events come with the order (recorded on it as
 * each event is processed), so reading an order never searches the events:
 * its cost does not grow with the events stored. Orders from before the
 * order carried them are still shown their events, by a search.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Order, WebhookEvent } from '../../prisma-free-models';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { getOrderForOwner } from '../../src/server/orders/order-view';
import { MAX_EVENTS, recordPaymentEvent } from '../../src/server/orders/payment-events-view';
import { api, cartWith, customer, getOrder, newKey, operationsOf, seedProduct, sim, waitFor, waitForState } from '../helpers';

afterEach(() => setOperationGate(undefined));

async function paidOrder(): Promise<{ orderId: string; accessToken: string }> {
  const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku: await seedProduct(2), qty: 1 }]), customer });
  const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING']);
  await sim.pay(pending.paymentIntentId ?? '');
  await waitForState(placed.orderId, ['CONFIRMED']);
  await waitFor('the success event recorded on the order', () => getOrder(placed.orderId), (o) => (o.paymentEvents ?? []).length === 1);
  return { orderId: placed.orderId, accessToken: placed.accessToken };
}

describe('payment events on the order', () => {
  it('are recorded as processed and read with the order, with no search of the events', async () => {
    const { orderId, accessToken } = await paidOrder();
    const stored = await getOrder(orderId);
    expect(stored.paymentEvents).toEqual([
      expect.objectContaining({ type: 'payment_intent.succeeded', paymentIntentId: stored.paymentIntentId, outcome: 'applied' }),
    ]);

    let view: Awaited<ReturnType<typeof getOrderForOwner>> | undefined;
    const ops = await operationsOf(async () => (view = await getOrderForOwner(orderId, accessToken)));
    expect(ops.map((op) => `${op.model}.${op.op}`)).toEqual(['Order.findOne']);
    expect(view?.paymentEvents.map(({ type, from, outcome }) => ({ type, from, outcome }))).toEqual([{ type: 'payment_intent.succeeded', from: 'stripe', outcome: 'applied' }]);
  });

  it('show the success that made the order PAID before the event’s job has recorded it (the order is finalized first)', async () => {
    const { orderId, accessToken } = await paidOrder();
    // As the order is between its confirmation and the end of the event's job.
    await Order.collection.updateOne({ _id: orderId } as never, { $set: { paymentEvents: [] } });
    let view: Awaited<ReturnType<typeof getOrderForOwner>> | undefined;
    const ops = await operationsOf(async () => (view = await getOrderForOwner(orderId, accessToken)));
    expect(ops.map((op) => `${op.model}.${op.op}`)).toEqual(['Order.findOne']);
    expect(view?.state).toBe('CONFIRMED');
    expect(view?.paymentEvents.map(({ type, from, outcome }) => ({ type, from, outcome }))).toEqual([{ type: 'payment_intent.succeeded', from: 'stripe', outcome: 'applied' }]);
    const paidAt = (await getOrder(orderId)).history.find((h) => h.to === 'PAID')?.at;
    expect(view?.paymentEvents[0]?.receivedAt).toBe(paidAt?.toISOString());
  });

  it('are kept once per event, whatever processes it again', async () => {
    const { orderId } = await paidOrder();
    const event = await WebhookEvent.findOne({ _id: (await getOrder(orderId)).payment?.succeededEventId }).lean();
    expect(event).toBeTruthy();
    await recordPaymentEvent(orderId, event!, 'already-done');
    expect((await getOrder(orderId)).paymentEvents).toEqual([expect.objectContaining({ id: event!._id, outcome: 'applied' })]);
  });

  it('are kept up to MAX_EVENTS per order, the first ones', async () => {
    const { orderId } = await paidOrder();
    const payload = JSON.stringify({ data: { object: { object: 'payment_intent', id: 'pi_other' } } });
    for (let i = 0; i < MAX_EVENTS + 2; i++) await recordPaymentEvent(orderId, { _id: `evt_many_${i}`, type: 'charge.refunded', payload, receivedAt: new Date() }, 'applied');
    const kept = (await getOrder(orderId)).paymentEvents ?? [];
    expect(kept).toHaveLength(MAX_EVENTS);
    expect(kept[0]?.type).toBe('payment_intent.succeeded');
    expect(kept.map((e) => e.id)).not.toContain(`evt_many_${MAX_EVENTS - 1}`);
  });

  it('of an order written before the order carried them are found by a search', async () => {
    const { orderId, accessToken } = await paidOrder();
    await Order.collection.updateOne({ _id: orderId } as never, { $unset: { paymentEvents: 1 } });
    let view: Awaited<ReturnType<typeof getOrderForOwner>> | undefined;
    const ops = await operationsOf(async () => (view = await getOrderForOwner(orderId, accessToken)));
    expect(ops.map((op) => `${op.model}.${op.op}`)).toEqual(['Order.findOne', 'WebhookEvent.find']);
    expect(view?.paymentEvents.map(({ type, from, outcome }) => ({ type, from, outcome }))).toEqual([{ type: 'payment_intent.succeeded', from: 'stripe', outcome: 'applied' }]);
  });
});
