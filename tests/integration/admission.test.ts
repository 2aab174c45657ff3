/**
 * Admission over HTTP (src/server/http/admission.ts): a web process that runs
 * one call at once and lets none wait answers the calls beyond it 503 BUSY
 * with a Retry-After, having done nothing (a refused placeOrder leaves no
 * order under its key), and the typed client sends them again until they run.
 * A checkout waiting on Stripe holds no slot meanwhile: the app reaches Stripe
 * through a proxy that can hold its requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../../prisma-free-models/order';
import { createOrdersClient } from '../../src/trpc/client';
import { cartWith, customer, env, newKey, seedProduct, waitFor } from '../helpers';
import { scrape } from '../metrics-scrape';
import { startHoldingProxy, type HoldingProxy } from '../production/holding-proxy';
import { LIMITS_APP_PORTS, startLimitsApps, type LimitsApps } from './limits-app';

interface RawAnswer {
  status: number;
  retryAfter: string | null;
  domainCode: unknown;
}

/** One tRPC mutation by plain fetch: no client retries in the way. */
async function rawMutation(url: string, path: string, input: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const res = await fetch(`${url}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input ?? null) });
  const body = (await res.json()) as { error?: { data?: { domainCode?: unknown } } };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), domainCode: body.error?.data?.domainCode ?? null };
}

describe('admission of API calls', () => {
  let apps: LimitsApps;
  let url: string;
  let stripe: HoldingProxy;
  beforeAll(async () => {
    stripe = await startHoldingProxy('127.0.0.1', Number(env('STRIPE_API_PORT')));
    apps = await startLimitsApps('admission', LIMITS_APP_PORTS.slice(0, 1), {
      API_MAX_RUNNING_CALLS: '1',
      API_MAX_WAITING_CALLS: '0',
      STRIPE_API_PORT: String(stripe.port),
    });
    url = apps.urls[0] as string;
  });
  afterAll(async () => {
    await apps.stop();
    await stripe.close();
  });

  it('answers calls beyond capacity 503 BUSY with a Retry-After, before doing anything', async () => {
    const sku = await seedProduct(100);
    // Carts through the suite's app; the orders through the app that admits one call at once.
    const carts = await Promise.all(Array.from({ length: 30 }, () => cartWith([{ sku, qty: 1 }])));
    const keys = carts.map(() => newKey());
    const answers = await Promise.all(
      carts.map((cartId, i) => rawMutation(url, 'checkout.placeOrder', { cartId, customer: { ...customer, email: `admission-${i}@example.com` } }, { 'Idempotency-Key': keys[i] as string })),
    );
    const refused = answers.flatMap((a, i) => (a.status === 503 ? [i] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const i of refused) expect(answers[i]).toMatchObject({ retryAfter: '1', domainCode: 'BUSY' });
    // Every other call ran as usual.
    expect(answers.filter((a) => a.status !== 503).every((a) => a.status === 200)).toBe(true);
    // A refused placeOrder wrote nothing under its key...
    const stored = await Order.find({ idempotencyKey: { $in: refused.map((i) => keys[i] as string) } }, { _id: 1 }).lean();
    expect(stored).toEqual([]);
    // ...and sent again with the same key, by the typed client that retries BUSY, it places the order.
    const retried = await Promise.all(
      refused.map((i) =>
        createOrdersClient(url, { headers: () => ({ 'Idempotency-Key': keys[i] as string }) }).checkout.placeOrder.mutate({
          cartId: carts[i] as string,
          customer: { ...customer, email: `admission-${i}@example.com` },
        }),
      ),
    );
    const placed = await Order.find({ idempotencyKey: { $in: refused.map((i) => keys[i] as string) } }, { _id: 1 }).lean();
    expect(placed.map((o) => o._id).sort()).toEqual(retried.map((p) => p.orderId).sort());
    const refusals = (await scrape(`${url}/api/metrics`)).value('api_admission_total', { outcome: 'refused', step: 'checkout' });
    expect(refusals).toBeGreaterThanOrEqual(refused.length);
  });

  it('lets the typed client through a burst by sending refused calls again', async () => {
    let retries = 0;
    let sent = 0;
    const counted: typeof fetch = (input, init) => {
      sent += 1;
      return fetch(input, init);
    };
    const client = createOrdersClient(url, { busy: { retries: 20, onRetry: () => (retries += 1) }, fetch: counted });
    // The app is paused while the burst is sent, so the calls arrive together
    // when it resumes instead of one by one as fast as it answers them.
    const pid = apps.pids[0] as number;
    process.kill(pid, 'SIGSTOP');
    let burst: Promise<{ cartId: string }[]> | undefined;
    try {
      burst = Promise.all(Array.from({ length: 30 }, () => client.cart.create.mutate()));
      await waitFor('the burst handed to fetch', () => Promise.resolve(sent), (n) => n >= 30);
      // The requests' bytes reach the paused app's sockets (the kernel accepts its connections meanwhile).
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const carts = await burst;
    expect(new Set(carts.map((c) => c.cartId)).size).toBe(30);
    expect(retries).toBeGreaterThan(0);
  });

  it("gives the checkout's slot back while it waits on Stripe: another call runs meanwhile", async () => {
    const sku = await seedProduct(1);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    stripe.hold();
    const checkout = rawMutation(url, 'checkout.placeOrder', { cartId, customer: { ...customer, email: 'admission-stripe@example.com' } }, { 'Idempotency-Key': key });
    await waitFor('the checkout at Stripe', () => Promise.resolve(stripe.heldIncludes('payment_intents')), Boolean);
    // The only slot is free: a call that may not wait runs now.
    expect(await rawMutation(url, 'cart.create', null)).toMatchObject({ status: 200 });
    stripe.release();
    expect(await checkout).toMatchObject({ status: 200 });
    expect(await Order.findOne({ idempotencyKey: key }, { state: 1 }).lean()).toMatchObject({ state: 'PAYMENT_PENDING' });
  });
});
