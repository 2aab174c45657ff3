/**
 * What the browser tests share: Debian's chromium driven by playwright-core
 * (never `npx playwright install`), a page per test with what it saw kept for
 * the failure message, the buyer's moves (add to cart, check out, pay with a
 * test card), screenshots at desktop and phone widths, and axe.
 *
 * Every wait is for a condition on the page or in the database, never a
 * fixed sleep: the suite runs on a busy 2-core machine.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { Order, Product, type OrderDoc } from '../../prisma-free-models';
import { uniqueSku } from '../../tests/helpers';

const ROOT = path.resolve(__dirname, '../..');
export const SCREENSHOT_DIR = path.join(ROOT, '.run', 'test', 'screenshots');
const FAILURE_DIR = path.join(ROOT, '.run', 'test', 'logs');

/** Debian's chromium and the flags every browser test launches it with. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Generous: the worker, the simulator's webhook and the app share two cores with other test runs. */
export const STEP_TIMEOUT = 30_000;

/** One browser per test file. */
export function useBrowser(): { browser: Browser } {
  const holder = {} as { browser: Browser };
  beforeAll(async () => {
    holder.browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    await holder.browser?.close();
  });
  return holder;
}

/**
 * Runs `body` with a fresh page (its own context: cookies and storage of its
 * own). On failure: a screenshot in .run/test/logs/ and what the page saw
 * (console, failed requests) in the error.
 */
export async function withPage(browser: Browser, name: string, body: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('console', (m) => seen.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) seen.push(`${r.status()} ${r.request().method()} ${r.url().slice(0, 160)}`);
  });
  try {
    await body(page);
  } catch (err) {
    mkdirSync(FAILURE_DIR, { recursive: true });
    await page.screenshot({ path: path.join(FAILURE_DIR, `e2e-failure-${name}.png`), fullPage: true }).catch(() => undefined);
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `${e.message}\n--- url: ${page.url()}\n--- the page saw:\n${seen.slice(-40).join('\n')}`;
    throw e;
  } finally {
    await context.close();
  }
}

export async function seedProduct(name: string, stock: number, priceMinor = 129_900): Promise<string> {
  const sku = uniqueSku('E2E');
  await Product.create({ _id: sku, name, description: 'Made for the browser tests.', priceMinor, currency: 'inr', initialStock: stock, available: stock });
  return sku;
}

export interface Buyer {
  name: string;
  email: string;
  line1: string;
  city: string;
  state: string;
  postalCode: string;
}

/** A buyer with an e-mail of their own, so a test can count its orders. */
export function newBuyer(): Buyer {
  return {
    name: 'Asha Rao',
    email: `asha+${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`,
    line1: '12 MG Road',
    city: 'Bengaluru',
    state: 'Karnataka',
    postalCode: '560001',
  };
}

export async function openShop(page: Page): Promise<void> {
  await page.goto(process.env.APP_URL ?? '');
  await page.getByRole('heading', { name: 'Catalogue' }).waitFor();
}

/** Adds one of the product to the cart and waits until the cart shows it. */
export async function addToCart(page: Page, sku: string): Promise<void> {
  await page.locator(`li.product[data-sku="${sku}"]`).getByRole('button', { name: /^Add to cart/ }).click();
  await page.locator(`li.cart-line[data-sku="${sku}"]`).waitFor({ timeout: STEP_TIMEOUT });
}

export async function fillBuyer(page: Page, buyer: Buyer): Promise<void> {
  await page.getByLabel('Full name').fill(buyer.name);
  await page.getByLabel('Email').fill(buyer.email);
  await page.getByLabel('Address', { exact: true }).fill(buyer.line1);
  await page.getByLabel('City').fill(buyer.city);
  await page.getByLabel('State').fill(buyer.state);
  await page.getByLabel('PIN code').fill(buyer.postalCode);
}

export async function placeOrder(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/ord_[a-f0-9]{24}$/, { timeout: STEP_TIMEOUT });
  return orderIdOf(page);
}

/** The storefront up to the order page: one of `sku` in the cart, the buyer's details, Place order. */
export async function buy(page: Page, sku: string, buyer = newBuyer()): Promise<string> {
  await openShop(page);
  await addToCart(page, sku);
  await fillBuyer(page, buyer);
  return placeOrder(page);
}

export function orderIdOf(page: Page): string {
  const id = /\/orders\/(ord_[a-f0-9]{24})/.exec(page.url())?.[1];
  if (!id) throw new Error(`not on an order page: ${page.url()}`);
  return id;
}

export async function waitForOrderState(page: Page, state: string, timeout = STEP_TIMEOUT): Promise<void> {
  await page.locator(`[data-testid=order-state][data-state="${state}"]`).waitFor({ timeout });
}

/** Waits until the order can be paid (the payment step shows), then pays with a test card. */
export async function payWith(page: Page, cardNumber: string): Promise<void> {
  await waitForOrderState(page, 'PAYMENT_PENDING');
  await page.getByRole('radio', { name: new RegExp(cardNumber) }).check();
  await page.getByRole('button', { name: /^Pay / }).click();
}

export const CARDS = {
  visa: '4242 4242 4242 4242',
  declined: '4000 0000 0000 0002',
  insufficientFunds: '4000 0000 0000 9995',
  threeDSecure: '4000 0027 6000 3184',
} as const;

/** The 3-D Secure dialog's frame: the simulator's challenge page. */
export const challengeFrame = (page: Page) => page.frameLocator('iframe[title="3-D Secure check"]');

export async function ordersOf(email: string): Promise<OrderDoc[]> {
  return Order.find({ 'customer.email': email }).lean<OrderDoc[]>();
}

/** The page as it is, at desktop and phone widths: .run/test/screenshots/<name>-desktop.png and -phone.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  for (const [width, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}

/** axe on the page as it is: no serious or critical violation (the message lists them with their nodes). */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  // Next streams the page's metadata: the <title> may land after the content.
  await page.waitForFunction(() => document.title.length > 0, null, { timeout: STEP_TIMEOUT });
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`);
    throw new Error(`${what}: ${bad.length} serious or critical accessibility violations:\n${lines.join('\n')}`);
  }
}
