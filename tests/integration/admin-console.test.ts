/**
 * The operator console over HTTP, against the suite's app: every admin
 * procedure refuses a caller without a live session (401), sign-in sets a
 * strict session cookie and sign-out ends it, guessing is throttled, Bull
 * Board is only for operators, and the console's reads and changes (orders,
 * stock, attention, refund of a mismatch) do what they say.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../../prisma-free-models';
import { failedJobs, listAttention } from '../../src/server/admin/attention';
import { loadOperatorCredential } from '../../src/server/admin/credentials';
import { openSession } from '../../src/server/admin/sessions';
import { appRouter } from '../../src/server/api/root';
import { auditInvariants } from '../../src/server/audit/invariants';
import { flagForAttention } from '../../src/server/orders/attention';
import { releaseLines, reserveLines } from '../../src/server/inventory/stock';
import { adminApi, adminPassword, mismatchedOrder, operatorCookie, payableOrder, signInResponse } from '../admin-helpers';
import { api, appUrl, asList, env, expectNoViolations, getOrder, manualDeps, newKey, seedProduct, sim, stockOf, trpcFailure, waitFor } from '../helpers';

const ADMIN_PROCEDURES = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
  .filter(([path]) => path.startsWith('admin.'))
  .map(([path, p]) => ({ path, type: p._def.type }));

/** Calls a procedure over HTTP the way the client does (GET for queries, POST for mutations). */
async function callRaw(path: string, type: string, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = cookie ? { cookie } : {};
  if (type === 'query') return fetch(`${appUrl()}/api/trpc/${path}`, { headers });
  return fetch(`${appUrl()}/api/trpc/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
}

const uniqueClient = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}-${randomBytes(3).toString('hex')}`;
const uniqueEmail = () => `ops-${randomBytes(4).toString('hex')}@example.com`;

let cookie: string;
beforeAll(async () => {
  cookie = await operatorCookie();
});

describe('operator sign-in', () => {
  it('knows its admin procedures (the 401 sweep below covers every one)', () => {
    expect(ADMIN_PROCEDURES.map((p) => p.path).sort()).toEqual(
      ['admin.addStock', 'admin.attention', 'admin.createProduct', 'admin.order', 'admin.orders', 'admin.refundMismatch', 'admin.stock'].sort(),
    );
  });

  it('answers 401 for every admin procedure without a live session, whatever the input', async () => {
    const credential = await loadOperatorCredential({ APP_ENV: 'test', ADMIN_PASSWORD: adminPassword(), MONGODB_URI: env('MONGODB_URI') });
    const expired = await openSession(credential, 60_000, new Date(Date.now() - 3_600_000));
    const otherPassword = await openSession({ ...credential, fingerprint: 'not-this-password' }, 3_600_000);
    const refused = [
      undefined,
      'admin_session=',
      `admin_session=${randomBytes(32).toString('base64url')}`,
      `admin_session=${expired.token}`,
      `admin_session=${otherPassword.token}`,
      'admin_session=../../etc/passwd',
    ];
    for (const { path, type } of ADMIN_PROCEDURES) {
      for (const c of refused) {
        const res = await callRaw(path, type, c);
        expect(res.status, `${path} with ${c ?? 'no cookie'}`).toBe(401);
      }
      expect((await callRaw(path, type, cookie)).status, `${path} signed in`).not.toBe(401);
    }
  });

  it('refuses a wrong password, and a right one sets an httpOnly, SameSite=Strict session cookie that sign-out ends', async () => {
    const client = uniqueClient();
    expect((await signInResponse('not the password at all', client)).status).toBe(401);
    const res = await signInResponse(adminPassword(), client);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^admin_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toMatch(/Secure/); // APP_ENV=test serves plain http; production adds Secure
    const session = setCookie.split(';', 1)[0]!;

    expect((await callRaw('admin.attention', 'query', session)).status).toBe(200);
    const out = await fetch(`${appUrl()}/api/admin/sign-out`, { method: 'POST', headers: { cookie: session } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^admin_session=;.*Max-Age=0/);
    expect((await callRaw('admin.attention', 'query', session)).status).toBe(401);
  });

  it('signs in from the HTML form with a redirect, and never redirects outside the console', async () => {
    const form = (body: string) =>
      fetch(`${appUrl()}/api/admin/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': uniqueClient() }, body });
    const ok = await form(`password=${encodeURIComponent(adminPassword())}&next=${encodeURIComponent('/admin/stock')}`);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/stock');
    const away = await form(`password=${encodeURIComponent(adminPassword())}&next=${encodeURIComponent('https://evil.example/admin')}`);
    expect(away.headers.get('location')).toBe('/admin');
    const wrong = await form('password=nope');
    expect(wrong.headers.get('location')).toBe('/admin/sign-in?error=invalid');
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('slows guessing: after 10 failures a client is refused, even with the right password, while others still sign in', async () => {
    const guesser = uniqueClient();
    for (let i = 0; i < 10; i++) expect((await signInResponse(`guess-number-${i}`, guesser)).status).toBe(401);
    const refused = await signInResponse(adminPassword(), guesser);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect((await signInResponse(adminPassword(), uniqueClient())).status).toBe(200);
  });

  it('serves Bull Board only to a signed-in operator', async () => {
    const page = await fetch(`${appUrl()}/admin/queues`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/admin\/sign-in/);
    expect((await fetch(`${appUrl()}/admin/queues/api/queues`)).status).toBe(401);
    expect((await fetch(`${appUrl()}/admin/queues/api/queues/reservation/clean/failed`, { method: 'PUT' })).status).toBe(401);

    const board = await fetch(`${appUrl()}/admin/queues`, { headers: { cookie } });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<base href="/admin/queues/"');
    const queues = (await (await fetch(`${appUrl()}/admin/queues/api/queues`, { headers: { cookie } })).json()) as { queues: { name: string }[] };
    expect(queues.queues.map((q) => q.name).sort()).toEqual(['expiry', 'finalization', 'maintenance', 'payment', 'release', 'reservation', 'webhook-events']);
  });
});

describe('orders', () => {
  it('filters by state, placement time and an exact id or email, in bounded pages', async () => {
    const email = uniqueEmail();
    const sku = await seedProduct(5);
    const start = new Date(Date.now() - 1_000);
    const pending = await payableOrder(sku, email);
    const cancelled = await payableOrder(sku, email);
    await api().orders.cancel.mutate({ orderId: cancelled.orderId, accessToken: cancelled.accessToken });
    const admin = adminApi(cookie);

    const mine = await admin.orders.query({ search: email });
    expect(mine.orders.map((o) => o.orderId).sort()).toEqual([pending.orderId, cancelled.orderId].sort());
    expect((await admin.orders.query({ search: email.toUpperCase() })).orders).toHaveLength(2);
    expect((await admin.orders.query({ search: email, states: ['CANCELLED'] })).orders.map((o) => o.orderId)).toEqual([cancelled.orderId]);
    expect((await admin.orders.query({ search: pending.orderId })).orders.map((o) => o.state)).toEqual(['PAYMENT_PENDING']);
    expect((await admin.orders.query({ search: email, from: start.toISOString() })).orders).toHaveLength(2);
    expect((await admin.orders.query({ search: email, from: new Date(Date.now() + 3_600_000).toISOString() })).orders).toHaveLength(0);
    expect((await admin.orders.query({ search: email, to: start.toISOString() })).orders).toHaveLength(0);

    const first = await admin.orders.query({ search: email, limit: 1 });
    expect(first.orders).toHaveLength(1);
    expect(first.next).toBe(first.orders[0]!.orderId);
    const second = await admin.orders.query({ search: email, limit: 1, after: first.next! });
    expect(second.orders.map((o) => o.orderId)).not.toContain(first.next);
    expect(second.orders).toHaveLength(1);

    const err = await trpcFailure(admin.orders.query({ limit: 1000 }));
    expect(err.data?.httpStatus).toBe(400);
    expect(err.data?.field).toBe('limit');
  });

  it('shows one order whole: history, payment, holds, and never its secrets', async () => {
    const sku = await seedProduct(2);
    const { orderId } = await payableOrder(sku);
    const detail = await adminApi(cookie).order.query({ orderId });
    expect(detail.state).toBe('PAYMENT_PENDING');
    expect(detail.payment.paymentIntentId).toMatch(/^pi_/);
    expect(detail.history.map((h) => h.action)).toEqual(['place-order', 'reserve', 'request-payment']);
    expect(detail.holds).toEqual([expect.objectContaining({ sku, qty: 1, ref: 'r1' })]);
    const text = JSON.stringify(detail);
    const stored = await getOrder(orderId);
    expect(text).not.toContain(stored.accessToken);
    expect(text).not.toContain(stored.requestHash);
    if (stored.clientSecret) expect(text).not.toContain(stored.clientSecret);
    expect((await trpcFailure(adminApi(cookie).order.query({ orderId: `ord_${'0'.repeat(24)}` }))).data?.httpStatus).toBe(404);
  });
});

describe('stock', () => {
  it('shows each SKU with the figures and the verdict of the invariant auditor', async () => {
    const sku = await seedProduct(4);
    const held = await payableOrder(sku);
    const admin = adminApi(cookie);
    const [row] = (await admin.stock.query({ sku })).products;
    const product = await stockOf(sku);
    expect(row).toMatchObject({ sku, initialStock: product.initialStock, available: product.available, reserved: product.reserved, sold: product.sold, violations: [] });
    expect(row!.initialStock).toBe(row!.available + row!.reserved + row!.sold);
    expect(row!.holds).toEqual([expect.objectContaining({ orderId: held.orderId, orderState: 'PAYMENT_PENDING', qty: 1 })]);
    expect((await auditInvariants({ skus: [sku], stuckAfterMs: 60_000 })).violations).toEqual([]);

    // Break the stock equation: the console reports exactly what the auditor reports.
    await Product.updateOne({ _id: sku }, { $inc: { available: 1 } });
    try {
      const audited = await auditInvariants({ skus: [sku], stuckAfterMs: 60_000 });
      const [broken] = (await admin.stock.query({ sku })).products;
      expect(broken!.violations.map((v) => v.check)).toEqual(audited.violations.map((v) => v.check));
      expect(broken!.violations.map((v) => v.check)).toContain('stock.conservation');
    } finally {
      await Product.updateOne({ _id: sku }, { $inc: { available: -1 } });
    }
  });

  it('adds stock atomically and once per request key', async () => {
    const sku = await seedProduct(3);
    const admin = adminApi(cookie);
    const key = newKey();
    const [a, b] = await Promise.all([admin.addStock.mutate({ sku, qty: 5, requestKey: key }), admin.addStock.mutate({ sku, qty: 5, requestKey: key })]);
    expect([a.outcome, b.outcome].sort()).toEqual(['applied', 'replayed']);
    await Promise.all(Array.from({ length: 4 }, () => admin.addStock.mutate({ sku, qty: 2, requestKey: newKey() })));
    const p = await stockOf(sku);
    expect(p).toMatchObject({ initialStock: 3 + 5 + 8, available: 3 + 5 + 8 });
    expect(p.initialStock).toBe(p.available + p.reserved + p.sold);
    expect((await trpcFailure(admin.addStock.mutate({ sku, qty: 6, requestKey: key }))).data?.domainCode).toBe('IDEMPOTENCY_CONFLICT');
    expect((await trpcFailure(admin.addStock.mutate({ sku: 'NO-SUCH-SKU-X', qty: 1, requestKey: newKey() }))).data?.httpStatus).toBe(404);
    expect((await trpcFailure(admin.addStock.mutate({ sku, qty: 0, requestKey: newKey() }))).data?.field).toBe('qty');
    await expectNoViolations({ orderIds: [], skus: [sku] });
  });

  it('creates a product once per SKU, validated', async () => {
    const sku = `NEW-${randomBytes(4).toString('hex').toUpperCase()}`;
    const admin = adminApi(cookie);
    const input = { sku, name: 'Console lamp', description: 'Made by an operator', priceMinor: 149_900, initialStock: 7 };
    const results = await Promise.all([admin.createProduct.mutate(input), admin.createProduct.mutate(input)]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['created', 'replayed']);
    expect(await stockOf(sku)).toMatchObject({ name: 'Console lamp', priceMinor: 149_900, currency: 'inr', initialStock: 7, available: 7, reserved: 0, sold: 0 });
    expect((await api().catalog.list.query()).some((p) => p.sku === sku && p.stock === 'in-stock')).toBe(true);
    expect((await trpcFailure(admin.createProduct.mutate({ ...input, priceMinor: 1 }))).data?.domainCode).toBe('IDEMPOTENCY_CONFLICT');
    for (const [bad, field] of [
      [{ ...input, sku: 'lower-case' }, 'sku'],
      [{ ...input, name: 'x'.repeat(201) }, 'name'],
      [{ ...input, priceMinor: 12.5 }, 'priceMinor'],
      [{ ...input, initialStock: -1 }, 'initialStock'],
      [{ ...input, stripes: 65 }, 'stripes'],
      [{ ...input, stripes: 0 }, 'stripes'],
    ] as const) {
      const err = await trpcFailure(admin.createProduct.mutate(bad));
      expect(err.data?.httpStatus, field).toBe(400);
      expect(err.data?.field).toBe(field);
    }
    await expectNoViolations({ orderIds: [], skus: [sku] });
  });

  it('creates a product split into stripes and shows, and adds to, the stock of all of them', async () => {
    const sku = `STRIPED-${randomBytes(4).toString('hex').toUpperCase()}`;
    const admin = adminApi(cookie);
    expect((await admin.createProduct.mutate({ sku, name: 'Sale lamp', priceMinor: 99_900, initialStock: 6, stripes: 4 })).outcome).toBe('created');
    expect(await Product.findById(sku, { stripes: 1 }).lean()).toMatchObject({ stripes: 4 });
    // An order on stripe 3 pulls units there from stripe 0.
    const orderId = `ord_${randomBytes(12).toString('hex')}`;
    expect((await reserveLines(orderId, 'r1', [{ sku, qty: 2, stripe: 3 }])).ok).toBe(true);
    const added = await admin.addStock.mutate({ sku, qty: 5, requestKey: newKey() });
    expect(added).toMatchObject({ outcome: 'applied', initialStock: 11, available: 9 });
    const [row] = (await admin.stock.query({ sku })).products;
    expect(row).toMatchObject({ initialStock: 11, available: 9, reserved: 2, sold: 0 });
    expect(row?.holds.map((h) => h.orderId)).toEqual([orderId]);
    await releaseLines(orderId, 'r1', [{ sku, qty: 2, stripe: 3 }]);
    expect(await stockOf(sku)).toMatchObject({ initialStock: 11, available: 11, reserved: 0 });
  });
});

describe('attention and refunds', () => {
  it('lists a payment mismatch and refunds it once, through the state machine, however often it is asked', async () => {
    const sku = await seedProduct(2);
    const { orderId, order } = await mismatchedOrder(sku);
    const admin = adminApi(cookie);
    expect((await admin.attention.query()).mismatches.map((m) => m.orderId)).toContain(orderId);

    const results = await Promise.all([admin.refundMismatch.mutate({ orderId }), admin.refundMismatch.mutate({ orderId }), admin.refundMismatch.mutate({ orderId })]);
    const refundIds = new Set(results.map((r) => r.refund.id));
    expect(refundIds.size).toBe(1);
    expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(1);
    const again = await admin.refundMismatch.mutate({ orderId });
    expect(again).toMatchObject({ outcome: 'already-done', refund: { id: [...refundIds][0] } });

    const refunded = await getOrder(orderId);
    expect(refunded.state).toBe('REFUNDED');
    expect(refunded.refund?.id).toBe([...refundIds][0]);
    expect(refunded.refund?.amount).toBe(order.payment?.amountReceived);
    expect(refunded.history.filter((h) => h.action === 'refund-mismatch')).toHaveLength(1);
    // One refund at the payment provider, for the whole amount received.
    type Rec = { type: string; event: { data: { object: { id: string; payment_intent?: string } } } };
    const refundsAtProvider = async () =>
      [...new Set(asList<Rec>(await sim.events()).filter((e) => e.type === 'refund.created' && e.event.data.object.payment_intent === order.paymentIntentId).map((e) => e.event.data.object.id))];
    expect(await waitFor('the refund.created event', refundsAtProvider, (ids) => ids.length > 0)).toEqual([...refundIds]);
    expect((await admin.attention.query()).mismatches.map((m) => m.orderId)).not.toContain(orderId);
    const m = manualDeps();
    try {
      await expectNoViolations({ orderIds: [orderId], skus: [sku], stripe: m.deps.stripe });
    } finally {
      await m.close();
    }
  });

  it('refuses to refund an order that is not a payment mismatch', async () => {
    const sku = await seedProduct(2);
    const { orderId } = await payableOrder(sku);
    const err = await trpcFailure(adminApi(cookie).refundMismatch.mutate({ orderId }));
    expect(err.data?.httpStatus).toBe(409);
    expect(err.message).toContain('PAYMENT_PENDING');
    expect((await getOrder(orderId)).state).toBe('PAYMENT_PENDING');
  });

  it('lists flagged orders, and stuck orders with the auditor’s words', async () => {
    const sku = await seedProduct(2);
    const { orderId } = await payableOrder(sku);
    await flagForAttention(orderId, 'dispute', 'dp_test: fraudulent');
    const flagged = (await adminApi(cookie).attention.query()).flagged.find((f) => f.orderId === orderId);
    expect(flagged?.flags).toEqual([expect.objectContaining({ reason: 'dispute', detail: 'dp_test: fraudulent' })]);

    // Judged two hours from now, the payable order has outlived its hold: stuck, in the auditor's words.
    const m = manualDeps();
    try {
      const later = await listAttention({ queues: m.queues.queues, stuckAfterMs: 60_000, now: new Date(Date.now() + 2 * 3_600_000) });
      const stuck = later.stuck.find((s) => s.orderId === orderId);
      expect(stuck?.problems.map((p) => p.check)).toContain('stuck.expiry');
    } finally {
      await m.close();
    }
  });

  it('lists jobs that used up their retries', async () => {
    const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
    const prefix = `failed_${randomBytes(4).toString('hex')}`;
    const queue = new Queue('reservation', { connection: redis, prefix });
    const worker = new Worker(
      'reservation',
      () => {
        throw new Error('step exploded');
      },
      { connection: redis, prefix },
    );
    try {
      const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
      await queue.add('reserve', { orderId: 'ord_000000000000000000000001' }, { jobId: 'reserve-ord_000000000000000000000001', attempts: 1 });
      await failed;
      const jobs = await failedJobs({ reservation: queue });
      expect(jobs).toEqual([expect.objectContaining({ queue: 'reservation', jobId: 'reserve-ord_000000000000000000000001', orderId: 'ord_000000000000000000000001', failedReason: 'step exploded', attemptsMade: 1 })]);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  });
});
