/**
 * Orders that do not end in a sale, as the buyer sees them: rejected because
 * an item ran out (named on the page), and expired because the hold ran out
 * before payment. Expiry needs a short hold: that test runs an app and a
 * worker of its own with HOLD_TIME_MS of a few seconds, on a database and
 * queue prefix of their own (the suite's processes keep the default hold).
 */
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../prisma-free-models';
import { createOrderQueues } from '../src/server/queue/queues';
import { api, cartWith, customer, env, newKey, stockOf, uniqueSku, waitForState } from '../tests/helpers';
import { ProcessGroup, startNextApp, startTs, waitForHttp, waitForOutput } from '../tests/setup/processes';
import { siblingDatabase } from '../tests/setup/test-env';
import { addToCart, fillBuyer, newBuyer, openShop, placeOrder, screenshots, seedProduct, STEP_TIMEOUT, useBrowser, waitForOrderState, withPage } from './support/shop';

const shop = useBrowser();
const TIMEOUT = 120_000;

describe('orders that do not end in a sale', () => {
  it('rejected: the item that ran out is named, nothing is charged', async () => {
    await withPage(shop.browser, 'rejected', async (page) => {
      const sku = await seedProduct('Last vase', 1);
      await openShop(page);
      await addToCart(page, sku);
      await fillBuyer(page, newBuyer());

      // Someone else buys the last one first.
      const other = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
      await waitForState(other.orderId, ['PAYMENT_PENDING'], STEP_TIMEOUT);

      await placeOrder(page);
      await waitForOrderState(page, 'REJECTED');
      const next = await page.getByTestId('next-step').textContent();
      expect(next).toContain('Last vase ran out before we could hold it for you.');
      expect(next).toContain('Nothing was charged');
      expect(await page.getByRole('region', { name: 'Payment' }).count()).toBe(0);
      expect(await page.getByTestId('order-journey').textContent()).toContain('Items could not be held');
      await screenshots(page, 'order-rejected');
      expect((await stockOf(sku)).reserved).toBe(1); // the other buyer's hold, untouched
    });
  }, TIMEOUT);
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('an order whose hold runs out', () => {
  const HOLD_TIME_MS = 15_000;
  const group = new ProcessGroup();
  const mongoUri = siblingDatabase(env('MONGODB_URI'), 'e2e_expiry');
  const queuePrefix = `${env('QUEUE_PREFIX')}_exp`;
  let appUrl = '';

  beforeAll(async () => {
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}`;
    const own = { ...process.env, MONGODB_URI: mongoUri, QUEUE_PREFIX: queuePrefix, HOLD_TIME_MS: String(HOLD_TIME_MS) };
    const app = group.add(startNextApp('e2e-expiry-app', port, { ...own, PORT: String(port), SERVICE_NAME: 'e2e-expiry-app' }));
    const worker = group.add(startTs('e2e-expiry-worker', 'worker/index.ts', { ...own, SERVICE_NAME: 'e2e-expiry-worker' }));
    await Promise.all([waitForHttp(`${appUrl}/api/health`, 90_000, app), waitForOutput(worker, '"msg":"worker started"', 90_000)]);
  }, 180_000);

  afterAll(async () => {
    await group.stopAll();
    // Nothing left on the shared Redis: every queue under this test's prefix.
    const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
    const queues = createOrderQueues(redis, queuePrefix);
    await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await queues.close();
    redis.disconnect();
    const conn = await mongoose.createConnection(mongoUri).asPromise();
    await conn.dropDatabase();
    await conn.close();
  }, 60_000);

  it('counts the hold down, then says it ended and that nothing was charged', async () => {
    const sku = uniqueSku('E2E');
    const conn = await mongoose.createConnection(mongoUri).asPromise();
    try {
      await conn.model('Product', Product.schema).create({ _id: sku, name: 'Quick sale poster', priceMinor: 39_900, currency: 'inr', initialStock: 2, available: 2 });
    } finally {
      await conn.close();
    }
    await withPage(shop.browser, 'expired', async (page) => {
      await page.goto(appUrl);
      await addToCart(page, sku);
      await fillBuyer(page, newBuyer());
      await placeOrder(page);
      // The countdown is there while the order waits (unless the machine was slow enough to miss it).
      const pending = page.locator('[data-testid=order-state][data-state=PAYMENT_PENDING]');
      const expired = page.locator('[data-testid=order-state][data-state=EXPIRED]');
      await pending.or(expired).waitFor({ timeout: STEP_TIMEOUT });
      if (await pending.isVisible()) {
        expect(await page.getByTestId('hold-countdown').textContent()).toMatch(/Items held for you for 0:(0\d|1[0-5]) more/);
      }
      await waitForOrderState(page, 'EXPIRED', HOLD_TIME_MS + 45_000);
      const next = await page.getByTestId('next-step').textContent();
      expect(next).toContain('The hold on your items ended before payment arrived');
      expect(next).toContain('Nothing was charged');
      expect(await page.getByTestId('order-journey').textContent()).toContain('Hold ended before payment');
      expect(await page.getByRole('region', { name: 'Payment' }).count()).toBe(0);
      await screenshots(page, 'order-expired');
    });
  }, TIMEOUT);
});
