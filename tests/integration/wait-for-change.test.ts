/**
 * orders.waitForChange: the long wait that replaces polling. Over HTTP
 * against the suite's app and worker (woken by transitions in the web
 * process and in the worker, through Redis pub/sub), and the per-process cap
 * on a waiter registry of the test's own.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrderWaiters } from '../../src/server/orders/order-changes';
import { waitForOrderChange } from '../../src/server/orders/wait-for-change';
import { followOrder } from '../../src/trpc/follow-order';
import { api, cartWith, customer, env, newKey, seedProduct, sim, trpcFailure } from '../helpers';

const TIMEOUT_MS = 25_000;
/** Well under the timeout: a wake-up that took this long came from the timeout, not a notification. */
const WAKE_BOUND_MS = 8_000;

async function pendingOrder() {
  const sku = await seedProduct(5);
  const client = api(newKey());
  const placed = await client.checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
  const order = { orderId: placed.orderId, accessToken: placed.accessToken };
  const view = await followOrder(client, order, (o) => o.state === 'PAYMENT_PENDING', { timeoutMs: 30_000 });
  return { client, order, view, seen: { state: view.state, historyLength: view.history.length } };
}

describe('orders.waitForChange', () => {
  it('answers at once when the order already moved on', async () => {
    const { client, order, view } = await pendingOrder();
    const t0 = Date.now();
    const answer = await client.orders.waitForChange.query({ ...order, seen: { state: 'CREATED', historyLength: 1 } });
    expect(Date.now() - t0).toBeLessThan(WAKE_BOUND_MS);
    // The same view but for the server's clock, read at each answer.
    expect(answer).toEqual({ changed: true, order: { ...view, serverTime: expect.any(String) as string } });
  });

  it('wakes when the web app changes the order (cancel)', async () => {
    const { client, order, seen } = await pendingOrder();
    const t0 = Date.now();
    const waiting = client.orders.waitForChange.query({ ...order, seen, timeoutMs: TIMEOUT_MS });
    await api().orders.cancel.mutate(order);
    const answer = await waiting;
    expect(Date.now() - t0).toBeLessThan(WAKE_BOUND_MS);
    expect(answer.changed && answer.order.state).toBe('CANCELLED');
  });

  it('wakes when the worker changes the order (payment)', async () => {
    const { client, order, view, seen } = await pendingOrder();
    const waiting = client.orders.waitForChange.query({ ...order, seen, timeoutMs: TIMEOUT_MS });
    const t0 = Date.now();
    await sim.pay(view.payment.paymentIntentId!, 'pm_card_visa');
    const answer = await waiting;
    expect(Date.now() - t0).toBeLessThan(WAKE_BOUND_MS);
    expect(answer.changed && ['PAID', 'CONFIRMED']).toContain(answer.changed && answer.order.state);
  });

  it('with until, does not answer a move to a state not waited for while one still can be reached', async () => {
    const { client, order, view } = await pendingOrder();
    // The order moved on from what the caller saw, but not to CONFIRMED, which it can still reach.
    const earlier = { state: 'INVENTORY_RESERVED' as const, historyLength: view.history.length - 1 };
    const t0 = Date.now();
    const answer = await client.orders.waitForChange.query({ ...order, seen: earlier, timeoutMs: 1_000, until: ['CONFIRMED'] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(answer).toEqual({ changed: false, order: null, busy: false });
    // Waiting for the state it is in answers at once.
    const now = await client.orders.waitForChange.query({ ...order, seen: earlier, timeoutMs: 1_000, until: ['PAYMENT_PENDING', 'CONFIRMED'] });
    expect(now.changed && now.order.state).toBe('PAYMENT_PENDING');
  });

  it('with until, answers once none of the states waited for can be reached (cancelled, never confirmed)', async () => {
    const { client, order, seen } = await pendingOrder();
    const t0 = Date.now();
    const waiting = client.orders.waitForChange.query({ ...order, seen, timeoutMs: TIMEOUT_MS, until: ['CONFIRMED'] });
    await api().orders.cancel.mutate(order);
    const answer = await waiting;
    expect(Date.now() - t0).toBeLessThan(WAKE_BOUND_MS);
    expect(answer.changed && answer.order.state).toBe('CANCELLED');
  });

  it('with until, answers a paid order when it is confirmed', async () => {
    const { client, order, view, seen } = await pendingOrder();
    const waiting = client.orders.waitForChange.query({ ...order, seen, timeoutMs: TIMEOUT_MS, until: ['CONFIRMED'] });
    await sim.pay(view.payment.paymentIntentId!, 'pm_card_visa');
    const answer = await waiting;
    expect(answer.changed && answer.order.state).toBe('CONFIRMED');
  });

  it('answers unchanged at the timeout', async () => {
    const { client, order, seen } = await pendingOrder();
    const t0 = Date.now();
    const answer = await client.orders.waitForChange.query({ ...order, seen, timeoutMs: 1_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(answer).toEqual({ changed: false, order: null, busy: false });
  });

  it('refuses a wrong access token as orders.get does, and a timeout over 25 s', async () => {
    const { client, order, seen } = await pendingOrder();
    const wrong = { ...order, accessToken: `${order.accessToken.slice(0, -4)}AAAA` };
    const waited = await trpcFailure(client.orders.waitForChange.query({ ...wrong, seen, timeoutMs: 1_000 }));
    const got = await trpcFailure(client.orders.get.query(wrong));
    expect(waited.data?.code).toBe('NOT_FOUND');
    expect(waited.message).toBe(got.message);
    const tooLong = await trpcFailure(client.orders.waitForChange.query({ ...order, seen, timeoutMs: 25_001 }));
    expect(tooLong.data?.code).toBe('BAD_REQUEST');
    const noState = await trpcFailure(client.orders.waitForChange.query({ ...order, seen, timeoutMs: 1_000, until: [] }));
    expect(noState.data?.code).toBe('BAD_REQUEST');
  });
});

describe('the waiters of one process', () => {
  const subscriber = new Redis(env('REDIS_URL'));
  const waiters = createOrderWaiters(subscriber, 1);
  afterAll(() => waiters.close());

  it('keeps at most its maximum waiting, answers the next at once (busy), and frees the slot', async () => {
    const first = await pendingOrder();
    const second = await pendingOrder();
    await waiters.ready(5_000);
    const waiting = waitForOrderChange(first.order.orderId, first.order.accessToken, first.seen, TIMEOUT_MS, { waiters });
    await expect.poll(() => waiters.size).toBe(1);

    const t0 = Date.now();
    const refused = await waitForOrderChange(second.order.orderId, second.order.accessToken, second.seen, TIMEOUT_MS, { waiters });
    expect(refused).toEqual({ changed: false, order: null, busy: true });
    expect(Date.now() - t0).toBeLessThan(WAKE_BOUND_MS);
    // Over the cap, a change is still reported at once.
    expect(await waitForOrderChange(second.order.orderId, second.order.accessToken, { state: 'CREATED', historyLength: 1 }, TIMEOUT_MS, { waiters })).toMatchObject({ changed: true });

    // The web app's cancel, published on Redis, wakes the waiter in this process.
    await api().orders.cancel.mutate(first.order);
    const answer = await waiting;
    expect(answer.changed && answer.order.state).toBe('CANCELLED');
    expect(waiters.size).toBe(0);
  });
});
