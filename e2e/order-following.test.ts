/**
 * How the order page follows its order: it waits on the server
 * (orders.waitForChange) and shows a transition as soon as it is applied,
 * instead of asking for the order every second; when waiting fails it polls
 * on a back-off, and waits again once it can. The payments here are made
 * outside the page (the simulator's control API), so nothing the page did
 * told it to look.
 */
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { getOrder, sim, waitFor } from '../tests/helpers';
import { buy, seedProduct, STEP_TIMEOUT, useBrowser, waitForOrderState, withPage } from './support/shop';

const shop = useBrowser();
const TIMEOUT = 120_000;
/** From the transition applied on the server to the page showing it: a wait answers in milliseconds, a 1–10 s poll would not. */
const SHOWN_WITHIN_MS = 2_000;
const WAIT = 'orders.waitForChange';
const READ = 'orders.get';

/** The tRPC calls a page makes (a batch counts each of its procedures), and its long waits still open. */
function watchApi(page: Page) {
  const calls: { path: string; at: number }[] = [];
  const open = new Map<Request, number>();
  /** Browser-side start times of finished calls, per procedure. */
  const started: Record<string, number[]> = {};
  const proceduresOf = (r: Request) => {
    const { pathname } = new URL(r.url());
    return pathname.startsWith('/api/trpc/') ? pathname.slice('/api/trpc/'.length).split(',') : [];
  };
  page.on('request', (r) => {
    const paths = proceduresOf(r);
    for (const path of paths) calls.push({ path, at: Date.now() });
    if (paths.includes(WAIT)) open.set(r, Date.now());
  });
  /** When calls were answered, per procedure. */
  const answered: Record<string, number[]> = {};
  const ended = (r: Request) => {
    open.delete(r);
    for (const path of proceduresOf(r)) (started[path] ??= []).push(r.timing().startTime);
  };
  page.on('requestfinished', (r) => {
    for (const path of proceduresOf(r)) (answered[path] ??= []).push(Date.now());
    ended(r);
  });
  page.on('requestfailed', ended);
  return {
    count: (path: string, since = 0) => calls.filter((c) => c.path === path && c.at >= since).length,
    /** Calls of `path` answered at or after `since`, whenever they started. */
    answeredSince: (path: string, since: number) => (answered[path] ?? []).filter((at) => at >= since).length,
    /** Long waits open now that started at or after `since`. */
    waiting: (since = 0) => [...open.values()].filter((at) => at >= since).length,
    /** The shortest time between two finished calls of `path`, by the browser's clock. */
    shortestGap: (path: string) => {
      const at = [...(started[path] ?? [])].sort((a, b) => a - b);
      return Math.min(...at.slice(1).map((t, i) => t - (at[i] ?? 0)));
    },
  };
}

/** Pays the order's PaymentIntent from outside the page, then measures how soon the page shows CONFIRMED after the server applied it. */
async function payElsewhereAndTimeConfirmation(page: Page, orderId: string): Promise<number> {
  const { paymentIntentId } = await getOrder(orderId);
  await sim.pay(paymentIntentId ?? '', 'pm_card_visa');
  await waitForOrderState(page, 'CONFIRMED');
  const shownAt = Date.now();
  const confirmed = (await getOrder(orderId)).history.find((h) => h.to === 'CONFIRMED');
  return shownAt - (confirmed?.at.getTime() ?? 0);
}

describe('the order page following its order', () => {
  it('waits for the change instead of polling: CONFIRMED shows within moments, with hardly an orders.get', async () => {
    await withPage(shop.browser, 'follow-waiting', async (page) => {
      const api = watchApi(page);
      const sku = await seedProduct('Walnut tray', 2);
      const orderId = await buy(page, sku);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      // A polling page never has a wait open on the server.
      await waitFor('the page waiting on the server', () => Promise.resolve(api.waiting()), (n) => n === 1, STEP_TIMEOUT, 50);

      const since = Date.now();
      const lag = await payElsewhereAndTimeConfirmation(page, orderId);
      expect(lag, 'ms from the transition to the page').toBeLessThan(SHOWN_WITHIN_MS);
      // PAID and CONFIRMED came as answers to waits: the one open when the
      // payment was made (it may find the order CONFIRMED already), and any
      // after it; a read only if an event was still being processed.
      expect(api.answeredSince(WAIT, since)).toBeGreaterThanOrEqual(1);
      expect(api.count(READ, since), 'orders.get calls after the payment').toBeLessThanOrEqual(2);
      // Nothing changes a confirmed order: the page stops following it.
      await waitFor('the page to stop waiting', () => Promise.resolve(api.waiting()), (n) => n === 0, STEP_TIMEOUT, 50);
      expect(await page.getByTestId('order-reconnecting').count()).toBe(0);
    });
  }, TIMEOUT);

  it('polls on a back-off while waiting fails, then waits again once it works', async () => {
    await withPage(shop.browser, 'follow-fallback', async (page) => {
      const api = watchApi(page);
      let refused = 0;
      // As a proxy in front of the app would answer while waits fail.
      const route = '**/api/trpc/orders.waitForChange*';
      await page.route(route, (r) => {
        refused += 1;
        return r.fulfill({ status: 503, contentType: 'text/html', body: '<h1>503 Service Unavailable</h1>' });
      });
      const sku = await seedProduct('Linen napkins', 2);
      const orderId = await buy(page, sku);
      // Reached by polling: every wait so far was refused.
      await waitForOrderState(page, 'PAYMENT_PENDING');
      await waitFor('three refused waits', () => Promise.resolve(refused), (n) => n >= 3, STEP_TIMEOUT, 50);
      expect(api.shortestGap(READ), 'ms between two orders.get').toBeGreaterThanOrEqual(450);
      expect(api.shortestGap(WAIT), 'ms between two refused waits').toBeGreaterThanOrEqual(450);

      await page.unroute(route);
      const healed = Date.now();
      await waitFor('the page waiting on the server again', () => Promise.resolve(api.waiting(healed)), (n) => n === 1, STEP_TIMEOUT, 50);
      const lag = await payElsewhereAndTimeConfirmation(page, orderId);
      expect(lag, 'ms from the transition to the page').toBeLessThan(SHOWN_WITHIN_MS);
    });
  }, TIMEOUT);
});
