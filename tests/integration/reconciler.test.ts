/**
 * The reconciler re-drives work from MongoDB alone: a lost webhook, a lost
 * job, an entire Redis wiped with FLUSHALL (on a Redis of this test's own, so
 * nothing else is disturbed).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Order, Product, WebhookEvent } from '../../prisma-free-models';
import { placeOrder } from '../../src/server/orders/place-order';
import { NO_HOLD_STATES, reconcile } from '../../src/server/orders/reconcile';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { createOrderQueues, jobIds } from '../../src/server/queue/queues';
import { startProcess, startTs, stopProcess, type Managed } from '../setup/processes';
import { cartWith, customer, env, getOrder, manualDeps, newKey, seedProduct, sim, stockOf, suiteOrderLimits, waitFor, waitForState } from '../helpers';

let m: ReturnType<typeof manualDeps>;
const started: Managed[] = [];
beforeAll(async () => {
  m = manualDeps();
  await sim.configure({ hold: true });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => stopProcess(p)));
});
afterAll(async () => {
  await sim.configure({ hold: false });
  await m.close();
});

const opts = { stuckAfterMs: 0, idempotencyKeyTtlMs: 24 * 3600_000 };

async function pendingOrder(sku: string) {
  const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
  await reserveOrder(placed.orderId, m.deps);
  await requestPayment(placed.orderId, m.deps);
  return getOrder(placed.orderId);
}

describe('reconciler', () => {
  it('recovers a payment whose webhook was lost, once, however often it runs', async () => {
    const sku = await seedProduct(2);
    const order = await pendingOrder(sku);
    await sim.pay(order.paymentIntentId!); // the webhook is held: lost, as far as we know

    const reports = await Promise.all([reconcile(m.deps, opts), reconcile(m.deps, opts)]);
    expect(reports.reduce((n, r) => n + r.paymentRecovered, 0)).toBeGreaterThanOrEqual(1);
    await reconcile(m.deps, opts);
    const paid = await getOrder(order._id);
    expect(paid.state).toBe('CONFIRMED');
    expect(paid.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    expect(paid.history.filter((h) => h.to === 'CONFIRMED')).toHaveLength(1);
    expect(paid.payment?.succeededEventId).toBe(`reconcile:${order.paymentIntentId}`);
    const recorded = await WebhookEvent.findById(`reconcile:${order.paymentIntentId}`).lean();
    expect(recorded?.processedAt).toBeInstanceOf(Date);
    // Finalized in the same step: no finalization job was needed.
    expect(await m.queues.queues.finalization.getJob(`finalize-${order._id}`)).toBeFalsy();
  });

  it('re-enqueues an order whose job was lost', async () => {
    const sku = await seedProduct(2);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    await m.queues.queues.reservation.remove(`reserve-${placed.orderId}`);
    expect(await m.queues.queues.reservation.getJob(`reserve-${placed.orderId}`)).toBeFalsy();
    const report = await reconcile(m.deps, opts);
    expect(report.reserve).toBeGreaterThanOrEqual(1);
    expect(await m.queues.queues.reservation.getJob(`reserve-${placed.orderId}`)).toBeTruthy();
  });

  it('re-enqueues a lost reservation when the client replays placeOrder', async () => {
    const sku = await seedProduct(2);
    const input = { cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() };
    const placed = await placeOrder(input, m.deps);
    await m.queues.queues.reservation.remove(`reserve-${placed.orderId}`);
    const replay = await placeOrder(input, m.deps);
    expect(replay).toMatchObject({ orderId: placed.orderId, outcome: 'replayed' });
    expect(await m.queues.queues.reservation.getJob(`reserve-${placed.orderId}`)).toBeTruthy();
  });

  it('replaces a finished job of a step that still has work to do', async () => {
    const sku = await seedProduct(2);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    const jobId = `reserve-${placed.orderId}`;
    // A worker that completes the job without doing the work (as a crashed
    // or buggy run would leave it): the job id now belongs to a finished job.
    const { Worker } = await import('bullmq');
    const queue = m.queues.queues.reservation;
    const noop = new Worker(queue.name, () => Promise.resolve('noop'), { connection: m.redis.duplicate({ maxRetriesPerRequest: null }), prefix: queue.opts.prefix });
    try {
      await waitFor('job completed', async () => (await queue.getJob(jobId))?.getState(), (s) => s === 'completed');
    } finally {
      await noop.close();
    }
    await m.deps.enqueuer.reserve(placed.orderId);
    expect(await (await queue.getJob(jobId))?.getState()).toBe('waiting');
  });

  // The three enqueues that may say `first` (queues.ts EnqueueOptions), each on its own queue.
  const firstEnqueues = [
    { step: 'payment', queue: () => m.queues.queues.payment, jobId: jobIds.requestPayment, enqueue: (id: string, first?: { first: true }) => m.deps.enqueuer.requestPayment(id, first) },
    { step: 'expiry', queue: () => m.queues.queues.expiry, jobId: jobIds.expire, enqueue: (id: string, first?: { first: true }) => m.deps.enqueuer.expireAt(id, new Date(), first) },
    { step: 'webhook event', queue: () => m.queues.queues.webhookEvents, jobId: jobIds.processEvent, enqueue: (id: string, first?: { first: true }) => m.deps.enqueuer.processEvent(id, first) },
  ];

  it.each(firstEnqueues)('adds a first $step enqueue without looking for a finished job to replace (one round trip)', async ({ queue: queueOf, jobId: jobIdOf, enqueue }) => {
    // Only a caller that has just created the need may say `first`; here one
    // says it wrongly, after a job for the step finished, and is absorbed.
    const id = `ord_${randomBytes(12).toString('hex')}`;
    const jobId = jobIdOf(id);
    const { Worker } = await import('bullmq');
    const queue = queueOf();
    await enqueue(id, { first: true });
    expect(await (await queue.getJob(jobId))?.getState()).toBe('waiting');
    const noop = new Worker(queue.name, () => Promise.resolve('noop'), { connection: m.redis.duplicate({ maxRetriesPerRequest: null }), prefix: queue.opts.prefix });
    try {
      await waitFor('job completed', async () => (await queue.getJob(jobId))?.getState(), (s) => s === 'completed');
    } finally {
      await noop.close();
    }
    await enqueue(id, { first: true });
    expect(await (await queue.getJob(jobId))?.getState()).toBe('completed');
    await enqueue(id);
    expect(await (await queue.getJob(jobId))?.getState()).toBe('waiting');
    await queue.remove(jobId);
  });

  it('gives back an old hold whose order can never use it, and keeps the old hold of an order still waiting for payment', async () => {
    // The states whose holds are given back: terminal ones no transition leaves, not even an operator's.
    expect([...NO_HOLD_STATES].sort()).toEqual(['CONFIRMED', 'REFUNDED', 'REJECTED']);
    const longAgo = new Date(Date.now() - 3600_000);
    // A REJECTED order (2 wanted, 1 there) that a stale run left holding 1 unit.
    const sku = await seedProduct(1);
    const rejected = await placeOrder({ cartId: await cartWith([{ sku, qty: 2 }]), customer, idempotencyKey: newKey() }, m.deps);
    expect(rejected.state).toBe('REJECTED');
    await Product.updateOne({ _id: sku }, { $inc: { available: -1, reserved: 1 }, $push: { holds: { orderId: rejected.orderId, ref: 'r1', qty: 1, at: longAgo } } });
    // An order waiting for its payment, its hold as old.
    const waitingSku = await seedProduct(1);
    const waiting = await pendingOrder(waitingSku);
    expect(waiting.state).toBe('PAYMENT_PENDING');
    await Product.updateOne({ _id: waitingSku }, { $set: { 'holds.$[h].at': longAgo } }, { arrayFilters: [{ 'h.orderId': waiting._id }] });

    // Not old enough yet for the default age (30 minutes): both stay.
    expect((await reconcile(m.deps, { ...opts, strayHoldAfterMs: 2 * 3600_000 })).strayHoldsReleased).toBe(0);
    expect((await stockOf(sku)).holds).toHaveLength(1);
    // A pass the maintenance job runs between housekeeping passes does not look.
    expect((await reconcile(m.deps, { ...opts, sweepStrayHolds: false })).strayHoldsReleased).toBe(0);
    expect((await stockOf(sku)).holds).toHaveLength(1);

    const report = await reconcile(m.deps, opts);
    expect(report.strayHoldsReleased).toBeGreaterThanOrEqual(1);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 0, holds: [] });
    expect(await stockOf(waitingSku)).toMatchObject({ available: 0, reserved: 1, holds: [expect.objectContaining({ orderId: waiting._id })] });
    // Again: nothing more to give back.
    await reconcile(m.deps, opts);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, holds: [] });
  });

  it('keeps idempotency keys 24 hours, then purges them', async () => {
    const sku = await seedProduct(5);
    const key = newKey();
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const first = await placeOrder({ cartId, customer, idempotencyKey: key }, m.deps);
    await reconcile(m.deps, opts);
    expect((await getOrder(first.orderId)).idempotencyKey).toBe(key);
    // 25 hours later (written with the driver: mongoose protects createdAt).
    await Order.collection.updateOne({ _id: first.orderId } as never, { $set: { createdAt: new Date(Date.now() - 25 * 3600_000) } });
    // The suite's own worker runs the reconciler every 2 s and may purge it first:
    // what matters is the end state, not which pass did it.
    await reconcile(m.deps, opts);
    expect((await getOrder(first.orderId)).idempotencyKey).toBeUndefined();
  });

  it('rebuilds everything from MongoDB after Redis loses all its data', async () => {
    // A Redis of our own, so FLUSHALL touches nothing else.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const redisProc = startProcess('redis-flush', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], process.env);
    started.push(redisProc);
    const url = `redis://127.0.0.1:${port}`;
    const redis = new Redis(url, { maxRetriesPerRequest: 5 });
    redis.on('error', () => undefined); // refused until the server is up
    await waitFor('private redis', () => redis.ping().catch(() => ''), (p) => p === 'PONG');
    const prefix = `flush_${randomBytes(3).toString('hex')}`;
    const queues = createOrderQueues(redis, prefix);
    const stripe = createStripeClient({ STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'), STRIPE_API_HOST: env('STRIPE_API_HOST'), STRIPE_API_PORT: Number(env('STRIPE_API_PORT')), STRIPE_API_PROTOCOL: 'http' });
    const deps = { enqueuer: queues.enqueuer, stripe, currency: 'inr', holdTimeMs: 60_000, orderLimits: suiteOrderLimits };
    try {
      const sku = await seedProduct(3);
      const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 2 }]), customer, idempotencyKey: newKey() }, deps);
      await redis.flushall(); // the reservation job is gone before any worker saw it

      const worker = startTs('worker-flush', 'worker/index.ts', {
        ...process.env,
        REDIS_URL: url,
        QUEUE_PREFIX: prefix,
        RECONCILE_INTERVAL_MS: '500',
        STUCK_AFTER_MS: '1000',
        SERVICE_NAME: 'worker-flush',
      });
      started.push(worker);
      const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING'], 30_000);

      await redis.flushall(); // again, while the worker runs: its reconciler schedule is gone too
      await sim.pay(pending.paymentIntentId!); // and the webhook never comes (held)
      const confirmed = await waitForState(placed.orderId, ['CONFIRMED'], 30_000);
      expect(confirmed.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
      expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 2, holds: [] });
    } finally {
      await queues.close();
      redis.disconnect();
    }
  });
});
