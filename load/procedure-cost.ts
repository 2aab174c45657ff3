/**
 * CPU per step of a paying buyer, per process: what each call of the
 * storefront's path costs the web app, the webhooks process, the worker, the
 * database, Redis and the payment simulator, including the work the call sets
 * off (placeOrder's payment job; paying's webhook, event job and
 * finalization). A sale's rate is bounded by the sum: on C cores a paying
 * buyer costing X ms of CPU in all processes allows at most C × 1000 / X
 * sales per second, whatever the scheduling.
 *
 * N buyers (default 100) take each step in turn, CONCURRENCY (default 1) at a
 * time, on one product of their own; after a step that sets work off, the
 * step's window stays open until that work is done (every order
 * PAYMENT_PENDING, then every order CONFIRMED), polled twice a second (one
 * query per poll, counted in the database's column). CPU comes from /proc as
 * in the load runs (lib/processes.ts), so the system must run on this machine.
 *
 *   npx tsx load/procedure-cost.ts
 * Settings: N, CONCURRENCY, and where the system is as for `npm run load`
 * (APP_URL, SIM_URL, MONGODB_URI, REDIS_URL, WORKER_HTTP_PORT, WEBHOOK_PORT).
 */
import { randomBytes } from 'node:crypto';
import { connectMongo, disconnectMongo, Order, Product } from '../prisma-free-models';
import { createOrdersClient, type OrdersClient } from '../src/trpc/client';
import { customerFor } from './lib/buyer';
import { asClientFetch, createHttpClient } from './lib/http-client';
import { CpuMeter } from './lib/processes';
import { systemProcesses } from './lib/run-scenario';
import { paySimulated } from './lib/simulator';
import { envNumber } from './lib/scenario';
import { machine, targetFromEnv } from './run';

const N = envNumber('N', 100);
const CONCURRENCY = envNumber('CONCURRENCY', 1);

interface Buyer {
  api: OrdersClient;
  cartId: string;
  orderId: string;
  accessToken: string;
  paymentIntentId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn for every buyer, CONCURRENCY at a time. */
async function forEach(buyers: Buyer[], fn: (b: Buyer, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, buyers.length) }, async () => {
      for (let i = next++; i < buyers.length; i = next++) await fn(buyers[i] as Buyer, i);
    }),
  );
}

/** Waits until every buyer's order is in `state` (or gives up after a minute). */
async function settled(buyers: Buyer[], state: string): Promise<void> {
  const ids = buyers.map((b) => b.orderId);
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500)) {
    const views = await Order.find({ _id: { $in: ids } }, { state: 1, paymentIntentId: 1 }).lean<{ _id: string; state: string; paymentIntentId?: string }[]>();
    if (views.length === ids.length && views.every((v) => v.state === state)) {
      const intents = new Map(views.map((v) => [v._id, v.paymentIntentId ?? '']));
      for (const b of buyers) b.paymentIntentId = intents.get(b.orderId) ?? '';
      return;
    }
  }
  throw new Error(`orders did not all reach ${state} within a minute`);
}

async function main(): Promise<void> {
  const target = targetFromEnv();
  await connectMongo(target.mongodbUri);
  const targets = systemProcesses(target);
  const sku = `COST-${randomBytes(4).toString('hex').toUpperCase()}`;
  await Product.create({ _id: sku, name: 'Procedure cost', priceMinor: 99_900, currency: 'inr', initialStock: N, available: N, reserved: 0, sold: 0 });
  const http = createHttpClient();
  const buyers: Buyer[] = Array.from({ length: N }, (_, i) => {
    const key = `cost-${sku}-${i}`;
    const api = createOrdersClient(target.appUrl, { headers: () => ({ 'Idempotency-Key': key }), fetch: asClientFetch(http.fetch) });
    return { api, cartId: '', orderId: '', accessToken: '', paymentIntentId: '' };
  });
  const owner = (b: Buyer) => ({ orderId: b.orderId, accessToken: b.accessToken });

  const rows: { step: string; ms: Record<string, number>; wallMs: number; taken: boolean }[] = [];
  /** `taken`: whether the load driver's buyer takes the step (the sum counts those only). */
  const step = async (name: string, fn: (b: Buyer, i: number) => Promise<void>, after?: () => Promise<void>, taken = true) => {
    const meter = new CpuMeter(targets);
    const t0 = performance.now();
    meter.start(0);
    await forEach(buyers, fn);
    await after?.();
    meter.sample(performance.now() - t0);
    const ms = Object.fromEntries(meter.result().filter((r) => r.found).map((r) => [r.role, r.cpuMs / N]));
    rows.push({ step: name, ms, wallMs: (performance.now() - t0) / N, taken });
    process.stderr.write(`  ${name} done\n`);
  };

  process.stderr.write(`${N} buyers, ${CONCURRENCY} at a time, product ${sku}\n`);
  // As the storefront's first add: the cart created with its line.
  await step('cart.createWithLines', async (b) => {
    b.cartId = (await b.api.cart.createWithLines.mutate({ lines: [{ sku, qty: 1 }] })).cartId;
  });
  await step(
    'checkout.placeOrder, until PAYMENT_PENDING',
    async (b, i) => {
      const placed = await b.api.checkout.placeOrder.mutate({ cartId: b.cartId, customer: customerFor(sku, i) });
      b.orderId = placed.orderId;
      b.accessToken = placed.accessToken;
    },
    () => settled(buyers, 'PAYMENT_PENDING'),
  );
  // The order page's read; the driver's buyer pays from placeOrder's answer and skips it.
  await step(
    'orders.get (not in the sum)',
    async (b) => {
      await b.api.orders.get.query(owner(b));
    },
    undefined,
    false,
  );
  await step('orders.waitForChange, answered at once', async (b) => {
    await b.api.orders.waitForChange.query({ ...owner(b), seen: { state: 'INVENTORY_RESERVED', historyLength: 0 }, timeoutMs: 1_000 });
  });
  await step(
    'pay at the simulator, until CONFIRMED',
    async (b) => {
      const paid = await paySimulated(http.fetch, target.simUrl, b.paymentIntentId, 'pm_card_visa');
      if (!paid.ok) throw new Error(`payment of ${b.orderId} refused: ${paid.message}`);
    },
    () => settled(buyers, 'CONFIRMED'),
  );
  http.close();
  await Product.updateOne({ _id: sku }, { $set: { active: false } });
  await disconnectMongo();

  // A role whose process was not found (no webhooks process, say) shows "-" and adds nothing.
  const roles = targets.map((t) => t.role);
  const cell = (ms: number | undefined) => (ms === undefined ? '-' : ms.toFixed(1));
  const sum = (ms: Record<string, number>) => Object.values(ms).reduce((a, b) => a + b, 0);
  const total: Record<string, number> = {};
  for (const r of rows.filter((row) => row.taken)) for (const [role, ms] of Object.entries(r.ms)) total[role] = (total[role] ?? 0) + ms;
  const { cpus, cpuModel, node } = machine();
  console.log(`CPU ms per call and process; ${N} buyers, ${CONCURRENCY} at a time; ${cpus} × ${cpuModel}, Node ${node}`);
  const header = ['step', ...roles, 'all', 'wall ms'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.step} | ${roles.map((role) => cell(r.ms[role])).join(' | ')} | ${sum(r.ms).toFixed(1)} | ${r.wallMs.toFixed(1)} |`);
  console.log(`| a paying buyer | ${roles.map((role) => cell(total[role])).join(' | ')} | ${sum(total).toFixed(1)} | |`);
  console.log(`at most ${Math.floor((cpus * 1000) / sum(total))} paying buyers per second on ${cpus} cores at this cost (the driver's own CPU not counted)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`procedure-cost failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
