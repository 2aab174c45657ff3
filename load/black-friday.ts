/**
 * The Black Friday benchmark: one product with UNITS units, BUYERS buyers,
 * CONCURRENCY at a time, each doing what a storefront does (cart, add line,
 * placeOrder with an Idempotency-Key, wait for the reservation decision with
 * orders.waitForChange),
 * then every reserved order is paid at the payment simulator and must reach
 * CONFIRMED. Reports units sold (must equal UNITS), throughput and latency
 * percentiles, and runs the invariant auditor over what it created.
 *
 * Run against a running system (`npm run start:all` in another terminal):
 *   npm run load:black-friday
 * Settings: APP_URL (http://127.0.0.1:4000), SIM_URL (http://127.0.0.1:12200),
 * MONGODB_URI (the system's), UNITS (100), BUYERS (1000), CONCURRENCY (50).
 * Traffic goes to loopback only; the run is bounded by BUYERS. Loopback is
 * exempt from the per-address rate limits outside production (README,
 * "Limits and abuse"); against a production-configured system, set
 * RATE_LIMIT_EXEMPT_IPS to this machine's address for the run.
 */
import { randomUUID } from 'node:crypto';
import { connectMongo, disconnectMongo, Product } from '../prisma-free-models';
import { auditInvariants } from '../src/server/audit/invariants';
import { createOrdersClient, followOrder } from '../src/trpc/client';

const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:4000';
const SIM_URL = process.env.SIM_URL ?? 'http://127.0.0.1:12200';
const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/orders';
const UNITS = Number(process.env.UNITS ?? 100);
const BUYERS = Number(process.env.BUYERS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const DECIDED = new Set(['PAYMENT_PENDING', 'REJECTED', 'CONFIRMED', 'PAID']);

// Each buyer is a customer of their own, as on a real Black Friday: one email
// for all would be one customer, capped at MAX_UNPAID_ORDERS_PER_CUSTOMER.
const customer = (n: number) => ({
  name: 'Load Buyer',
  email: `buyer-${n}@load.example.com`,
  address: { line1: '1 Test Street', city: 'Mumbai', state: 'Maharashtra', postalCode: '400001', country: 'IN' },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!) : 0;
};

interface Outcome {
  orderId: string;
  accessToken: string;
  state: string;
  placeMs: number;
  decideMs: number;
}

async function buyer(sku: string, n: number): Promise<Outcome> {
  const key = randomUUID();
  const api = createOrdersClient(APP_URL, { headers: () => ({ 'Idempotency-Key': key }) });
  const t0 = performance.now();
  const { cartId } = await api.cart.create.mutate();
  await api.cart.addLine.mutate({ cartId, sku, qty: 1 });
  const placed = await api.checkout.placeOrder.mutate({ cartId, customer: customer(n) });
  const placeMs = performance.now() - t0;
  // A replayed order may be further along: its history is then longer, and the first wait answers at once.
  const order = await followOrder(api, placed, (o) => DECIDED.has(o.state), { seen: { state: placed.state, historyLength: 1 } });
  return { orderId: placed.orderId, accessToken: placed.accessToken, state: order.state, placeMs, decideMs: performance.now() - t0 };
}

async function main(): Promise<void> {
  await connectMongo(MONGODB_URI);
  const sku = `BF-${Date.now().toString(36).toUpperCase()}`;
  await Product.create({ _id: sku, name: 'Black Friday deal', priceMinor: 99_900, currency: 'inr', initialStock: UNITS, available: UNITS, reserved: 0, sold: 0 });

  const outcomes: Outcome[] = [];
  const errors: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < BUYERS) {
        const n = next++;
        try {
          outcomes.push(await buyer(sku, n));
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }),
  );
  const checkoutSeconds = (performance.now() - started) / 1000;

  // Pay every reserved order, as its customer would, and wait for CONFIRMED.
  const reserved = outcomes.filter((o) => o.state !== 'REJECTED');
  const api = createOrdersClient(APP_URL);
  for (const o of reserved) {
    const view = await api.orders.get.query({ orderId: o.orderId, accessToken: o.accessToken });
    const res = await fetch(`${SIM_URL}/_sim/payment_intents/${view.payment.paymentIntentId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paymentMethod: 'pm_card_visa' }),
    });
    if (!res.ok) errors.push(`pay ${o.orderId}: HTTP ${res.status}`);
  }
  const deadline = Date.now() + 120_000;
  let confirmed = 0;
  while (Date.now() < deadline) {
    const states = await Promise.all(reserved.map((o) => api.orders.get.query({ orderId: o.orderId, accessToken: o.accessToken })));
    confirmed = states.filter((s) => s.state === 'CONFIRMED').length;
    if (confirmed === reserved.length) break;
    await sleep(250);
  }

  const product = await Product.findById(sku).lean();
  // Take the benchmark's product off the storefront's catalogue again.
  await Product.updateOne({ _id: sku }, { $set: { active: false } });
  const audit = await auditInvariants({ stuckAfterMs: 60_000, orderIds: outcomes.map((o) => o.orderId), skus: [sku] });
  const place = outcomes.map((o) => o.placeMs);
  const decide = outcomes.map((o) => o.decideMs);
  const result = {
    units: UNITS,
    buyers: BUYERS,
    concurrency: CONCURRENCY,
    reserved: reserved.length,
    rejected: outcomes.length - reserved.length,
    confirmed,
    sold: product?.sold,
    available: product?.available,
    errors: errors.length,
    checkoutsPerSecond: Math.round((outcomes.length / checkoutSeconds) * 10) / 10,
    placeOrderMs: { p50: pct(place, 50), p95: pct(place, 95), p99: pct(place, 99) },
    decidedMs: { p50: pct(decide, 50), p95: pct(decide, 95), p99: pct(decide, 99) },
    auditViolations: audit.violations.length,
  };
  console.log(JSON.stringify(result, null, 2));
  if (errors.length) console.log('first errors:', errors.slice(0, 5));
  await disconnectMongo();
  const exact = product?.sold === UNITS && confirmed === UNITS && audit.violations.length === 0;
  process.exit(exact ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
