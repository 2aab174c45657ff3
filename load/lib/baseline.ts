/**
 * The accept path against a baseline, at the run's concurrency, after the
 * buyers are done (so neither phase competes with them):
 *   baseline  POST /api/bench/baseline: one insert + one enqueue, nothing else
 *   accept    checkout.placeOrder on carts prepared beforehand (untimed), for a
 *             product of its own with a unit per order, so none is refused
 * Both send `requests` calls from `concurrency` loops; the ratio of their
 * throughputs is accept_baseline_ratio. The probe's orders are cancelled and
 * audited with the run's; the baseline's documents and jobs are removed.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { Product } from '../../prisma-free-models';
import { createOrdersClient } from '../../src/trpc/client';
import { asClientFetch, type LiteFetch } from './http-client';
import { customerFor } from './buyer';
import { runClosed } from './executor';
import { summarize, type TrendSummary } from './stats';

export interface PhaseResult {
  requests: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latencyMs: TrendSummary;
}

export interface BaselineResult {
  concurrency: number;
  baseline: PhaseResult | null;
  accept: PhaseResult;
  ratio: number | null;
  probeSku: string;
  probeOrderIds: string[];
  note?: string;
}

async function phase(requests: number, concurrency: number, one: (i: number) => Promise<void>): Promise<PhaseResult> {
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  await runClosed(requests, concurrency, async (i) => {
    const t = performance.now();
    try {
      await one(i);
      latencies.push(performance.now() - t);
    } catch {
      failed++;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return { requests, failed, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round((latencies.length / seconds) * 10) / 10, latencyMs: summarize(latencies) };
}

export async function measureBaseline(opts: { appUrl: string; http: LiteFetch; requests: number; concurrency: number; redisUrl: string; queuePrefix: string }): Promise<BaselineResult> {
  const { appUrl, requests, concurrency } = opts;
  const probeSku = `PROBE-${randomUUID().slice(0, 8).toUpperCase()}`;
  await Product.create({ _id: probeSku, name: 'Accept-path probe', priceMinor: 10_000, currency: 'inr', initialStock: requests, available: requests, reserved: 0, sold: 0 });

  // Carts first, untimed: the accept path is placeOrder itself.
  // The driver's own client for both phases, so the ratio compares the routes, not two clients.
  const fetch = asClientFetch(opts.http);
  const api = createOrdersClient(appUrl, { fetch });
  const carts: string[] = [];
  await runClosed(requests, concurrency, async () => {
    const { cartId } = await api.cart.createWithLines.mutate({ lines: [{ sku: probeSku, qty: 1 }] });
    carts.push(cartId);
  });

  let baseline: PhaseResult | null = await phase(requests, concurrency, async () => {
    const res = await opts.http(`${appUrl}/api/bench/baseline`, { method: 'POST' });
    if (res.status === 404) throw new Error('baseline route off');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  });
  let note: string | undefined;
  if (baseline.failed === requests) {
    baseline = null;
    note = 'the baseline route answered 404: start the app with LOAD_BASELINE_ROUTE=1 (never in production)';
  }

  const orders: { orderId: string; accessToken: string }[] = [];
  const accept = await phase(carts.length, concurrency, async (i) => {
    const key = `probe-${randomUUID()}`;
    const client = createOrdersClient(appUrl, { headers: () => ({ 'Idempotency-Key': key }), fetch });
    const placed = await client.checkout.placeOrder.mutate({ cartId: carts[i] as string, customer: customerFor(probeSku, i) });
    orders.push({ orderId: placed.orderId, accessToken: placed.accessToken });
  });

  // Give the probe's stock back: its orders are cancelled like any customer's.
  await runClosed(orders.length, concurrency, async (i) => {
    const o = orders[i] as (typeof orders)[number];
    await api.orders.cancel.mutate(o).catch(() => undefined);
  });
  await Product.updateOne({ _id: probeSku }, { $set: { active: false } });
  await cleanUpBaseline(opts.redisUrl, opts.queuePrefix);

  return {
    concurrency,
    baseline,
    accept,
    ratio: baseline && baseline.perSecond > 0 ? Math.round((accept.perSecond / baseline.perSecond) * 100) / 100 : null,
    probeSku,
    probeOrderIds: orders.map((o) => o.orderId),
    ...(note ? { note } : {}),
  };
}

/** What the baseline route wrote: its collection and its queue (which nothing consumes). */
async function cleanUpBaseline(redisUrl: string, prefix: string): Promise<void> {
  await mongoose.connection.collection('load_baseline').drop().catch(() => undefined);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('load-baseline', { connection, prefix });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
