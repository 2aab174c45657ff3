/**
 * What a real buyer does to a checkout: clicks twice, reloads at the worst
 * moment, uses the back button. Each must end in exactly one order, and the
 * order's access token must not stay in the address bar or travel in URLs.
 */
import { describe, expect, it } from 'vitest';
import { Order } from '../prisma-free-models';
import {
  addToCart,
  buy,
  CARDS,
  challengeFrame,
  fillBuyer,
  newBuyer,
  openShop,
  orderIdOf,
  ordersOf,
  payWith,
  seedProduct,
  STEP_TIMEOUT,
  useBrowser,
  waitForOrderState,
  withPage,
} from './support/shop';

const shop = useBrowser();
const TIMEOUT = 120_000;

describe('a checkout that survives the buyer', () => {
  it('a double click on Place order places one order; back and forward lead to it again', async () => {
    await withPage(shop.browser, 'double-click', async (page) => {
      const sku = await seedProduct('Linen shirt', 4);
      const buyer = newBuyer();
      await openShop(page);
      await addToCart(page, sku);
      await fillBuyer(page, buyer);
      await page.getByRole('button', { name: 'Place order' }).dblclick();
      await page.waitForURL(/\/orders\/ord_[a-f0-9]{24}$/, { timeout: STEP_TIMEOUT });
      const orderId = orderIdOf(page);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      expect((await ordersOf(buyer.email)).map((o) => o._id)).toEqual([orderId]);

      // Back: the storefront, with the cart that became the order gone, so nothing to place twice.
      await page.goBack();
      await page.getByRole('heading', { name: 'Your cart' }).waitFor();
      await page.getByText('Your cart is empty.').waitFor({ timeout: STEP_TIMEOUT });
      // Forward: the same order, its token now coming from the cookie.
      await page.goForward();
      await waitForOrderState(page, 'PAYMENT_PENDING');
      expect(orderIdOf(page)).toBe(orderId);
      expect(await ordersOf(buyer.email)).toHaveLength(1);
    });
  }, TIMEOUT);

  it('a reload after Place order, whose answer never arrived, shows the order the server made (and makes no other)', async () => {
    await withPage(shop.browser, 'reload-after-place', async (page) => {
      const sku = await seedProduct('Jute bag', 4);
      const buyer = newBuyer();
      await openShop(page);
      await addToCart(page, sku);
      await fillBuyer(page, buyer);
      // The request reaches the server and the order is made; the answer is lost on the way back.
      let reachedServer!: () => void;
      const placedOnServer = new Promise<void>((resolve) => (reachedServer = resolve));
      await page.route('**/api/trpc/checkout.placeOrder**', async (route) => {
        await route.fetch();
        reachedServer();
        // Never answered: the buyer gives up waiting and reloads.
      });
      await page.getByRole('button', { name: 'Place order' }).click();
      await placedOnServer;
      const [made] = await ordersOf(buyer.email);
      expect(made).toBeDefined();
      await page.unroute('**/api/trpc/checkout.placeOrder**');

      await page.reload();
      await page.waitForURL(/\/orders\/ord_[a-f0-9]{24}$/, { timeout: STEP_TIMEOUT });
      expect(orderIdOf(page)).toBe(made?._id);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      expect(await ordersOf(buyer.email)).toHaveLength(1);
    });
  }, TIMEOUT);

  it('a reload during the 3-D Secure check keeps the order and lets the buyer finish the check', async () => {
    await withPage(shop.browser, 'reload-during-payment', async (page) => {
      const sku = await seedProduct('Wool blanket', 2);
      const orderId = await buy(page, sku);
      await payWith(page, CARDS.threeDSecure);
      await challengeFrame(page).getByRole('button', { name: 'Complete authentication' }).waitFor({ timeout: STEP_TIMEOUT });

      await page.reload();
      expect(orderIdOf(page)).toBe(orderId);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      await page.getByRole('button', { name: 'Finish the 3-D Secure check' }).click({ timeout: STEP_TIMEOUT });
      await challengeFrame(page).getByRole('button', { name: 'Complete authentication' }).click({ timeout: STEP_TIMEOUT });
      await waitForOrderState(page, 'CONFIRMED');
      expect(await Order.countDocuments({ _id: orderId, state: 'CONFIRMED' })).toBe(1);
    });
  }, TIMEOUT);

  it('keeps the access token out of the address bar, of the API’s URLs and of Referer headers', async () => {
    await withPage(shop.browser, 'token-out-of-urls', async (page) => {
      const sku = await seedProduct('Steel bottle', 2);
      const requests: { url: string; referer: string | undefined }[] = [];
      page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers().referer }));
      const orderId = await buy(page, sku);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      const order = await Order.findById(orderId).lean();
      const token = order?.accessToken ?? '';
      expect(token).not.toBe('');

      // The first load of the link carries it; nothing after it does.
      expect(page.url()).not.toContain(token);
      const firstLoad = requests.findIndex((r) => r.url.includes(`token=${token}`));
      expect(firstLoad).toBeGreaterThanOrEqual(0);
      const later = requests.slice(firstLoad + 1);
      expect(later.filter((r) => r.url.includes(token)).map((r) => r.url)).toEqual([]);
      expect(later.filter((r) => r.referer?.includes(token))).toEqual([]);
      expect(later.some((r) => r.url.includes('/api/trpc/orders.get'))).toBe(true);

      const response = await page.reload();
      expect(response?.headers()['referrer-policy']).toBe('no-referrer');
      const cookie = (await page.context().cookies()).find((c) => c.name === 'order_access');
      expect(cookie).toMatchObject({ value: token, httpOnly: true, sameSite: 'Strict', path: `/orders/${orderId}` });
      await waitForOrderState(page, 'PAYMENT_PENDING');
    });
  }, TIMEOUT);
});
