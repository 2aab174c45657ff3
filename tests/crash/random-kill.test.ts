/**
 * The worker SIGKILLed at random moments under load, not at a named point.
 * Three rounds; in each, 30 buyers arrive for a SKU with 10 units (all at
 * once, then one every ~20 ms, then every ~10 ms), and the worker is killed
 * after a random 100–800 ms, while buyers are arriving and being reserved,
 * rejected and sent to payment, then restarted. Whatever the kills
 * interrupted, each SKU must end with exactly 10 orders holding stock and
 * waiting for payment (one PaymentIntent each), 20 REJECTED, stock conserved,
 * and every history a legal path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Order, type OrderDoc } from '../../prisma-free-models';
import { placeOrder } from '../../src/server/orders/place-order';
import { cartWith, customer, newKey, seedProduct, stockOf, waitFor } from '../helpers';
import {
  auditIfAvailable,
  expectLegalHistories,
  expectOneIntent,
  expectStockConserved,
  intentsOf,
  killWorker,
  newPrefix,
  prefixedDeps,
  sleep,
  startReadyWorker,
  stopAllWorkers,
  type PrefixedDeps,
} from './harness';

let m: PrefixedDeps | undefined;
afterEach(async () => {
  await stopAllWorkers();
  await m?.close();
  m = undefined;
});

const ROUNDS = 3;
const UNITS = 10;
const ORDERS = 30;
/** How the buyers of each round arrive: all at once, or one every n ms (plus the time placeOrder takes). */
const ARRIVALS: ('burst' | number)[] = ['burst', 20, 10];

async function stateCounts(orderIds: string[]): Promise<Record<string, number>> {
  const docs = await Order.find({ _id: { $in: orderIds } }, { state: 1 }).lean<Pick<OrderDoc, 'state'>[]>();
  const counts: Record<string, number> = {};
  for (const d of docs) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return counts;
}

async function cartsFor(sku: string, n: number): Promise<string[]> {
  const carts: string[] = [];
  for (let i = 0; i < n; i += 10) carts.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => cartWith([{ sku, qty: 1 }])))));
  return carts;
}

describe('worker killed at random moments under load', () => {
  it(`${ROUNDS} rounds of ${ORDERS} buyers for ${UNITS} units, each cut by a SIGKILL after a random 100–800 ms`, async () => {
    const prefix = newPrefix('chaos');
    m = prefixedDeps(prefix);
    const deps = m.deps;
    const rounds: { sku: string; carts: string[]; orderIds: string[] }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const sku = await seedProduct(UNITS);
      rounds.push({ sku, carts: await cartsFor(sku, ORDERS), orderIds: [] });
    }

    let worker = await startReadyWorker({ prefix });
    const kills: { round: number; arrival: 'burst' | number; afterMs: number; placed: number; activeJobs: number; states: Record<string, number> }[] = [];
    for (const [r, round] of rounds.entries()) {
      const started = Date.now();
      const arrival = ARRIVALS[r % ARRIVALS.length]!;
      const place = async (cartId: string) => {
        round.orderIds.push((await placeOrder({ cartId, customer, idempotencyKey: newKey() }, deps)).orderId);
      };
      const arriving = (async () => {
        if (arrival === 'burst') {
          await Promise.all(round.carts.map(place));
          return;
        }
        for (const cartId of round.carts) {
          await place(cartId);
          await sleep(arrival);
        }
      })();
      const afterMs = 100 + Math.floor(Math.random() * 700);
      await sleep(Math.max(0, started + afterMs - Date.now()));
      const activeJobs = (await m.queues.queues.reservation.getActiveCount()) + (await m.queues.queues.payment.getActiveCount());
      const exit = await killWorker(worker);
      expect(exit, `round ${r}: the worker died by SIGKILL`).toEqual({ code: null, signal: 'SIGKILL' });
      kills.push({ round: r, arrival, afterMs, placed: round.orderIds.length, activeJobs, states: await stateCounts(round.orderIds) });
      await arriving; // the rest of the buyers arrive while no worker runs
      worker = await startReadyWorker({ prefix });
    }
    console.info(`random kills: ${JSON.stringify(kills)}`);

    const allIds = rounds.flatMap((r) => r.orderIds);
    await waitFor(
      `all ${allIds.length} orders PAYMENT_PENDING or REJECTED after the last restart`,
      async () => stateCounts(allIds),
      (c) => (c.PAYMENT_PENDING ?? 0) + (c.REJECTED ?? 0) === allIds.length,
      25_000,
    );

    const winners = Math.min(UNITS, ORDERS);
    for (const { sku, orderIds } of rounds) {
      expect(orderIds).toHaveLength(ORDERS);
      const orders = await expectLegalHistories(orderIds);
      const pending = [...orders.values()].filter((o) => o.state === 'PAYMENT_PENDING');
      const rejected = [...orders.values()].filter((o) => o.state === 'REJECTED');
      expect(await stateCounts(orderIds), `${sku}: ${winners} reserved, the rest rejected`).toEqual({ PAYMENT_PENDING: winners, REJECTED: ORDERS - winners });
      for (const o of rejected) expect(o.rejection?.reason, `order ${o._id} rejected for stock`).toBe('OUT_OF_STOCK');

      const product = await stockOf(sku);
      expect(product).toMatchObject({ available: UNITS - winners, reserved: winners, sold: 0 });
      expect(product.holds.map((h) => h.orderId).sort()).toEqual(pending.map((o) => o._id).sort());
      await expectStockConserved([sku], orderIds);

      for (const o of pending) await expectOneIntent(o._id, 'requires_payment_method');
      for (const o of rejected) expect(await intentsOf(o._id), `no PaymentIntent for rejected order ${o._id}`).toEqual([]);
    }
    await auditIfAvailable(allIds, rounds.map((r) => r.sku));
  });
});
