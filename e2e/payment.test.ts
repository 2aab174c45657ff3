/**
 * Paying in the browser with the test-mode card form against the payment
 * simulator: a purchase all the way to CONFIRMED, a decline and a retry on
 * the same order, and 3-D Secure passed and failed. The page only confirms
 * the PaymentIntent; every state change comes from the simulator's signed
 * webhook through the worker, which is what the order page then shows.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { stockOf, waitFor } from '../tests/helpers';
import { buy, CARDS, challengeFrame, fillBuyer, ordersOf, newBuyer, payWith, screenshots, seedProduct, STEP_TIMEOUT, useBrowser, waitForOrderState, withPage } from './support/shop';

const shop = useBrowser();

/**
 * The buyer is told the payment was accepted while the order waits for the
 * bank's answer, or, when that answer is quicker than the page, already sees
 * the order confirmed (the message is gone with the payment step).
 */
const acceptedOrConfirmed = (page: Page) =>
  page.getByTestId('payment-status').or(page.getByTestId('order-journey').getByText('Order confirmed')).first().waitFor({ timeout: STEP_TIMEOUT });
const TIMEOUT = 120_000;

describe('paying for an order in the browser', () => {
  it('buys two lamps with the Visa test card: the order reaches CONFIRMED and the page shows the journey', async () => {
    await withPage(shop.browser, 'purchase', async (page) => {
      const sku = await seedProduct('Brass desk lamp', 5, 259_900);
      const buyer = newBuyer();
      await page.goto(process.env.APP_URL ?? '');
      await page.locator(`li.product[data-sku="${sku}"]`).getByRole('button', { name: /^Add to cart.*Brass desk lamp$/ }).click();
      await page.getByRole('button', { name: 'One more Brass desk lamp' }).click();
      await page.locator('[data-testid=cart-total]', { hasText: '₹5,198.00' }).waitFor({ timeout: STEP_TIMEOUT });
      await fillBuyer(page, buyer);
      await screenshots(page, 'storefront-cart');
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.waitForURL(/\/orders\/ord_[a-f0-9]{24}$/, { timeout: STEP_TIMEOUT });

      await waitForOrderState(page, 'PAYMENT_PENDING');
      expect(await page.getByTestId('test-mode-banner').textContent()).toContain('no real card is charged');
      expect(await page.getByTestId('hold-countdown').textContent()).toMatch(/Items held for you for 1[45]:\d\d more/);
      expect(await page.getByTestId('order-total').textContent()).toBe('₹5,198.00');
      expect((await stockOf(sku)).reserved).toBe(2);
      await screenshots(page, 'order-awaiting-payment');

      await payWith(page, CARDS.visa);
      await acceptedOrConfirmed(page);
      await waitForOrderState(page, 'CONFIRMED');
      expect(await page.getByTestId('next-step').textContent()).toContain('Your order is confirmed');
      const journey = await page.getByTestId('order-journey').locator('li').allTextContents();
      expect(journey.join('\n')).toMatch(/Order placed.*done/);
      for (const step of ['Items held for you', 'Payment requested', 'Payment received', 'Order confirmed']) {
        expect(journey.some((j) => j.includes(step) && j.includes('applied')), `${step} applied in\n${journey.join('\n')}`).toBe(true);
      }
      expect(journey.some((j) => j.includes('Stripe reported the payment succeeded'))).toBe(true);
      await screenshots(page, 'order-confirmed');

      const stock = await stockOf(sku);
      expect([stock.available, stock.reserved, stock.sold]).toEqual([3, 0, 2]);
      expect(await ordersOf(buyer.email)).toHaveLength(1);
    });
  }, TIMEOUT);

  it('a declined card says why in words; another card then pays the same order', async () => {
    await withPage(shop.browser, 'decline-retry', async (page) => {
      const sku = await seedProduct('Clay teapot', 3);
      const orderId = await buy(page, sku);

      await payWith(page, CARDS.insufficientFunds);
      const error = page.getByTestId('payment-error');
      await error.waitFor({ timeout: STEP_TIMEOUT });
      expect(await error.textContent()).toContain('Your card does not have enough funds for this payment.');
      expect(await error.textContent()).toContain('Nothing was charged');
      // The failure also reaches the order through the webhook, and stays payable.
      await page.getByTestId('next-step').filter({ hasText: 'did not go through' }).waitFor({ timeout: STEP_TIMEOUT });
      await waitForOrderState(page, 'PAYMENT_PENDING');
      await screenshots(page, 'order-card-declined');

      await payWith(page, CARDS.declined);
      await page.getByTestId('payment-error').filter({ hasText: 'Your bank declined the payment.' }).waitFor({ timeout: STEP_TIMEOUT });

      await payWith(page, CARDS.visa);
      await waitForOrderState(page, 'CONFIRMED');
      expect(page.url()).toContain(orderId);
      const journey = (await page.getByTestId('order-journey').locator('li').allTextContents()).join('\n');
      expect(journey).toContain('Stripe reported a failed payment attempt');
      await waitFor('the sale', () => stockOf(sku), (p) => p.sold === 1 && p.reserved === 0, STEP_TIMEOUT);
    });
  }, TIMEOUT);

  it('3-D Secure: the bank’s check opens in a dialog, completing it pays', async () => {
    await withPage(shop.browser, '3ds-complete', async (page) => {
      const sku = await seedProduct('Silk scarf', 2);
      await buy(page, sku);
      await payWith(page, CARDS.threeDSecure);
      const complete = challengeFrame(page).getByRole('button', { name: 'Complete authentication' });
      await complete.waitFor({ timeout: STEP_TIMEOUT });
      expect(await page.getByRole('dialog', { name: 'Approve the payment with your bank' }).isVisible()).toBe(true);
      expect(await challengeFrame(page).getByRole('note').textContent()).toContain('Payment simulator test page');
      await screenshots(page, 'order-3d-secure-check');
      await complete.click();
      await acceptedOrConfirmed(page);
      await waitForOrderState(page, 'CONFIRMED');
      expect(await page.getByRole('dialog').count()).toBe(0);
    });
  }, TIMEOUT);

  it('3-D Secure failed: the order stays payable, the page says why, and another card pays', async () => {
    await withPage(shop.browser, '3ds-fail', async (page) => {
      const sku = await seedProduct('Cotton rug', 2);
      const buyer = newBuyer();
      await buy(page, sku, buyer);
      await payWith(page, CARDS.threeDSecure);
      await challengeFrame(page).getByRole('button', { name: 'Fail authentication' }).click({ timeout: STEP_TIMEOUT });
      const error = page.getByTestId('payment-error');
      await error.waitFor({ timeout: STEP_TIMEOUT });
      expect(await error.textContent()).toContain('The 3-D Secure check was not completed');
      await page.getByTestId('next-step').filter({ hasText: '3-D Secure check was not completed' }).waitFor({ timeout: STEP_TIMEOUT });
      const [order] = await ordersOf(buyer.email);
      expect(order?.state).toBe('PAYMENT_PENDING');
      expect(order?.payment?.lastError?.code).toBe('payment_intent_authentication_failure');

      await payWith(page, CARDS.visa);
      await waitForOrderState(page, 'CONFIRMED');
    });
  }, TIMEOUT);
});
