/**
 * A flash sale on the system deployed as production runs it, with several
 * processes of each kind on one database and one queue prefix: two web
 * processes, three workers, and a payment simulator that delivers every
 * webhook twice, the copies spread over both web processes. 300 buyers go
 * after 20 units through the HTTP API (cart, line, placeOrder with an
 * Idempotency-Key; some double-submit to both web processes at once, some
 * retry), each winner pays at the simulator, and once half the units are
 * paid one worker is SIGKILLed while it holds jobs and not restarted: the
 * two left must take over its jobs (BullMQ's stalled-job check) and finish
 * everything.
 *
 * The promise under test: exactly 20 CONFIRMED, each paid exactly once, the
 * other 280 REJECTED for stock, the product sold out with nothing held, and
 * the invariant auditor clean.
 *
 * The processes are the test's own (see cluster.ts): database `<suite db>_multi`,
 * queue prefix `<suite prefix>_multi`, web processes on TEST_APP_PORT+1 and +2,
 * the webhook front on TEST_APP_PORT+3, the simulator on TEST_SIM_PORT+1.
 * Logs: .run/test/logs/multi/; on failure, the evidence (orders not in their
 * expected end state, with their histories) is written there too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMongo, disconnectMongo, ensureIndexes, Order, type OrderDoc } from '../../prisma-free-models';
import type { OrderView } from '../../src/server/orders/order-view';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { api, asList, customer, env, expectNoViolations, newKey, seedProduct, simControl, stockOf, waitFor } from '../helpers';
import { LOG_DIR } from '../setup/processes';
import { APP_PORT, SIM_PORT, siblingDatabase } from '../setup/test-env';
import { killHoldingJobs, startCluster, type Cluster } from './cluster';

const BUYERS = 300;
const UNITS = 20;
/** Buyers in flight at once: enough for real contention, few enough for a 2-core machine running seven processes. */
const CONCURRENCY = 50;
const KILL_AFTER_PAID = UNITS / 2;
/** orders.get polling: a storefront's order page, not a busy loop (50 buyers poll at once). */
const POLL_MS = 250;

interface Buyer {
  i: number;
  orderId: string;
  accessToken: string;
  /** placeOrder calls answered with `replayed: true` (double submits and retries). */
  replays: number;
  paid: boolean;
  /** Cart, line and placeOrder, as the buyer waited for them. */
  placeMs: number;
  /** From placeOrder's answer until orders.get showed the reservation decided. */
  decideMs: number;
}

interface SimIntent {
  id: string;
  status: string;
  amount_received: number;
  metadata: Record<string, string>;
}

interface SimEventRecord {
  id: string;
  type: string;
  deliveries: { reason: string; status: string }[];
}

const payable = (o: OrderView) => (o.state === 'INVENTORY_RESERVED' || o.state === 'PAYMENT_PENDING') && o.payment.paymentIntentId !== null;
/** Reservation decided: rejected, or held with a PaymentIntent to pay (or anything unexpected, which the end checks report). */
const decided = (o: OrderView) => o.state !== 'CREATED' && (payable(o) || (o.state !== 'INVENTORY_RESERVED' && o.state !== 'PAYMENT_PENDING'));

/** Runs fn(0..n-1), at most `limit` at a time; after a failure no new work starts and the run rejects. */
async function runLimited<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < n) {
      const i = next++;
      try {
        results[i] = await fn(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

const p50p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0);
  return { p50: at(0.5), p95: at(0.95) };
};

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

let cluster: Cluster | undefined;
let name = '';
let passed = false;
const setupStarted = Date.now();
const evidence: { sku?: string; orderIds: string[]; kill?: unknown } = { orderIds: [] };

beforeAll(async () => {
  name = `${env('QUEUE_PREFIX')}_multi`;
  // Models talk to the default connection: point it at this test's own database.
  await disconnectMongo();
  await connectMongo(siblingDatabase(env('MONGODB_URI'), 'multi'));
  await mongoose.connection.dropDatabase();
  await ensureIndexes(); // the unique idempotency-key index must exist before the first placeOrder
  cluster = await startCluster({
    name,
    mongoUri: siblingDatabase(env('MONGODB_URI'), 'multi'),
    queuePrefix: name,
    webPorts: [APP_PORT + 1, APP_PORT + 2],
    frontPort: APP_PORT + 3,
    simPort: SIM_PORT + 1,
    workers: 3,
    env: {
      // A killed worker's jobs come back within lock + stalled interval (~6 s), not the default ~45 s.
      WORKER_LOCK_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      // The reconciler runs alongside, as in production; stuck only after 5 s, so it re-drives what a kill left behind.
      RECONCILE_INTERVAL_MS: '1000',
      STUCK_AFTER_MS: '5000',
      LOG_LEVEL: 'info',
    },
  });
  await simControl(() => cluster!.simUrl).configure({ duplicate: 2 });
});

afterAll(async () => {
  try {
    if (!passed && mongoose.connection.readyState === mongoose.ConnectionStates.connected) await writeEvidence();
  } finally {
    await cluster?.stop();
    if (mongoose.connection.readyState === mongoose.ConnectionStates.connected) await mongoose.connection.dropDatabase();
  }
});

/** Every order but those rejected for stock (the 20 that should be confirmed, and anything odd), with histories, and the product. */
async function writeEvidence(): Promise<void> {
  const file = path.join(LOG_DIR, 'multi', `${name}-evidence.json`);
  const orders = await Order.find({
    _id: { $in: evidence.orderIds },
    $or: [{ state: { $ne: 'REJECTED' } }, { 'rejection.reason': { $ne: 'OUT_OF_STOCK' } }],
  }).lean<OrderDoc[]>();
  const states = countBy(await Order.find({ _id: { $in: evidence.orderIds } }, { state: 1 }).lean<OrderDoc[]>(), (o) => o.state);
  const product = evidence.sku ? await stockOf(evidence.sku).catch(() => null) : null;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ states, kill: evidence.kill, product, orders }, null, 2));
  console.error(`multi-process sale failed: evidence in ${file}, process logs in ${path.dirname(file)}/${name}-*.log`);
}

describe('several web processes and workers on one database and queue', () => {
  it(`${BUYERS} buyers, ${UNITS} units, webhooks delivered twice, a worker SIGKILLed mid-run: ${UNITS} confirmed and paid once`, async () => {
    const c = cluster!;
    const sim = simControl(() => c.simUrl);
    const sku = await seedProduct(UNITS);
    evidence.sku = sku;
    const started = Date.now();
    let paid = 0;
    let placed = 0;
    let kill: { atMs: number; armedAt: { placed: number; paid: number }; heldJobs: string[] } | undefined;

    let killing: Promise<void> | undefined;
    const killOneWorker = async () => {
      const armedAt = { placed, paid };
      const heldJobs = await killHoldingJobs(c.workers[0]!, c.queues, 15_000);
      kill = { atMs: Date.now() - started, armedAt, heldJobs };
      evidence.kill = kill;
    };

    const buy = async (i: number): Promise<Buyer> => {
      const [web, other] = i % 2 === 0 ? [c.webUrls[0]!, c.webUrls[1]!] : [c.webUrls[1]!, c.webUrls[0]!];
      const shop = api(undefined, web);
      const t0 = Date.now();
      const { cartId } = await shop.cart.create.mutate();
      await shop.cart.addLine.mutate({ cartId, sku, qty: 1 });
      const key = newKey();
      const input = { cartId, customer: { ...customer, email: `buyer-${i}@example.com` } };
      const place = (url: string) => api(key, url).checkout.placeOrder.mutate(input);

      let replays = 0;
      let order = await (async () => {
        if (i % 10 !== 0) return place(web);
        // A double click whose two requests land on different web processes: one order.
        const both = await Promise.all([place(web), place(other)]);
        expect(both[1].orderId, `buyer ${i}: both submits give one order`).toBe(both[0].orderId);
        expect(both.filter((p) => !p.replayed), `buyer ${i}: exactly one submit created the order`).toHaveLength(1);
        replays++;
        return both[0];
      })();
      if (i % 10 === 5) {
        // A retry after a timeout, through the other web process: the same order, replayed.
        const again = await place(other);
        expect({ orderId: again.orderId, replayed: again.replayed }, `buyer ${i}: retry replays`).toEqual({ orderId: order.orderId, replayed: true });
        replays++;
        order = again;
      }
      placed++;
      const placeMs = Date.now() - t0;
      evidence.orderIds.push(order.orderId);
      const { orderId, accessToken } = order;
      const view = () => shop.orders.get.query({ orderId, accessToken });

      const decision = await waitFor(`order ${orderId} (buyer ${i}) decided`, view, decided, 60_000, POLL_MS);
      const decideMs = Date.now() - t0 - placeMs;
      if (!payable(decision)) return { i, orderId, accessToken, replays, paid: false, placeMs, decideMs };

      const intent = await sim.pay(decision.payment.paymentIntentId!);
      expect(intent.status, `payment of order ${orderId}`).toBe('succeeded');
      // The kill runs beside the sale (it waits to catch the worker holding jobs); awaited after it.
      if (++paid === KILL_AFTER_PAID) {
        killing = killOneWorker();
        killing.catch(() => undefined); // reported where it is awaited
      }
      await waitFor(`order ${orderId} (buyer ${i}) CONFIRMED`, view, (o) => o.state === 'CONFIRMED', 60_000, POLL_MS);
      return { i, orderId, accessToken, replays, paid: true, placeMs, decideMs };
    };

    const buyers = await runLimited(BUYERS, CONCURRENCY, buy);
    const saleMs = Date.now() - started;
    await killing;

    // The worker died holding jobs, the others took them back and carried on to the end.
    expect(kill?.heldJobs.length, `a worker was killed holding jobs once ${KILL_AFTER_PAID} orders were paid`).toBeGreaterThan(0);
    expect(c.workers[0]!.child.signalCode).toBe('SIGKILL');
    for (const w of c.workers.slice(1)) expect(w.child.exitCode, `${w.name} still running`).toBeNull();
    await waitFor('the killed worker\'s jobs taken back by the stalled-job check', () => Promise.resolve(c.stalled), (s) => kill!.heldJobs.every((j) => s.includes(j)), 15_000);

    // One order per buyer, double submits included: nothing else in the database.
    const ids = buyers.map((b) => b.orderId);
    expect(new Set(ids).size).toBe(BUYERS);
    expect(await Order.countDocuments()).toBe(BUYERS);

    const orders = await Order.find({ _id: { $in: ids } }).lean<OrderDoc[]>();
    const states = countBy(orders, (o) => o.state);
    expect(states).toEqual({ CONFIRMED: UNITS, REJECTED: BUYERS - UNITS });
    const confirmed = orders.filter((o) => o.state === 'CONFIRMED');
    for (const o of orders.filter((x) => x.state === 'REJECTED')) expect(o.rejection?.reason, `order ${o._id} rejected for stock`).toBe('OUT_OF_STOCK');
    expect(buyers.filter((b) => b.paid).map((b) => b.orderId).sort()).toEqual(confirmed.map((o) => o._id).sort());

    const product = await stockOf(sku);
    expect({ initialStock: product.initialStock, available: product.available, reserved: product.reserved, sold: product.sold, holds: product.holds }).toEqual({
      initialStock: UNITS,
      available: 0,
      reserved: 0,
      sold: UNITS,
      holds: [],
    });

    // Paid exactly once: one PaymentIntent per confirmed order, succeeded for its total, none for anyone else, no refunds.
    for (const o of confirmed) {
      const mine = asList<SimIntent>(await sim.intentsFor(o._id));
      expect(mine.map((pi) => ({ id: pi.id, status: pi.status, amount: pi.amount_received })), `PaymentIntents of order ${o._id}`).toEqual([
        { id: o.paymentIntentId, status: 'succeeded', amount: o.totalMinor },
      ]);
    }
    const intents = asList<SimIntent>(await sim.call('GET', '/_sim/payment_intents'));
    expect(intents.map((pi) => pi.metadata.orderId).sort()).toEqual(confirmed.map((o) => o._id).sort());
    const requests = await sim.call<{ counts: Record<string, number> }>('GET', '/_sim/requests');
    expect(requests.counts['POST /v1/payment_intents'], 'PaymentIntents created (idempotent retries are replays)').toBe(UNITS);
    expect(requests.counts['POST /v1/refunds'] ?? 0, 'refunds').toBe(0);

    // Every event was delivered twice and both copies accepted, through both web processes. A busy web
    // process can time a delivery out (10 s), and the simulator retries it as Stripe would: wait for those.
    expect(await sim.call<{ settled: boolean }>('POST', '/_sim/settle?timeoutMs=45000')).toEqual({ settled: true });
    const events = asList<SimEventRecord>(await sim.events());
    expect(events.filter((e) => e.type === 'payment_intent.succeeded')).toHaveLength(UNITS);
    for (const e of events) {
      expect(e.deliveries.map((d) => `${d.reason}:${d.status}`), `deliveries of ${e.type} ${e.id}`).toEqual(['initial:succeeded', 'duplicate:succeeded']);
    }
    for (const [n, forwarded] of c.front.forwarded.entries()) expect(forwarded, `webhook deliveries to web process ${n + 1}`).toBeGreaterThan(0);

    await expectNoViolations({
      orderIds: ids,
      skus: [sku],
      stripe: createStripeClient({
        STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'),
        STRIPE_API_HOST: '127.0.0.1',
        STRIPE_API_PORT: SIM_PORT + 1,
        STRIPE_API_PROTOCOL: 'http',
      }),
    });
    passed = true;

    console.info(
      `multi-process sale: ${JSON.stringify({
        states,
        saleMs,
        totalMs: Date.now() - setupStarted,
        kill,
        stalledJobsTakenBack: c.stalled,
        placeOrderReplays: buyers.reduce((s, b) => s + b.replays, 0),
        placeMs: p50p95(buyers.map((b) => b.placeMs)),
        decideMs: p50p95(buyers.map((b) => b.decideMs)),
        webhookDeliveriesPerWeb: c.front.forwarded,
      })}`,
    );
  }, 150_000);
});
