/**
 * After FLUSHALL every stage converges by itself. Orders are left at each
 * stage with their next job queued on a Redis of this test's own: CREATED
 * (reservation), INVENTORY_RESERVED (payment intent), PAYMENT_PENDING with
 * its hold running out (expiry), PAID (finalization), and a PaymentIntent's
 * succeeded event received but not processed (event processing). Then Redis
 * loses everything, and a worker started on the empty Redis, with only
 * MongoDB's open-work lists to go by, must drive each one to its end within
 * a few reconciler passes. The suite's worker (same database, its own Redis)
 * waits STUCK_AFTER_MS (60 s) before re-driving, longer than this test.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { flushRedis } from '../../load/lib/dependencies';
import { placeOrder } from '../../src/server/orders/place-order';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { createOrderQueues } from '../../src/server/queue/queues';
import { applyObservedSuccess } from '../../src/server/webhooks/observed-success';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { cartWith, customer, env, expectNoViolations, getOrder, newKey, seedProduct, signedEvent, sim, simEvent, stockOf, suiteOrderLimits, waitFor, waitForState, withDatabaseRefusing } from '../helpers';
import { freePort, ProcessGroup, startProcess, startTs } from '../setup/processes';

const group = new ProcessGroup();
beforeAll(async () => {
  await sim.configure({ hold: true }); // webhooks are "lost": only what this test hands over arrives
});
afterAll(async () => {
  await group.stopAll();
  await sim.configure({ hold: false });
});

describe('after Redis loses every job (FLUSHALL)', () => {
  it('re-drives each stage: reservation, payment intent, expiry, finalization, an unprocessed event', async () => {
    const port = await freePort();
    group.add(startProcess('flush-stages/redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], process.env));
    const url = `redis://127.0.0.1:${port}`;
    const redis = new Redis(url, { maxRetriesPerRequest: 5 });
    redis.on('error', () => undefined); // refused until the server is up
    await waitFor('the test redis', () => redis.ping().catch(() => ''), (p) => p === 'PONG');
    const prefix = `stages_${randomBytes(3).toString('hex')}`;
    const queues = createOrderQueues(redis, prefix);
    const stripe = createStripeClient({ STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'), STRIPE_API_HOST: env('STRIPE_API_HOST'), STRIPE_API_PORT: Number(env('STRIPE_API_PORT')), STRIPE_API_PROTOCOL: 'http' });
    const deps = { enqueuer: queues.enqueuer, stripe, currency: 'inr', holdTimeMs: 10 * 60_000, orderLimits: suiteOrderLimits };
    try {
      const sku = await seedProduct(5);
      const place = async () => (await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, deps)).orderId;
      const toPending = async (holdTimeMs = deps.holdTimeMs) => {
        const id = await place();
        await reserveOrder(id, { ...deps, holdTimeMs });
        await requestPayment(id, deps);
        return getOrder(id);
      };

      // Each order stops with its next step's job in Redis, and nothing consumes it.
      const expiring = await toPending(4_000); // its expiry job is the one to lose
      const created = await place();
      const reserved = await place();
      await reserveOrder(reserved, deps);
      const paid = await toPending();
      await sim.pay(paid.paymentIntentId!);
      // Marked PAID, and the finalization right after fails (the product's
      // sale refused by the database): it is handed to a finalization job.
      const observed = await stripe.paymentIntents.retrieve(paid.paymentIntentId!);
      await withDatabaseRefusing((op) => op.model === 'Product', () => applyObservedSuccess(observed, deps));
      const withEvent = await toPending();
      await sim.pay(withEvent.paymentIntentId!);
      const event = await simEvent('payment_intent.succeeded', withEvent.paymentIntentId!);
      const { body, signature } = signedEvent(deps, event);
      expect((await receiveStripeWebhook(body, signature, { ...deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') })).status).toBe(200);

      expect((await getOrder(created)).state).toBe('CREATED');
      expect((await getOrder(reserved)).state).toBe('INVENTORY_RESERVED');
      expect((await getOrder(paid._id)).state).toBe('PAID');
      expect((await WebhookEvent.findById(event.id).lean())?.processedAt).toBeUndefined();
      expect(await queues.queues.finalization.getJob(`finalize-${paid._id}`)).toBeTruthy();
      expect(await queues.queues.webhookEvents.getJob(`event-${event.id}`)).toBeTruthy();
      expect(await queues.queues.expiry.getJob(`expire-${expiring._id}`)).toBeTruthy();

      expect(await flushRedis(url)).toBeGreaterThan(0);
      expect(await redis.dbsize()).toBe(0);

      group.add(
        startTs('flush-stages/worker', 'worker/index.ts', {
          ...process.env,
          REDIS_URL: url,
          QUEUE_PREFIX: prefix,
          RECONCILE_INTERVAL_MS: '500',
          STUCK_AFTER_MS: '1000',
          SERVICE_NAME: 'worker-flush-stages',
        }),
      );
      const within = 45_000;
      await Promise.all([
        waitForState(created, ['PAYMENT_PENDING'], within),
        waitForState(reserved, ['PAYMENT_PENDING'], within),
        waitForState(expiring._id, ['EXPIRED'], within),
        waitForState(paid._id, ['CONFIRMED'], within),
        waitForState(withEvent._id, ['CONFIRMED'], within),
        waitFor('the received event processed', () => WebhookEvent.findById(event.id).lean(), (e) => Boolean(e?.processedAt), within),
      ]);
      // The expired order gave its unit back (once its release finished); the two confirmed ones sold theirs.
      const stock = await waitFor('the expired hold released', () => stockOf(sku), (p) => p.sold === 2 && p.reserved === 2, within);
      expect(stock).toMatchObject({ available: 1, reserved: 2, sold: 2 });
      await expectNoViolations({ orderIds: [created, reserved, expiring._id, paid._id, withEvent._id], skus: [sku], stripe });
    } finally {
      await queues.close();
      redis.disconnect();
    }
  }, 90_000);
});
