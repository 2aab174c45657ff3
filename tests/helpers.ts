/** Shared test helpers: real clients for the real services the suite started. */
import { randomBytes, randomUUID } from 'node:crypto';
import { TRPCClientError } from '@trpc/client';
import { Redis } from 'ioredis';
import { Order, Product, type OrderDoc, type ProductDoc } from '../prisma-free-models';
import { setOperationGate, type Operation } from '../prisma-free-models/operation-gate';
import type { AppRouter } from '../src/server/api/root';
import type { OrderLimits } from '../src/server/abuse/order-caps';
import type { Deps } from '../src/server/deps';
import { createStripeClient } from '../src/server/payments/stripe-client';
import { createOrderQueues, type OrderQueues } from '../src/server/queue/queues';
import { LIMITS, type CustomerInput } from '../src/server/validation';
import { createOrdersClient } from '../src/trpc/client';
import { withAllStripes } from '../src/server/inventory/stripes';

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\``);
  return v;
}

export const appUrl = () => env('APP_URL');
export const simUrl = () => env('SIM_URL');

/** A typed tRPC client over HTTP (to the suite's app unless told otherwise), optionally sending an Idempotency-Key header. */
export function api(idempotencyKey?: string, baseUrl = appUrl()) {
  const headers: Record<string, string> = idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {};
  return createOrdersClient(baseUrl, { headers: () => headers });
}

/**
 * The order limits of tests that are not about limits, as the suite's app
 * has them too (tests/setup/test-env.ts): as much as the input schemas allow,
 * since most tests order for one customer. tests/integration/abuse-*.test.ts
 * run an app of their own on the defaults.
 */
export const suiteOrderLimits: OrderLimits = { maxQtyPerSku: LIMITS.maxQty, maxLines: LIMITS.maxLines, maxUnpaidOrdersPerCustomer: 1000 };

export const newKey = () => `test-${randomUUID()}`;
export const uniqueSku = (prefix = 'T') => `${prefix}-${randomBytes(5).toString('hex').toUpperCase()}`;

export const customer: CustomerInput = {
  name: 'Asha Rao',
  email: 'asha@example.com',
  address: { line1: '12 MG Road', city: 'Bengaluru', state: 'Karnataka', postalCode: '560001', country: 'IN' },
};

/** A product with `stock` units; with `stripes`, its stock split over that many documents, all units on stripe 0. */
export async function seedProduct(stock: number, priceMinor = 49_900, opts: { stripes?: number } = {}): Promise<string> {
  const sku = uniqueSku();
  await Product.create({
    _id: sku,
    name: `Test product ${sku}`,
    priceMinor,
    currency: 'inr',
    initialStock: stock,
    available: stock,
    reserved: 0,
    sold: 0,
    ...(opts.stripes ? { stripes: opts.stripes } : {}),
  });
  return sku;
}

/** The product with its stock: of all its stripes when it has several (src/server/inventory/stripes.ts). */
export async function stockOf(sku: string): Promise<ProductDoc> {
  const [p] = await withAllStripes(await Product.find({ _id: sku }).lean<ProductDoc[]>());
  if (!p) throw new Error(`no product ${sku}`);
  return p;
}

/** A cart with the given lines, built through the API. */
export async function cartWith(lines: { sku: string; qty: number }[]): Promise<string> {
  const client = api();
  const { cartId } = await client.cart.create.mutate();
  for (const l of lines) await client.cart.addLine.mutate({ cartId, ...l });
  return cartId;
}

export async function getOrder(orderId: string): Promise<OrderDoc> {
  const o = await Order.findById(orderId).lean<OrderDoc>();
  if (!o) throw new Error(`no order ${orderId}`);
  return o;
}

export async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}

export const waitForState = (orderId: string, states: string[], timeoutMs?: number) =>
  waitFor(`order ${orderId} in ${states.join('|')}`, () => getOrder(orderId), (o) => states.includes(o.state), timeoutMs);

/** The control API of a payment simulator (the suite's: `sim`; a test's own: `simControl(() => url)`). */
export function simControl(baseUrl: () => string) {
  const ctl = {
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${baseUrl()}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`simulator ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    configure: (cfg: Record<string, unknown>) => ctl.call('POST', '/_sim/config', cfg),
    reset: () => ctl.call('POST', '/_sim/reset'),
    flush: () => ctl.call('POST', '/_sim/flush'),
    pay: (paymentIntentId: string, paymentMethod = 'pm_card_visa') =>
      ctl.call<{ status: string }>('POST', `/_sim/payment_intents/${paymentIntentId}/pay`, { paymentMethod }),
    intentsFor: async (orderId: string) =>
      (await ctl.call<{ data?: unknown[] } | unknown[]>('GET', `/_sim/payment_intents?metadata[orderId]=${orderId}`)) as unknown,
    events: () => ctl.call<unknown>('GET', '/_sim/events'),
  };
  return ctl;
}

/** The suite's payment simulator. */
export const sim = simControl(simUrl);

/** Normalises list answers that may be a bare array or { data: [...] }. */
export function asList<T>(v: unknown): T[] {
  if (Array.isArray(v)) return v as T[];
  const data = (v as { data?: unknown } | null)?.data;
  return Array.isArray(data) ? (data as T[]) : [];
}

/**
 * Domain dependencies for tests that drive steps by hand: real Redis queues
 * under a prefix no worker consumes (so the test alone decides what runs),
 * and a real Stripe client pointed at the simulator.
 */
export function manualDeps(prefix = `manual_${randomBytes(4).toString('hex')}`): { deps: Deps; queues: OrderQueues; redis: Redis; close: () => Promise<void> } {
  const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(redis, prefix);
  const stripe = createStripeClient({
    STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'),
    STRIPE_API_HOST: env('STRIPE_API_HOST'),
    STRIPE_API_PORT: Number(env('STRIPE_API_PORT')),
    STRIPE_API_PROTOCOL: 'http',
  });
  return {
    deps: { enqueuer: queues.enqueuer, stripe, currency: 'inr', holdTimeMs: 15 * 60_000, orderLimits: suiteOrderLimits },
    queues,
    redis,
    close: async () => {
      await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true })));
      await queues.close();
      redis.disconnect();
    },
  };
}

/** A Stripe event the simulator created (deliveries held), by type and PaymentIntent. */
export async function simEvent(type: string, paymentIntentId: string): Promise<{ id: string; type: string; data: { object: unknown } }> {
  interface Rec {
    type: string;
    event: { id: string; type: string; data: { object: { id: string } } };
  }
  const rec = await waitFor(
    `${type} event for ${paymentIntentId}`,
    async () => asList<Rec>(await sim.events()).find((e) => e.type === type && e.event.data.object.id === paymentIntentId),
    (e) => e !== undefined,
    10_000,
  );
  return rec!.event;
}

/** Signs a Stripe event with the suite's webhook secret, as Stripe would. */
export function signedEvent(deps: Deps, event: unknown): { body: string; signature: string } {
  const body = JSON.stringify(event);
  return { body, signature: deps.stripe.webhooks.generateTestHeaderString({ payload: body, secret: env('STRIPE_WEBHOOK_SECRET') }) };
}

/** The tRPC error a call fails with; fails the test if the call succeeds. */
export async function trpcFailure(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<AppRouter>;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** The invariant auditor over this test's orders and SKUs (and Stripe, when given) must find nothing. */
export async function expectNoViolations(scope: { orderIds: string[]; skus: string[]; stripe?: Deps['stripe'] }): Promise<void> {
  const { auditInvariants } = await import('../src/server/audit/invariants');
  const report = await auditInvariants({ stuckAfterMs: 60_000, ...scope });
  if (report.violations.length > 0) {
    throw new Error(`invariant violations:\n${report.violations.map((v) => `[${v.check}] ${v.subject}: ${v.message}`).join('\n')}`);
  }
}

/**
 * Runs `work` with the database refusing the model operations `refuse` picks,
 * as a failing database would (each throws before it is sent); every other
 * operation passes the gate installed before, if any (the scheduler's).
 */
export async function withDatabaseRefusing<T>(refuse: (op: Operation) => boolean, work: () => Promise<T>): Promise<T> {
  const previous = setOperationGate(async (op) => {
    if (refuse(op)) throw new Error(`storage fault (test): ${op.model} ${op.op} refused`);
    await previous?.(op);
  });
  try {
    return await work();
  } finally {
    setOperationGate(previous);
  }
}

/** The model operations `work` makes (prisma-free-models/operation-gate.ts). */
export async function operationsOf(work: () => Promise<unknown>): Promise<Operation[]> {
  const seen: Operation[] = [];
  setOperationGate((op) => void seen.push(op));
  try {
    await work();
  } finally {
    setOperationGate(undefined);
  }
  return seen;
}
