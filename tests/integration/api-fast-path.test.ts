/**
 * The hot API paths answered in front of Next's router (src/server/http/fast-path.ts):
 * they answer as Next's route files would, with the site's headers and the
 * request id, and a client that goes away ends what the server waits on its
 * behalf (a waitForChange slot is given back, not held to its timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape } from '../metrics-scrape';
import { api, appUrl, cartWith, customer, newKey, seedProduct } from '../helpers';
import { followOrder } from '../../src/trpc/follow-order';
import { LIMITS_APP_PORTS, startLimitsApps, type LimitsApps } from './limits-app';

const fastPathAnswers = async (endpoint: 'trpc' | 'webhook') =>
  (await scrape(`${appUrl()}/api/metrics`)).value('api_request_duration_seconds_count', { endpoint, via: 'fast-path' });

describe('API in front of Next', () => {
  it('answers tRPC and webhook requests with the headers Next adds (Referrer-Policy) and the request id', async () => {
    const [trpc0, webhook0] = [await fastPathAnswers('trpc'), await fastPathAnswers('webhook')];
    const trpc = await fetch(`${appUrl()}/api/trpc/catalog.list`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'fast-path-1' } });
    expect(trpc.status).toBe(200);
    const webhook = await fetch(`${appUrl()}/api/webhooks/stripe`, { method: 'POST', body: '{}', headers: { 'x-request-id': 'fast-path-2' } });
    expect(webhook.status).toBe(400);
    for (const [res, id] of [
      [trpc, 'fast-path-1'],
      [webhook, 'fast-path-2'],
    ] as const) {
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-request-id')).toBe(id);
    }
    // Both were answered in front of Next's router, not by its route files.
    expect(await fastPathAnswers('trpc')).toBeGreaterThan(trpc0);
    expect(await fastPathAnswers('webhook')).toBe(webhook0 + 1);
  });

  describe('a client that goes away', () => {
    let apps: LimitsApps;
    beforeAll(async () => {
      // One waiter per process: a wait still held makes the next caller "busy".
      apps = await startLimitsApps('fast-path', LIMITS_APP_PORTS.slice(0, 1), { ORDER_WAITERS_MAX: '1' });
    });
    afterAll(() => apps.stop());

    it('frees its orders.waitForChange slot at once instead of at the wait timeout', async () => {
      // Placed through the suite's app (its limits are out of the way); followed through the app of one waiter.
      const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku: await seedProduct(5), qty: 1 }]), customer });
      const order = { orderId: placed.orderId, accessToken: placed.accessToken };
      const client = api(undefined, apps.urls[0]);
      const view = await followOrder(client, order, (o) => o.state === 'PAYMENT_PENDING', { timeoutMs: 30_000 });
      const seen = { state: view.state, historyLength: view.history.length };

      const leaving = new AbortController();
      const abandoned = client.orders.waitForChange.query({ ...order, seen, timeoutMs: 25_000 }, { signal: leaving.signal }).catch(() => 'aborted');
      // The slot is taken: another caller is told busy.
      await expect.poll(() => client.orders.waitForChange.query({ ...order, seen, timeoutMs: 1_000 }), { timeout: 10_000 }).toMatchObject({ busy: true });
      leaving.abort();
      expect(await abandoned).toBe('aborted');
      // Well before the abandoned wait's 25 s, the slot is free again: the next caller waits (and times out unchanged).
      await expect
        .poll(async () => client.orders.waitForChange.query({ ...order, seen, timeoutMs: 500 }), { timeout: 10_000, interval: 200 })
        .toMatchObject({ changed: false, busy: false });
    }, 60_000);
  });
});
