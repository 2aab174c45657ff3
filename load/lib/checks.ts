/**
 * The promises a run must keep whatever its thresholds say: nothing oversold,
 * stock conserved, exactly min(units, buyers) confirmed, each order charged at
 * most once (counted at the simulator, which is the money), one order per
 * Idempotency-Key, and the invariant auditor clean over the run's orders and
 * product. Any of them failing fails the run.
 */
import Stripe from 'stripe';
import { Order, Product } from '../../prisma-free-models';
import { auditInvariants, type Violation } from '../../src/server/audit/invariants';
import type { BuyerResult } from './buyer';
import { paymentIntents } from './simulator';
import { withAllStripes } from '../../src/server/inventory/stripes';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Exactness {
  checks: Check[];
  confirmed: number;
  sold: number;
  available: number;
  reserved: number;
  ordersStored: number;
  doubleCharged: number;
  intentsPerOrderMax: number;
  auditViolations: Violation[];
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/** Orders among `ids` in each state (by _id: no collection scan). */
export async function statesOf(ids: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const part of chunks(ids, 500)) {
    for (const o of await Order.find({ _id: { $in: part } }, { state: 1 }).lean<{ state: string }[]>()) {
      counts[o.state] = (counts[o.state] ?? 0) + 1;
    }
  }
  return counts;
}

/** A Stripe client for the simulator, so the auditor also checks the payments where the money is. */
export function simulatorStripe(simUrl: string): Stripe {
  const u = new URL(simUrl);
  return new Stripe('sk_test_load_auditor', { host: u.hostname, port: u.port || '80', protocol: u.protocol === 'https:' ? 'https' : 'http', maxNetworkRetries: 2 });
}

export async function checkExactness(opts: {
  sku: string;
  units: number;
  results: readonly BuyerResult[];
  /** How many buyers took part (fewer than planned when a run was interrupted). */
  expectedBuyers: number;
  /** Other orders of the run to audit (the accept-path probe's). */
  extraOrderIds?: readonly string[];
  extraSkus?: readonly string[];
  simUrl: string;
  stuckAfterMs: number;
}): Promise<Exactness> {
  const { sku, units, results } = opts;
  const orderIds = [...new Set(results.flatMap((r) => r.orderIdsForKey))];
  // Its stock summed over its stripes, when it has several.
  const [product] = await withAllStripes(await Product.find({ _id: sku }).lean());
  if (!product) throw new Error(`product ${sku} is gone`);
  const states = await statesOf(orderIds);
  const confirmed = states.CONFIRMED ?? 0;
  // The orders stored under the run's keys, looked up by the unique key index (a filter on lines.sku would
  // scan the collection, which on the local server stalls every other query on it while it runs).
  let ordersStored = 0;
  for (const part of chunks(results.map((r) => r.key), 500)) ordersStored += await Order.countDocuments({ idempotencyKey: { $in: part } });
  const keysPlaced = results.filter((r) => r.orderId !== null).length;
  const keysWithTwoOrders = results.filter((r) => new Set(r.orderIdsForKey).size > 1).length;

  const ours = new Set(orderIds);
  const perOrder = new Map<string, { intents: number; succeeded: number }>();
  for (const pi of await paymentIntents(opts.simUrl)) {
    const orderId = pi.metadata.orderId;
    if (!orderId || !ours.has(orderId)) continue;
    const c = perOrder.get(orderId) ?? { intents: 0, succeeded: 0 };
    c.intents++;
    if (pi.status === 'succeeded') c.succeeded++;
    perOrder.set(orderId, c);
  }
  const doubleCharged = [...perOrder.values()].filter((c) => c.succeeded > 1).length;
  const intentsPerOrderMax = Math.max(0, ...[...perOrder.values()].map((c) => c.intents));

  const audit = await auditInvariants({
    stuckAfterMs: opts.stuckAfterMs,
    orderIds: [...orderIds, ...(opts.extraOrderIds ?? [])],
    skus: [sku, ...(opts.extraSkus ?? [])],
    stripe: simulatorStripe(opts.simUrl),
  });

  const expected = Math.min(units, opts.expectedBuyers);
  const checks: Check[] = [
    { name: 'not oversold', ok: product.sold <= units && confirmed <= units, detail: `sold ${product.sold}, confirmed ${confirmed}, units ${units}` },
    {
      name: 'stock conserved',
      ok: product.available + product.reserved + product.sold === product.initialStock,
      detail: `available ${product.available} + reserved ${product.reserved} + sold ${product.sold} = ${product.available + product.reserved + product.sold} (initial ${product.initialStock})`,
    },
    { name: 'exactly min(units, buyers) confirmed', ok: confirmed === expected && product.sold === expected, detail: `confirmed ${confirmed}, sold ${product.sold}, expected ${expected}` },
    { name: 'nothing charged twice', ok: doubleCharged === 0, detail: `${doubleCharged} orders with more than one succeeded PaymentIntent; at most ${intentsPerOrderMax} PaymentIntent(s) per order` },
    {
      name: 'one order per Idempotency-Key',
      ok: keysWithTwoOrders === 0 && ordersStored === keysPlaced,
      detail: `${keysWithTwoOrders} keys answered with two orders; ${ordersStored} orders stored under the run's keys, ${keysPlaced} keys answered`,
    },
    { name: 'invariant auditor clean', ok: audit.violations.length === 0, detail: `${audit.violations.length} violations over ${audit.checked.orders} orders and ${audit.checked.products} products` },
  ];
  return {
    checks,
    confirmed,
    sold: product.sold,
    available: product.available,
    reserved: product.reserved,
    ordersStored,
    doubleCharged,
    intentsPerOrderMax,
    auditViolations: audit.violations,
  };
}
