/**
 * placeOrder asks Stripe for the PaymentIntent of the order it has just
 * reserved (deps.paymentAtPlacement, as the web app runs it), so the answer
 * is payable; the payment job runs only when that one bounded try fails.
 * Stripe here is the payment simulator, reached directly, through a proxy
 * that answers late (Stripe acted, the answer came after placeOrder gave up),
 * or at a port where nothing listens. The interleavings with the customer's
 * cancel, the expiry, a twin and the reconciler are the scheduler's
 * (tests/scheduler/scenarios); the kill in the middle is a crash test
 * (tests/crash/crash-points.test.ts, place-order:before-payment).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { paymentAtPlacementFrom, placeOrder } from '../../src/server/orders/place-order';
import { parseConfig } from '../../src/server/config';
import { requestPayment } from '../../src/server/orders/request-payment';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { jobIds } from '../../src/server/queue/queues';
import { api, asList, cartWith, customer, env, expectNoViolations, getOrder, manualDeps, newKey, seedProduct, sim, stockOf } from '../helpers';

const m = manualDeps();
const paying = { ...m.deps, reserveAtPlacement: true, paymentAtPlacement: { timeoutMs: 2_000 } };
const servers: http.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await m.close();
});

const paymentJob = (orderId: string) => m.queues.queues.payment.getJob(jobIds.requestPayment(orderId));
const intentsOf = async (orderId: string) => asList<{ id: string; status: string }>(await sim.intentsFor(orderId));

const stripeAt = (port: number) =>
  createStripeClient({ STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'), STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: port, STRIPE_API_PROTOCOL: 'http' });

/** A proxy to the simulator's API that holds every answer `lateMs` after the simulator gave it; counts the requests. */
async function lateStripe(lateMs: number): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    const upstream = http.request(
      { host: '127.0.0.1', port: Number(env('STRIPE_API_PORT')), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () =>
          setTimeout(() => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(chunks));
          }, lateMs),
        );
      },
    );
    req.pipe(upstream);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, requests: () => requests };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('placeOrder paying at placement', () => {
  it('answers PAYMENT_PENDING with the PaymentIntent to pay, one intent, no payment job, the expiry queued', async () => {
    const sku = await seedProduct(3, 49_900);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 2 }]), customer, idempotencyKey: newKey() }, paying);

    expect(placed).toMatchObject({ state: 'PAYMENT_PENDING', outcome: 'created' });
    const order = await getOrder(placed.orderId);
    expect(order.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING']);
    expect(order.paymentRequestedAt).toBeInstanceOf(Date);
    expect(placed.payment).toEqual({ paymentIntentId: order.paymentIntentId, clientSecret: order.clientSecret });
    expect(placed.payment?.clientSecret).toMatch(/_secret_/);
    const intents = await intentsOf(placed.orderId);
    expect(intents.map((i) => i.id)).toEqual([order.paymentIntentId]);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 2 });
    expect(await paymentJob(placed.orderId)).toBeUndefined();
    expect(await m.queues.queues.expiry.getJob(jobIds.expire(placed.orderId))).toBeDefined();
    await expectNoViolations({ orderIds: [placed.orderId], skus: [sku] });
  });

  it('answers the same PaymentIntent to a replay of the key, and asks Stripe nothing more', async () => {
    const sku = await seedProduct(2);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const key = newKey();
    const first = await placeOrder({ cartId, customer, idempotencyKey: key }, paying);
    const replay = await placeOrder({ cartId, customer, idempotencyKey: key }, paying);

    expect(replay).toMatchObject({ orderId: first.orderId, state: 'PAYMENT_PENDING', outcome: 'replayed' });
    expect(replay.payment).toEqual(first.payment);
    expect(await intentsOf(first.orderId)).toHaveLength(1);
    expect(await paymentJob(first.orderId)).toBeUndefined();
  });

  it('hands the payment to the job when Stripe answers after placeOrder gave up; the job gets the intent Stripe made', async () => {
    const sku = await seedProduct(2);
    const proxy = await lateStripe(1_500);
    const late = { ...paying, stripe: stripeAt(proxy.port), paymentAtPlacement: { timeoutMs: 300 } };
    const started = Date.now();
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, late);

    expect(Date.now() - started, 'placeOrder waits about its timeout, not for the answer').toBeLessThan(1_400);
    expect(proxy.requests(), 'one try, no network retries').toBe(1);
    expect(placed).toMatchObject({ state: 'INVENTORY_RESERVED', payment: null });
    expect(await paymentJob(placed.orderId)).toBeDefined();
    // Stripe made the intent; the order does not know it yet.
    const made = await intentsOf(placed.orderId);
    expect(made).toHaveLength(1);
    expect((await getOrder(placed.orderId)).paymentIntentId).toBeUndefined();

    // The job's step, with the same idempotency key: the same PaymentIntent, not a second one.
    expect(await requestPayment(placed.orderId, m.deps)).toBe('applied');
    const pending = await getOrder(placed.orderId);
    expect(pending.state).toBe('PAYMENT_PENDING');
    expect(pending.paymentIntentId).toBe(made[0]?.id);
    expect(await intentsOf(placed.orderId)).toHaveLength(1);
    await expectNoViolations({ orderIds: [placed.orderId], skus: [sku] });
  });

  it('hands the payment to the job when Stripe cannot be reached, and the job asks', async () => {
    const sku = await seedProduct(2);
    const unreachable = { ...paying, stripe: stripeAt(await closedPort()) };
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, unreachable);

    expect(placed).toMatchObject({ state: 'INVENTORY_RESERVED', payment: null });
    expect(await paymentJob(placed.orderId)).toBeDefined();
    expect(await intentsOf(placed.orderId)).toEqual([]);
    expect(await requestPayment(placed.orderId, m.deps)).toBe('applied');
    expect((await getOrder(placed.orderId)).state).toBe('PAYMENT_PENDING');
    expect(await intentsOf(placed.orderId)).toHaveLength(1);
    await expectNoViolations({ orderIds: [placed.orderId], skus: [sku] });
  });

  it('is on by default and off with PAYMENT_AT_PLACEMENT_TIMEOUT_MS=0', () => {
    const configEnv = () => ({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' });
    expect(paymentAtPlacementFrom(parseConfig({ ...configEnv(), PAYMENT_AT_PLACEMENT_TIMEOUT_MS: undefined }))).toEqual({ paymentAtPlacement: { timeoutMs: 5_000 } });
    expect(paymentAtPlacementFrom(parseConfig({ ...configEnv(), PAYMENT_AT_PLACEMENT_TIMEOUT_MS: '800' }))).toEqual({ paymentAtPlacement: { timeoutMs: 800 } });
    expect(paymentAtPlacementFrom(parseConfig({ ...configEnv(), PAYMENT_AT_PLACEMENT_TIMEOUT_MS: '0' }))).toEqual({});
  });

  it('through the API: the checkout answers payable, with what orders.get shows', async () => {
    const sku = await seedProduct(1);
    const key = newKey();
    const placed = await api(key).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    expect(placed.state).toBe('PAYMENT_PENDING');
    const view = await api().orders.get.query({ orderId: placed.orderId, accessToken: placed.accessToken });
    expect(placed.payment).toEqual({ paymentIntentId: view.payment.paymentIntentId, clientSecret: view.payment.clientSecret });
  });
});
