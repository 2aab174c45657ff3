/**
 * The operator console in a real browser (Debian's chromium driven by
 * playwright-core): sign-in required, orders filtered, stock figures equal
 * to the invariant auditor's, a payment mismatch refunded from the attention
 * list, Bull Board only when signed in. Every console page is checked with
 * axe (no serious or critical violation), walked with the Tab key (every
 * control reachable), and photographed at desktop and phone widths into
 * .run/test/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditInvariants } from '../src/server/audit/invariants';
import { adminPassword, mismatchedOrder, payableOrder } from '../tests/admin-helpers';
import { api, appUrl, getOrder, seedProduct, stockOf, waitFor } from '../tests/helpers';
import { CHROMIUM, DESKTOP, FLAGS, PHONE, SCREENSHOT_DIR } from './support/shop';

const SHOTS = SCREENSHOT_DIR;
const VIEWPORTS = { desktop: DESKTOP, phone: PHONE } as const;
// Generous: the machine may be busy with other suites.
const WAIT = { timeout: 30_000 };

let browser: Browser;
let operator: BrowserContext;

/** A context that only talks to the suite's app (Bull Board's page asks for web fonts; this machine has no internet). */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  const app = new URL(appUrl()).host;
  await context.route('**/*', (route) => (new URL(route.request().url()).host === app ? route.continue() : route.abort()));
  context.setDefaultTimeout(WAIT.timeout);
  context.setDefaultNavigationTimeout(WAIT.timeout);
  return context;
}

async function signIn(page: Page, password = adminPassword()): Promise<void> {
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  operator = await newContext();
  const page = await operator.newPage();
  await page.goto(`${appUrl()}/admin`);
  await page.waitForURL(/\/admin\/sign-in/);
  await signIn(page);
  await page.waitForURL((u) => u.pathname === '/admin');
  await page.close();
});

afterAll(async () => {
  await browser?.close();
});

/** Opens a console page as the signed-in operator; the failure message says what the page showed. */
async function open(pathname: string, context = operator): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${appUrl()}${pathname}`);
  return page;
}

/** No serious or critical axe violation (WCAG 2.1 A/AA rules). */
async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), what).toEqual([]);
}

/** Every visible control (disclosures opened) is reached by pressing Tab from the top of the page. */
async function expectKeyboardReachable(page: Page, what: string): Promise<void> {
  const count = await page.evaluate(() => {
    // Disclosures open, so what they hold is counted too (their summaries are controls themselves).
    document.querySelectorAll('details').forEach((d) => (d.open = true));
    const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    const visible = [...document.querySelectorAll<HTMLElement>(selector)].filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    });
    visible.forEach((el, i) => el.setAttribute('data-kb', String(i)));
    (document.activeElement as HTMLElement | null)?.blur();
    return visible.length;
  });
  const reached = new Set<string>();
  // A date-time field takes several presses (one per part), hence the margin.
  for (let i = 0; i < count * 8 + 10 && reached.size < count; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.getAttribute('data-kb') ?? null);
    if (id !== null) reached.add(id);
  }
  const missed = await page.evaluate(
    (ids) => [...document.querySelectorAll<HTMLElement>('[data-kb]')].filter((el) => !ids.includes(el.getAttribute('data-kb') ?? '')).map((el) => el.outerHTML.slice(0, 120)),
    [...reached],
  );
  expect(missed, `${what}: controls Tab never reaches`).toEqual([]);
  expect(reached.size, what).toBeGreaterThan(0);
}

async function screenshots(page: Page, name: string): Promise<void> {
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SHOTS, `admin-${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}

describe('operator console in a browser', () => {
  it('sends a visitor to sign in, refuses a wrong password, and lets the operator in by keyboard alone', async () => {
    const visitor = await newContext();
    try {
      const page = await open('/admin/orders', visitor);
      await page.waitForURL(/\/admin\/sign-in\?next=%2Fadmin%2Forders/);
      await signIn(page, 'not the right password');
      await page.waitForSelector('[data-testid=sign-in-error]');
      expect(await page.textContent('[role=alert]')).toContain('not right');
      expect((await visitor.cookies()).some((c) => c.name === 'admin_session')).toBe(false);
      // The password field takes focus on arrival (once the page has hydrated): type and press Enter, no mouse.
      await page.waitForFunction(() => document.activeElement?.id === 'password', null, WAIT);
      await page.keyboard.type(adminPassword());
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/admin\/orders$/);
      const cookie = (await visitor.cookies()).find((c) => c.name === 'admin_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    } finally {
      await visitor.close();
    }
  }, 120_000);

  it('filters orders by state, email and time, and opens one with its history', async () => {
    const email = `filter-${Date.now().toString(36)}@example.com`;
    const sku = await seedProduct(4);
    const pending = await payableOrder(sku, email);
    const cancelled = await payableOrder(sku, email);
    await api().orders.cancel.mutate({ orderId: cancelled.orderId, accessToken: cancelled.accessToken });

    const page = await open('/admin/orders');
    try {
      await page.fill('input[name=q]', email);
      await Promise.all([page.waitForURL(/q=/), page.click('button:has-text("Filter")')]);
      const ids = () => page.$$eval('[data-testid=orders-table] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-order-id')));
      expect((await ids()).sort()).toEqual([pending.orderId, cancelled.orderId].sort());

      await page.check('input[name=state][value=CANCELLED]');
      await Promise.all([page.waitForURL(/state=CANCELLED/), page.click('button:has-text("Filter")')]);
      expect(await ids()).toEqual([cancelled.orderId]);

      await page.fill('input[name=from]', '2099-01-01T00:00');
      await Promise.all([page.waitForURL(/from=2099/), page.click('button:has-text("Filter")')]);
      await page.waitForSelector('[data-testid=orders-empty]');

      await page.goto(`${appUrl()}/admin/orders?q=${encodeURIComponent(email)}&state=CANCELLED`);
      await Promise.all([page.waitForURL(/\/admin\/orders\/ord_/), page.click(`a[href="/admin/orders/${cancelled.orderId}"]`)]);
      expect(await page.textContent('[data-testid=order-state]')).toBe('CANCELLED');
      const actions = await page.$$eval('[data-testid=history] tbody tr td:nth-child(4)', (cells) => cells.map((c) => c.textContent));
      expect(actions).toEqual(['place-order', 'reserve', 'request-payment', 'cancel']);
      expect(await page.textContent('[data-testid=payment-intent]')).toBe(cancelled.order.paymentIntentId);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows each SKU with the figures and verdict of the invariant auditor, and adds stock', async () => {
    const sku = await seedProduct(5);
    const held = await payableOrder(sku);
    const page = await open(`/admin/stock?sku=${sku}`);
    try {
      const row = page.locator(`tr[data-sku="${sku}"]`);
      const cell = async (field: string) => Number(await row.locator(`[data-field=${field}]`).textContent());
      const product = await stockOf(sku);
      expect({ initialStock: await cell('initialStock'), available: await cell('available'), reserved: await cell('reserved'), sold: await cell('sold') }).toEqual({
        initialStock: product.initialStock,
        available: product.available,
        reserved: product.reserved,
        sold: product.sold,
      });
      expect((await auditInvariants({ skus: [sku], stuckAfterMs: 60_000 })).violations).toEqual([]);
      expect(await row.locator('[data-field=audit]').textContent()).toBe('OK');

      const details = page.locator(`details[data-holds-for="${sku}"]`);
      await details.locator('summary').click();
      expect(await details.textContent()).toContain(held.orderId);

      await details.locator('input[name=qty]').fill('3');
      await details.locator('button:has-text("Add stock")').click();
      await waitFor('stock added', () => stockOf(sku), (p) => p.initialStock === product.initialStock + 3);
      await page.waitForFunction(
        ({ s, n }) => document.querySelector(`tr[data-sku="${s}"] [data-field=initialStock]`)?.textContent === String(n),
        { s: sku, n: product.initialStock + 3 },
        WAIT,
      );
      const after = await stockOf(sku);
      expect(after.initialStock).toBe(after.available + after.reserved + after.sold);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('refunds a payment mismatch from the attention list', async () => {
    const sku = await seedProduct(2);
    const { orderId } = await mismatchedOrder(sku);
    const page = await open('/admin');
    try {
      const row = page.locator(`[data-testid=mismatches] tr[data-order-id="${orderId}"]`);
      await row.locator('button:has-text("Refund")').click();
      await row.locator('button:has-text("Yes, refund")').click();
      const refunded = await waitFor('the refund', () => getOrder(orderId), (o) => o.state === 'REFUNDED', 30_000);
      expect(refunded.refund?.id).toMatch(/^re_/);
      // The page re-renders from the server: the order has left the list.
      await row.waitFor({ state: 'detached', ...WAIT });
    } finally {
      await page.close();
    }
  }, 120_000);

  it('serves Bull Board only to a signed-in operator', async () => {
    const visitor = await newContext();
    try {
      const page = await open('/admin/queues', visitor);
      await page.waitForURL(/\/admin\/sign-in\?next=%2Fadmin%2Fqueues/);
    } finally {
      await visitor.close();
    }
    const page = await open('/admin/queues');
    try {
      await page.waitForSelector('text=reservation', WAIT);
      await page.waitForSelector('text=webhook-events', WAIT);
      await screenshots(page, 'queues');
    } finally {
      await page.close();
    }
  }, 120_000);

  it('passes axe and the keyboard on every console page, photographed at desktop and phone widths', async () => {
    const sku = await seedProduct(3);
    const { orderId } = await payableOrder(sku);
    await mismatchedOrder(sku); // so the attention page shows a refund action
    const visitor = await newContext();
    try {
      const signInPage = await open('/admin/sign-in', visitor);
      await expectAccessible(signInPage, 'sign-in');
      await expectKeyboardReachable(signInPage, 'sign-in');
      await screenshots(signInPage, 'sign-in');
    } finally {
      await visitor.close();
    }
    const pages = {
      attention: '/admin',
      orders: '/admin/orders',
      order: `/admin/orders/${orderId}`,
      stock: `/admin/stock`,
    };
    for (const [name, pathname] of Object.entries(pages)) {
      const page = await open(pathname);
      try {
        await page.waitForSelector('main#content h1');
        await expectAccessible(page, name);
        await expectKeyboardReachable(page, name);
        await screenshots(page, name);
        await page.setViewportSize(VIEWPORTS.phone);
        await expectAccessible(page, `${name} at phone width`);
      } finally {
        await page.close();
      }
    }
  }, 240_000);
});
