/** The webhook route: signatures really verified, duplicates absorbed. */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { WebhookEvent } from '../../prisma-free-models';
import { OpenEvent } from '../../prisma-free-models/open-work';
import { createOrderQueues } from '../../src/server/queue/queues';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { api, appUrl, cartWith, customer, env, getOrder, manualDeps, newKey, seedProduct, sim, waitFor, waitForState, withDatabaseRefusing } from '../helpers';

const stripe = new Stripe('sk_test_unused');
const url = () => `${appUrl()}/api/webhooks/stripe`;

function succeededEvent(orderId: string, paymentIntentId: string, amount: number): { id: string; body: string } {
  const id = `evt_test_${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({
    id,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: {
      object: { id: paymentIntentId, object: 'payment_intent', amount, amount_received: amount, currency: 'inr', status: 'succeeded', metadata: { orderId } },
    },
  });
  return { id, body };
}

function post(body: string, signature: string | null, contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (signature !== null) headers['stripe-signature'] = signature;
  return fetch(url(), { method: 'POST', headers, body });
}

async function pendingOrder() {
  const sku = await seedProduct(3);
  const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
  return waitForState(placed.orderId, ['PAYMENT_PENDING']);
}

describe('webhook intake', () => {
  it('refuses forged, stale and unsigned deliveries with 400 and no effect', async () => {
    const order = await pendingOrder();
    const ev = succeededEvent(order._id, order.paymentIntentId!, order.totalMinor);
    const forged = stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: 'whsec_not_ours' });
    const stale = stripe.webhooks.generateTestHeaderString({
      payload: ev.body,
      secret: env('STRIPE_WEBHOOK_SECRET'),
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    const tampered = stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: env('STRIPE_WEBHOOK_SECRET') });

    for (const [body, sig] of [
      [ev.body, forged],
      [ev.body, stale],
      [ev.body, null],
      [ev.body, 'garbage'],
      [ev.body.replace(String(order.totalMinor), '1'), tampered],
    ] as const) {
      const res = await post(body, sig);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { received: boolean }).received).toBe(false);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await WebhookEvent.countDocuments({ _id: ev.id })).toBe(0);
    expect((await getOrder(order._id)).state).toBe('PAYMENT_PENDING');
  });

  it('applies one transition when the same event is delivered three times', async () => {
    const order = await pendingOrder();
    // Really paid at the simulator (its own webhook held back), so Stripe confirms the event.
    await sim.configure({ hold: true });
    await sim.pay(order.paymentIntentId!).finally(() => sim.configure({ hold: false }));
    const ev = succeededEvent(order._id, order.paymentIntentId!, order.totalMinor);
    const sign = () => stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: env('STRIPE_WEBHOOK_SECRET') });
    const answers = await Promise.all([post(ev.body, sign()), post(ev.body, sign()), post(ev.body, sign())]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const confirmed = await waitForState(order._id, ['CONFIRMED']);
    // A fourth, late delivery is acknowledged and changes nothing.
    const late = await post(ev.body, sign());
    expect(late.status).toBe(200);
    expect(((await late.json()) as { outcome: string }).outcome).toBe('already-done');
    const after = await getOrder(order._id);
    expect(after.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    expect(after.history).toHaveLength(confirmed.history.length);
    expect(await WebhookEvent.countDocuments({ _id: ev.id })).toBe(1);
  });

  it('does not mark paid on a signed success event that Stripe does not confirm', async () => {
    const order = await pendingOrder(); // never paid at the simulator
    const ev = succeededEvent(order._id, order.paymentIntentId!, order.totalMinor);
    const res = await post(ev.body, stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: env('STRIPE_WEBHOOK_SECRET') }));
    expect(res.status).toBe(200);
    const processed = await waitFor('event processed', () => WebhookEvent.findById(ev.id).lean(), (e) => Boolean(e?.processedAt));
    expect(processed?.outcome).toBe('refused');
    expect((await getOrder(order._id)).state).toBe('PAYMENT_PENDING');
  });

  it('absorbs the simulator duplicating every delivery', async () => {
    const order = await pendingOrder();
    await sim.configure({ duplicate: 3 });
    try {
      await sim.pay(order.paymentIntentId!);
      const confirmed = await waitForState(order._id, ['CONFIRMED']);
      await new Promise((r) => setTimeout(r, 500));
      expect((await getOrder(order._id)).history).toHaveLength(confirmed.history.length);
      expect(confirmed.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    } finally {
      await sim.configure({ duplicate: 1 });
    }
  });

  it('answers 500 when it cannot enqueue, keeps the event, and the redelivery enqueues it', async () => {
    const order = await pendingOrder();
    const ev = succeededEvent(order._id, order.paymentIntentId!, order.totalMinor);
    const signature = stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: env('STRIPE_WEBHOOK_SECRET') });
    // A queue whose Redis is unreachable (nothing listens on port 1).
    const deadRedis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    deadRedis.on('error', () => undefined);
    const dead = createOrderQueues(deadRedis, 'dead', { enqueueTimeoutMs: 500 });
    const m = manualDeps();
    try {
      const failed = await receiveStripeWebhook(ev.body, signature, { ...m.deps, enqueuer: dead.enqueuer, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
      expect(failed.status).toBe(500);
      expect(await WebhookEvent.countDocuments({ _id: ev.id })).toBe(1);
      const redelivered = await receiveStripeWebhook(ev.body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
      expect(redelivered).toMatchObject({ status: 200, body: { outcome: 'replayed' } });
      expect(await m.queues.queues.webhookEvents.getJob(`event-${ev.id}`)).toBeTruthy();
    } finally {
      deadRedis.disconnect();
      await m.close();
    }
  });

  it('is not acknowledged when its open-events entry cannot be written, even with the event stored; the redelivery lists it', async () => {
    const order = await pendingOrder();
    const ev = succeededEvent(order._id, order.paymentIntentId!, order.totalMinor);
    const signature = stripe.webhooks.generateTestHeaderString({ payload: ev.body, secret: env('STRIPE_WEBHOOK_SECRET') });
    const m = manualDeps();
    try {
      const deliver = () => receiveStripeWebhook(ev.body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
      // The two writes are made at once: the event's lands, the entry's is refused. The route answers a throw with 500.
      await expect(withDatabaseRefusing((op) => op.model === 'OpenEvent', deliver)).rejects.toThrow(/OpenEvent updateOne refused/);
      expect(await WebhookEvent.countDocuments({ _id: ev.id })).toBe(1);
      expect(await m.queues.queues.webhookEvents.getJob(`event-${ev.id}`)).toBeFalsy();
      expect(await OpenEvent.countDocuments({ _id: ev.id })).toBe(0);
      expect(await deliver()).toMatchObject({ status: 200, body: { outcome: 'replayed' } });
      expect(await OpenEvent.countDocuments({ _id: ev.id })).toBe(1);
    } finally {
      await m.close();
    }
  });

  it('acknowledges event types it does not handle without storing them', async () => {
    const body = JSON.stringify({ id: 'evt_test_ignored', object: 'event', type: 'customer.created', data: { object: { id: 'cus_1' } } });
    const res = await post(body, stripe.webhooks.generateTestHeaderString({ payload: body, secret: env('STRIPE_WEBHOOK_SECRET') }));
    expect(res.status).toBe(200);
    expect(await WebhookEvent.countDocuments({ _id: 'evt_test_ignored' })).toBe(0);
  });

  it('answers 400, not 500, to a signed body that is not JSON', async () => {
    const body = 'not json at all';
    const res = await post(body, stripe.webhooks.generateTestHeaderString({ payload: body, secret: env('STRIPE_WEBHOOK_SECRET') }), 'text/plain');
    expect(res.status).toBe(400);
  });
});
