/**
 * The storefront in a real browser (Debian's chromium driven by
 * playwright-core; never `npx playwright install`): the cart's quantity
 * control, the checkout form's errors next to their fields (from the
 * server's `data.field`), and cancelling an order, which gives the stock back.
 */
import { describe, expect, it } from 'vitest';
import { stockOf, waitFor } from '../tests/helpers';
import { addToCart, buy, fillBuyer, newBuyer, openShop, ordersOf, screenshots, seedProduct, STEP_TIMEOUT, useBrowser, waitForOrderState, withPage } from './support/shop';

const shop = useBrowser();
const TIMEOUT = 120_000;

describe('storefront in a browser', () => {
  it('changes quantities in the cart with −, + and by typing, and removes a line', async () => {
    await withPage(shop.browser, 'quantity', async (page) => {
      const sku = await seedProduct('Ceramic mug', 10, 49_900);
      await openShop(page);
      await addToCart(page, sku);
      const total = page.getByTestId('cart-total');
      const totalIs = (text: string) => page.locator('[data-testid=cart-total]', { hasText: text }).waitFor({ timeout: STEP_TIMEOUT });
      expect(await total.textContent()).toBe('₹499.00');
      await page.getByRole('button', { name: 'One more Ceramic mug' }).click();
      await totalIs('₹998.00');
      const qty = page.getByLabel('Quantity of Ceramic mug');
      await qty.fill('5');
      await qty.press('Enter');
      await totalIs('₹2,495.00');
      await page.getByRole('button', { name: 'One fewer Ceramic mug' }).click();
      await totalIs('₹1,996.00');
      // More than there is: said at once, decided when the order is placed.
      await qty.fill('12');
      await qty.press('Enter');
      await totalIs('₹5,988.00');
      // Ten units: a label in the catalogue, never the count (LOW_STOCK_THRESHOLD 5).
      expect(await page.locator(`li.product[data-sku="${sku}"] [data-testid=stock]`).textContent()).toBe('In stock');
      await page.getByRole('button', { name: 'Remove Ceramic mug from the cart' }).click();
      await page.getByText('Your cart is empty.').waitFor({ timeout: STEP_TIMEOUT });
    });
  }, TIMEOUT);

  it('shows the server’s errors next to the fields they are about, and places the order once they are fixed', async () => {
    await withPage(shop.browser, 'field-errors', async (page) => {
      const sku = await seedProduct('Notebook', 5, 19_900);
      const buyer = newBuyer();
      await openShop(page);
      await addToCart(page, sku);
      await fillBuyer(page, { ...buyer, email: 'not-an-email', postalCode: '56#001' });
      await page.getByRole('button', { name: 'Place order' }).click();
      const email = page.getByLabel('Email');
      await page.locator('#checkout-email[aria-invalid=true]').waitFor({ timeout: STEP_TIMEOUT });
      expect(await page.locator('[data-field="customer.email"]').textContent()).toContain('email is not a valid address');
      expect(await page.locator('[data-field="customer.address.postalCode"]').textContent()).toContain('postal code is malformed');
      // Focus goes to the first problem, and the field names its error for screen readers.
      expect(await email.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await email.getAttribute('aria-describedby')).toContain('checkout-email-error');
      await screenshots(page, 'storefront-field-errors');
      expect(await ordersOf(buyer.email)).toHaveLength(0);

      await email.fill(buyer.email);
      await page.getByLabel('PIN code').fill(buyer.postalCode);
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.waitForURL(/\/orders\/ord_/, { timeout: STEP_TIMEOUT });
      expect(await ordersOf(buyer.email)).toHaveLength(1);
    });
  }, TIMEOUT);

  it('cancels an order awaiting payment and gives the stock back', async () => {
    await withPage(shop.browser, 'cancel', async (page) => {
      const sku = await seedProduct('Browser test lamp', 3, 259_900);
      await openShop(page);
      // Three units: a label, not the count (LOW_STOCK_THRESHOLD 5).
      expect(await page.locator(`li.product[data-sku="${sku}"] [data-testid=stock]`).textContent()).toContain('Only a few left');
      await buy(page, sku);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      expect((await stockOf(sku)).reserved).toBe(1);

      await page.getByRole('button', { name: 'Cancel order' }).click();
      await waitForOrderState(page, 'CANCELLED');
      expect(await page.getByTestId('close-reason').textContent()).toContain('cancelled by the customer');
      expect(await page.getByTestId('next-step').textContent()).toContain('Nothing was charged');
      expect(await page.getByRole('button', { name: /^Pay / }).count()).toBe(0);
      await screenshots(page, 'order-cancelled');
      await waitFor('stock released', () => stockOf(sku), (p) => p.available === 3 && p.reserved === 0);
    });
  }, TIMEOUT);

  it('shows a clear error, not a crash, for an order it cannot find or a link without its token', async () => {
    await withPage(shop.browser, 'unknown-order', async (page) => {
      await page.goto(`${process.env.APP_URL}/orders/ord_${'0'.repeat(24)}?token=${'x'.repeat(32)}`);
      await page.getByTestId('order-error').waitFor({ timeout: STEP_TIMEOUT });
      expect(await page.getByTestId('order-error').textContent()).toContain('Order not found');

      await page.goto(`${process.env.APP_URL}/orders/ord_${'1'.repeat(24)}`);
      expect(await page.getByTestId('order-error').textContent()).toContain('open the link you got when you placed it');
    });
  }, TIMEOUT);
});
