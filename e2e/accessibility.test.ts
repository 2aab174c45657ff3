/**
 * Accessibility: axe (@axe-core/playwright) finds no serious or critical
 * violation on the storefront and the order page in each state a buyer
 * meets, the 3-D Secure dialog included; and a whole purchase, 3-D Secure
 * check included, can be done with the keyboard alone.
 */
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  addToCart,
  CARDS,
  challengeFrame,
  expectAccessible,
  fillBuyer,
  newBuyer,
  openShop,
  payWith,
  placeOrder,
  seedProduct,
  STEP_TIMEOUT,
  useBrowser,
  waitForOrderState,
  withPage,
} from './support/shop';

const shop = useBrowser();
const TIMEOUT = 120_000;

const isFocused = (target: Locator) =>
  target.evaluate((el) => el === document.activeElement && document.hasFocus(), undefined, { timeout: 2_000 }).catch(() => false);

/**
 * Presses Tab until `target` has the focus: proof that the keyboard reaches it.
 * The suite's catalogue holds every product the other tests made, each with
 * its button, so the way from one part of the page to the next can be long.
 */
async function tabTo(page: Page, target: Locator, what: string, maxTabs = 600): Promise<void> {
  await target.waitFor({ timeout: STEP_TIMEOUT });
  for (let i = 0; i < maxTabs; i++) {
    if (await isFocused(target)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${what} not reached with ${maxTabs} presses of Tab`);
}

describe('accessibility', () => {
  it('axe finds nothing serious on the storefront and on the order page, from placing to paying', async () => {
    await withPage(shop.browser, 'axe', async (page) => {
      const sku = await seedProduct('Accessible armchair', 3, 1_499_900);
      await openShop(page);
      await expectAccessible(page, 'storefront, empty cart');
      await addToCart(page, sku);
      await expectAccessible(page, 'storefront with a cart and the checkout form');
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.locator('#checkout-name[aria-invalid=true]').waitFor({ timeout: STEP_TIMEOUT });
      await expectAccessible(page, 'checkout form with errors');

      await fillBuyer(page, newBuyer());
      await placeOrder(page);
      await waitForOrderState(page, 'PAYMENT_PENDING');
      await expectAccessible(page, 'order page awaiting payment');
      await payWith(page, CARDS.declined);
      await page.getByTestId('payment-error').waitFor({ timeout: STEP_TIMEOUT });
      await expectAccessible(page, 'order page after a declined card');
      await payWith(page, CARDS.threeDSecure);
      await challengeFrame(page).getByRole('button', { name: 'Complete authentication' }).waitFor({ timeout: STEP_TIMEOUT });
      await expectAccessible(page, 'the 3-D Secure dialog');
      await challengeFrame(page).getByRole('button', { name: 'Complete authentication' }).click();
      await waitForOrderState(page, 'CONFIRMED');
      await expectAccessible(page, 'confirmed order');
    });
  }, TIMEOUT);

  it('a whole purchase with the keyboard alone, 3-D Secure check included', async () => {
    await withPage(shop.browser, 'keyboard', async (page) => {
      const sku = await seedProduct('Keyboard kettle', 3, 249_900);
      const buyer = newBuyer();
      await openShop(page);
      await page.keyboard.press('Tab');
      expect(await isFocused(page.getByRole('link', { name: 'Skip to content' }))).toBe(true);

      await tabTo(page, page.getByRole('button', { name: /^Add to cart.*Keyboard kettle$/ }), 'Add to cart');
      await page.keyboard.press('Enter');
      await page.locator(`li.cart-line[data-sku="${sku}"]`).waitFor({ timeout: STEP_TIMEOUT });
      await tabTo(page, page.getByRole('button', { name: 'One more Keyboard kettle' }), 'the + button');
      await page.keyboard.press('Enter');
      await page.locator('[data-testid=cart-total]', { hasText: '₹4,998.00' }).waitFor({ timeout: STEP_TIMEOUT });

      for (const [label, value] of [
        ['Full name', buyer.name],
        ['Email', buyer.email],
        ['Address', buyer.line1],
        ['City', buyer.city],
        ['State', buyer.state],
        ['PIN code', buyer.postalCode],
      ] as const) {
        await tabTo(page, page.getByLabel(label, { exact: true }), label);
        await page.keyboard.type(value);
      }
      await tabTo(page, page.getByRole('button', { name: 'Place order' }), 'Place order');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/orders\/ord_/, { timeout: STEP_TIMEOUT });
      await waitForOrderState(page, 'PAYMENT_PENDING');

      // The card choice is a radio group: Tab reaches the chosen card, the arrow keys choose another.
      await tabTo(page, page.getByRole('radio', { name: new RegExp(CARDS.visa) }), 'the test cards');
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      expect(await page.getByRole('radio', { name: new RegExp(CARDS.threeDSecure) }).isChecked()).toBe(true);
      await tabTo(page, page.getByRole('button', { name: /^Pay / }), 'Pay');
      await page.keyboard.press('Enter');

      // The dialog takes the focus; Tab goes on into the bank's page in its frame.
      const complete = challengeFrame(page).getByRole('button', { name: 'Complete authentication' });
      await complete.waitFor({ timeout: STEP_TIMEOUT });
      await tabTo(page, complete, 'the 3-D Secure page', 20);
      await page.keyboard.press('Enter');
      await waitForOrderState(page, 'CONFIRMED');
    });
  }, TIMEOUT);
});
