/**
 * The storefront in a real browser (Debian's chromium driven by
 * playwright-core; never `npx playwright install`): add to cart, check out,
 * watch the order reach PAYMENT_PENDING, cancel it, see the stock come back.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../prisma-free-models';
import { appUrl, stockOf, waitFor } from '../tests/helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
});

describe('storefront in a browser', () => {
  it('checks out, shows the order, cancels it and gives the stock back', async () => {
    const sku = `E2E-${Date.now().toString(36).toUpperCase()}`;
    await Product.create({ _id: sku, name: 'Browser test lamp', priceMinor: 259_900, currency: 'inr', initialStock: 3, available: 3 });
    const page = await browser.newPage();
    // What the page saw, for the failure message.
    const seen: string[] = [];
    page.on('console', (m) => seen.push(`console.${m.type()}: ${m.text()}`));
    page.on('response', (r) => seen.push(`${r.status()} ${r.request().method()} ${r.url().slice(0, 160)}`));
    try {
      await page.goto(appUrl());
      // Three units: a label, not the count (LOW_STOCK_THRESHOLD 5).
      await page.waitForSelector(`li[data-sku="${sku}"] [data-testid=stock]`);
      expect(await page.textContent(`li[data-sku="${sku}"] [data-testid=stock]`)).toBe('Only a few left');
      await page.click(`li[data-sku="${sku}"] button`);
      await page.waitForSelector('[data-testid=cart-total]', { timeout: 15_000 }).catch(async (err: Error) => {
        await page.screenshot({ path: '.run/test/logs/e2e-failure.png' });
        throw new Error(`${err.message}\n${seen.join('\n')}`);
      });
      expect(await page.textContent('[data-testid=cart-total]')).toBe('₹2,599.00');

      await page.fill('input[name=name]', 'Asha Rao');
      await page.fill('input[name=email]', 'asha@example.com');
      await page.fill('input[name=line1]', '12 MG Road');
      await page.fill('input[name=city]', 'Bengaluru');
      await page.fill('input[name=state]', 'Karnataka');
      await page.fill('input[name=postalCode]', '560001');
      await page.click('button[type=submit]');
      await page.waitForURL(/\/orders\/ord_/);
      await page.waitForFunction(() => document.querySelector('[data-testid=order-state]')?.textContent === 'PAYMENT_PENDING', null, {
        timeout: 20_000,
      });
      expect((await stockOf(sku)).reserved).toBe(1);

      await page.click('text=Cancel order');
      await page.waitForFunction(() => document.querySelector('[data-testid=order-state]')?.textContent === 'CANCELLED', null, {
        timeout: 20_000,
      });
      expect(await page.textContent('[data-testid=close-reason]')).toContain('cancelled by the customer');
      await waitFor('stock released', () => stockOf(sku), (p) => p.available === 3 && p.reserved === 0);
    } finally {
      await page.close();
    }
  });

  it('shows a clear error, not a crash, for an order it cannot find', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${appUrl()}/orders/ord_${'0'.repeat(24)}?token=${'x'.repeat(32)}`);
      await page.waitForSelector('[data-testid=order-error]');
      expect(await page.textContent('[data-testid=order-error]')).toContain('Order not found');
    } finally {
      await page.close();
    }
  });
});
