/**
 * Every named crash point, for real: a dedicated worker (its own queue
 * prefix, so the suite's worker never takes these jobs) runs with
 * CRASH_AT=<point> and dies by SIGKILL there; the test checks what the kill
 * left half-done, restarts the worker without CRASH_AT (or, for two kills in
 * one order's life, crashing at the next point) and checks that the order
 * converged: the expected final state, stock conserved, one PaymentIntent, a
 * legal history, at most one refund, and the invariant auditor (when present)
 * clean for the test's orders and SKUs.
 *
 * Webhooks: the simulator's deliveries are held (they would go to the suite's
 * app, whose queues are not ours); the test feeds each event to the webhook
 * intake itself, which enqueues under our prefix. Late payments: the order is
 * paid before its 1 s hold runs out and the expiry finds the PaymentIntent
 * paid while settling (settleClosedOrder applies it), so the late-payment
 * steps, and their crash points, run inside the expiry job; the held webhook
 * is delivered afterwards and must change nothing. Refunds: a customer who
 * paid and then cancelled is refunded (the cancel's settling finds the
 * payment), and a payment that outlived its order's hold after the stock was
 * sold is refunded too.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { CRASH_POINTS, type CrashPoint } from '../../src/server/crash-points';
import { cancelOrder, settleClosedOrder } from '../../src/server/orders/close-order';
import { placeOrder } from '../../src/server/orders/place-order';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { transition } from '../../src/server/orders/state-machine';
import { releaseLines } from '../../src/server/inventory/stock';
import { finishStrandedTransfers, readStripes, stripeFor } from '../../src/server/inventory/stripes';
import { hashRequest } from '../../src/server/idempotency/request-idempotency';
import { orderIdFor } from '../../src/server/ids';
import type { Deps } from '../../src/server/deps';
import { reconcile } from '../../src/server/orders/reconcile';
import { jobIds } from '../../src/server/queue/queues';
import { startTs } from '../setup/processes';
import { cartWith, customer, getOrder, manualDeps, newKey, seedProduct, sim, simEvent, stockOf, waitFor, waitForState } from '../helpers';
import {
  auditIfAvailable,
  auditorRuns,
  deliverEvent,
  expectLegalHistories,
  expectNoPendingWork,
  expectOneIntent,
  expectStockConserved,
  intentsOf,
  newPrefix,
  onceFilePath,
  pollFor,
  prefixedDeps,
  refundsOf,
  startReadyWorker,
  stopAllWorkers,
  withTimeout,
  type CrashWorker,
  type PrefixedDeps,
} from './harness';

const SHORT_HOLD_MS = 1_000; // the minimum HOLD_TIME_MS the config accepts

interface CrashTest {
  prefix: string;
  m: PrefixedDeps;
  /** The worker now running (or just killed). */
  worker: CrashWorker;
  /** Waits for the current worker's death at its crash point; asserts SIGKILL and the once-file. */
  crashed(): Promise<void>;
  /**
   * Starts the worker again, same prefix and hold time: without CRASH_AT, or
   * crashing at another point (a second kill in the same order's life).
   */
  restart(crashAt?: CrashPoint): Promise<CrashWorker>;
  /** Orders of other prefixes (rivals) to close after the test. */
  cleanup: (() => Promise<void>)[];
  onceFiles: string[];
}

const covered = new Set<CrashPoint>();
let current: CrashTest | undefined;

async function crashTest(point: CrashPoint, opts: { holdTimeMs?: number } = {}): Promise<CrashTest> {
  const prefix = newPrefix();
  const m = prefixedDeps(prefix, opts.holdTimeMs);
  let phase: { point?: CrashPoint; onceFile?: string } = {};
  const t: CrashTest = {
    prefix,
    m,
    worker: undefined as unknown as CrashWorker,
    cleanup: [],
    onceFiles: [],
    crashed: async () => {
      const { point: at, onceFile } = phase;
      if (!at || !onceFile) throw new Error('this worker was started without CRASH_AT');
      const exit = await withTimeout(t.worker.exit, 20_000, `the worker to be killed at ${at}`);
      expect(exit, `worker exit at ${at}`).toEqual({ code: null, signal: 'SIGKILL' });
      expect(readFileSync(onceFile, 'utf8'), 'CRASH_ONCE_FILE names the point that killed the worker').toBe(at);
    },
    restart: async (crashAt) => {
      phase = {};
      if (crashAt) {
        covered.add(crashAt);
        phase = { point: crashAt, onceFile: onceFilePath(`${prefix}-${t.onceFiles.length}`) };
        t.onceFiles.push(phase.onceFile!);
      }
      t.worker = await startReadyWorker({ prefix, crashAt, onceFile: phase.onceFile, holdTimeMs: opts.holdTimeMs });
      return t.worker;
    },
  };
  current = t;
  await t.restart(point);
  return t;
}

beforeAll(async () => {
  await sim.configure({ hold: true });
});
afterEach(async () => {
  await stopAllWorkers();
  const t = current;
  current = undefined;
  if (!t) return;
  for (const c of t.cleanup) await c().catch(() => undefined);
  await t.m.close();
  for (const f of t.onceFiles) rmSync(f, { force: true });
});
afterAll(async () => {
  await sim.configure({ hold: false });
});

// ---------------------------------------------------------------- driving orders

async function place(t: CrashTest, lines: { sku: string; qty: number }[]) {
  return placeOrder({ cartId: await cartWith(lines), customer, idempotencyKey: newKey() }, t.m.deps);
}

const holdsOf = async (sku: string, orderId: string) => (await stockOf(sku)).holds.filter((h) => h.orderId === orderId);

/** Placed, reserved and sent to payment by the worker; paid at the simulator; its success webhook held. */
async function paidOrderWebhookHeld(t: CrashTest, lines: { sku: string; qty: number }[]) {
  const placed = await place(t, lines);
  const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING'], 20_000);
  const pi = pending.paymentIntentId!;
  expect((await sim.pay(pi)).status).toBe('succeeded');
  return { ...placed, pi };
}

/** As paidOrderWebhookHeld, and the success fed to our intake. */
async function paidOrder(t: CrashTest, lines: { sku: string; qty: number }[]) {
  const paid = await paidOrderWebhookHeld(t, lines);
  const event = await simEvent('payment_intent.succeeded', paid.pi);
  await deliverEvent(t.m.deps, event);
  return { ...paid, event };
}

/**
 * Placed and sent to payment by the worker (hold time 1 s), then paid at the
 * simulator before the hold runs out; the success webhook stays held. Since
 * settling a closed order applies a PaymentIntent it finds paid
 * (settleClosedOrder, commit 91e5f0d), the expiry itself turns this into a
 * late payment: the late-payment steps run inside the expiry job, and the
 * held webhook, delivered later, must be a harmless duplicate.
 */
async function paidBeforeExpiry(t: CrashTest, lines: { sku: string; qty: number }[]) {
  const placed = await place(t, lines);
  const pending = await pollFor(
    `order ${placed.orderId} to get its PaymentIntent`,
    () => getOrder(placed.orderId),
    (o) => Boolean(o.paymentIntentId) || (o.state !== 'CREATED' && o.state !== 'INVENTORY_RESERVED'),
    15_000,
  );
  const pi = pending.paymentIntentId;
  if (!pi || pending.state !== 'PAYMENT_PENDING') throw new Error(`setup race lost: order ${placed.orderId} is ${pending.state} before it could be paid`);
  const paid = await sim.pay(pi).catch((err: Error) => {
    throw new Error(`setup race lost: could not pay ${pi} before the 1 s hold ran out (${err.message})`);
  });
  expect(paid.status).toBe('succeeded');
  return { ...placed, pi };
}

/** The held success webhook, delivered at last: one more duplicate, nothing changes. */
async function expectLateWebhookIsDuplicate(t: CrashTest, orderId: string, pi: string) {
  const before = await getOrder(orderId);
  const event = await simEvent('payment_intent.succeeded', pi);
  await deliverEvent(t.m.deps, event);
  const stored = await waitFor(`event ${event.id} processed`, () => WebhookEvent.findById(event.id).lean(), (e) => Boolean(e?.processedAt), 15_000);
  expect(stored?.outcome, 'the late webhook changes nothing').toBe('already-done');
  const after = await getOrder(orderId);
  expect(after.state).toBe(before.state);
  expect(after.history).toHaveLength(before.history.length);
}

/**
 * Another buyer takes `qty` of `sku`: reserved in-process under a prefix no
 * worker consumes and with a long hold, so it keeps the stock for the test.
 * Cancelled and settled after the test.
 */
async function rivalTakes(t: CrashTest, sku: string, qty: number): Promise<string> {
  const parked = prefixedDeps(newPrefix('parked'), 10 * 60_000);
  const rival = await placeOrder({ cartId: await cartWith([{ sku, qty }]), customer, idempotencyKey: newKey() }, parked.deps);
  expect(await reserveOrder(rival.orderId, parked.deps)).toBe('applied');
  t.cleanup.push(async () => {
    await cancelOrder(rival.orderId, rival.accessToken, parked.deps);
    await settleClosedOrder(rival.orderId, parked.deps);
    await parked.close();
  });
  return rival.orderId;
}

/** The checks every crash test ends with. */
async function expectConverged(orderIds: string[], skus: string[]) {
  await expectStockConserved(skus, orderIds);
  await expectLegalHistories(orderIds);
  await auditIfAvailable(orderIds, skus);
}

// ---------------------------------------------------------------- the tests

describe('reserve:after-holds', () => {
  it('holds taken, state not written: the restarted worker reserves once and requests payment', async () => {
    const t = await crashTest('reserve:after-holds');
    const sku = await seedProduct(3);
    const { orderId } = await place(t, [{ sku, qty: 2 }]);
    await t.crashed();

    expect((await getOrder(orderId)).state).toBe('CREATED');
    expect(await holdsOf(sku, orderId)).toEqual([expect.objectContaining({ ref: 'r1', qty: 2 })]);

    await t.restart();
    const pending = await waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
    expect(pending.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING']);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 2, sold: 0 });
    await expectOneIntent(orderId, 'requires_payment_method');
    await expectConverged([orderId], [sku]);
  });

  it('a multi-line order that cannot be filled: nothing stays held and it ends REJECTED', async () => {
    const t = await crashTest('reserve:after-holds');
    // Lines are held in SKU order: the first is held, the last cannot be. The first is given back
    // only after the rejection is written (a twin run may have reserved meanwhile), so the kill leaves it held.
    // Both with 6 units: which SKU sorts first is random, and either line is covered when placed.
    const [first, last] = [await seedProduct(6), await seedProduct(6)].sort() as [string, string];
    const lines = [
      { sku: first, qty: 2 },
      { sku: last, qty: 6 },
    ];
    // Placed while the stock covers it (a shortfall placeOrder sees is rejected there, with no reservation),
    // on a queue no worker reads; then a rival holds a unit of the last line, and only then does the worker reserve.
    const held = manualDeps();
    try {
      const { orderId } = await placeOrder({ cartId: await cartWith(lines), customer, idempotencyKey: newKey() }, held.deps);
      const rival = await placeOrder({ cartId: await cartWith([{ sku: last, qty: 1 }]), customer, idempotencyKey: newKey() }, held.deps);
      expect(await reserveOrder(rival.orderId, held.deps)).toBe('applied');
      await t.m.deps.enqueuer.reserve(orderId);
      await t.crashed();

      expect((await getOrder(orderId)).state).toBe('CREATED');
      expect(await holdsOf(first, orderId)).toEqual([expect.objectContaining({ ref: 'r1', qty: 2 })]);
      expect(await holdsOf(last, orderId)).toEqual([]);

      await t.restart();
      const rejected = await waitForState(orderId, ['REJECTED'], 20_000);
      await waitFor(`order ${orderId} gave its stock back`, () => getOrder(orderId), (o) => !o.pendingRelease, 10_000);
      expect(rejected.rejection).toMatchObject({ reason: 'OUT_OF_STOCK', sku: last });
      expect(await stockOf(first)).toMatchObject({ available: 6, reserved: 0, sold: 0, holds: [] });
      expect(await stockOf(last)).toMatchObject({ available: 5, reserved: 1, sold: 0, holds: [expect.objectContaining({ orderId: rival.orderId })] });
      expect(await intentsOf(orderId)).toEqual([]);
      await expectConverged([orderId, rival.orderId], [first, last]);
    } finally {
      await held.close();
    }
  });

  it('the customer cancels while the worker is down: the stock taken before the crash comes back', async () => {
    const t = await crashTest('reserve:after-holds');
    const sku = await seedProduct(2);
    const { orderId, accessToken } = await place(t, [{ sku, qty: 2 }]);
    await t.crashed();
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 2 });

    expect((await cancelOrder(orderId, accessToken, t.m.deps)).state).toBe('CANCELLED');
    await t.restart();
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease, 20_000);
    await waitFor(`${sku} stock back`, () => stockOf(sku), (p) => p.available === 2, 20_000);
    expect((await getOrder(orderId)).state).toBe('CANCELLED');
    expect(await intentsOf(orderId)).toEqual([]);
    await expectConverged([orderId], [sku]);
  });
});

describe('request-payment:after-intent', () => {
  it('PaymentIntent created, id not stored: the retry gets the same PaymentIntent back', async () => {
    const t = await crashTest('request-payment:after-intent');
    const sku = await seedProduct(2);
    const { orderId } = await place(t, [{ sku, qty: 1 }]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('INVENTORY_RESERVED');
    expect(half.paymentIntentId).toBeUndefined();
    const created = await expectOneIntent(orderId, 'requires_payment_method');

    await t.restart();
    const pending = await waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
    expect(pending.paymentIntentId).toBe(created.id);
    await expectOneIntent(orderId, 'requires_payment_method');
    await expectConverged([orderId], [sku]);
  });

  it('the customer cancels while the worker is down: the PaymentIntent created before the crash is cancelled too', async () => {
    const t = await crashTest('request-payment:after-intent');
    const sku = await seedProduct(2);
    const { orderId, accessToken } = await place(t, [{ sku, qty: 1 }]);
    await t.crashed();
    const created = await expectOneIntent(orderId, 'requires_payment_method');
    expect((await getOrder(orderId)).paymentIntentId).toBeUndefined();

    expect((await cancelOrder(orderId, accessToken, t.m.deps)).state).toBe('CANCELLED');
    await t.restart();
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 20_000);
    expect(await stockOf(sku)).toMatchObject({ available: 2, reserved: 0 });
    // README: "CANCELLED, holds released, PaymentIntent cancelled". The intent
    // exists at Stripe (created before the kill) and must not stay payable.
    const final = await pollFor(
      `PaymentIntent ${created.id} of the cancelled order ${orderId} to be canceled (it was created before the crash; the order never recorded it)`,
      async () => (await intentsOf(orderId)).map((i) => `${i.id}:${i.status}`),
      (list) => list.length === 1 && list[0] === `${created.id}:canceled`,
      10_000,
      200,
    );
    expect(final).toEqual([`${created.id}:canceled`]);
    expect((await getOrder(orderId)).paymentIntentId, 'the cancelled order records its PaymentIntent').toBe(created.id);
    await expectConverged([orderId], [sku]);
  });
});

describe('mark-paid:after-paid', () => {
  it('order PAID, not finalized, the event not marked processed: the event job run again confirms it', async () => {
    const t = await crashTest('mark-paid:after-paid');
    const sku = await seedProduct(3);
    const { orderId, pi, event } = await paidOrder(t, [{ sku, qty: 2 }]);
    await t.crashed();

    expect((await getOrder(orderId)).state).toBe('PAID');
    expect(await stockOf(sku)).toMatchObject({ reserved: 2, sold: 0 });
    expect((await WebhookEvent.findById(event.id).lean())?.processedAt).toBeUndefined();

    await t.restart();
    const done = await waitForState(orderId, ['CONFIRMED'], 20_000);
    expect(done.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED']);
    const stored = await waitFor(`event ${event.id} processed`, () => WebhookEvent.findById(event.id).lean(), (e) => Boolean(e?.processedAt), 10_000);
    expect(stored?.outcome).toBe('already-done');
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 2, holds: [] });
    expect((await expectOneIntent(orderId, 'succeeded')).id).toBe(pi);
    await expectConverged([orderId], [sku]);
  });
});

describe('process-event:after-apply', () => {
  it('order confirmed but the event not marked processed: applied again harmlessly', async () => {
    const t = await crashTest('process-event:after-apply');
    const sku = await seedProduct(3);
    const { orderId, pi, event } = await paidOrder(t, [{ sku, qty: 2 }]);
    await t.crashed();

    expect((await getOrder(orderId)).state).toBe('CONFIRMED');
    expect((await WebhookEvent.findById(event.id).lean())?.processedAt).toBeUndefined();

    await t.restart();
    const done = await waitForState(orderId, ['CONFIRMED'], 20_000);
    expect(done.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED']);
    expect(done.payment?.succeededEventId).toBe(event.id);
    const stored = await waitFor(`event ${event.id} processed`, () => WebhookEvent.findById(event.id).lean(), (e) => Boolean(e?.processedAt), 10_000);
    expect(stored?.outcome).toBe('already-done');
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 2, holds: [] });
    expect((await expectOneIntent(orderId, 'succeeded')).id).toBe(pi);
    expect(await refundsOf(pi)).toEqual([]);
    await expectConverged([orderId], [sku]);
  });
});

describe('finalize', () => {
  it('finalize:after-first-line: one line sold, the other still held; each is sold exactly once', async () => {
    const t = await crashTest('finalize:after-first-line');
    const a = await seedProduct(4);
    const b = await seedProduct(4);
    const { orderId, pi } = await paidOrder(t, [
      { sku: a, qty: 2 },
      { sku: b, qty: 1 },
    ]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('PAID');
    const [firstLine, secondLine] = half.lines;
    expect(await stockOf(firstLine!.sku)).toMatchObject({ reserved: 0, sold: firstLine!.qty, holds: [] });
    expect(await stockOf(secondLine!.sku)).toMatchObject({ reserved: secondLine!.qty, sold: 0 });

    await t.restart();
    await waitForState(orderId, ['CONFIRMED'], 20_000);
    expect(await stockOf(a)).toMatchObject({ available: 2, reserved: 0, sold: 2, holds: [] });
    expect(await stockOf(b)).toMatchObject({ available: 3, reserved: 0, sold: 1, holds: [] });
    expect((await expectOneIntent(orderId, 'succeeded')).id).toBe(pi);
    await expectConverged([orderId], [a, b]);
  });

  it('finalize:after-sell: everything sold, state not written: confirmed without selling twice', async () => {
    const t = await crashTest('finalize:after-sell');
    const a = await seedProduct(4);
    const b = await seedProduct(4);
    const { orderId } = await paidOrder(t, [
      { sku: a, qty: 1 },
      { sku: b, qty: 3 },
    ]);
    await t.crashed();

    expect((await getOrder(orderId)).state).toBe('PAID');
    expect(await stockOf(a)).toMatchObject({ reserved: 0, sold: 1, holds: [] });
    expect(await stockOf(b)).toMatchObject({ reserved: 0, sold: 3, holds: [] });

    await t.restart();
    const done = await waitForState(orderId, ['CONFIRMED'], 20_000);
    expect(done.history.filter((h) => h.to === 'CONFIRMED')).toHaveLength(1);
    expect(await stockOf(a)).toMatchObject({ available: 3, reserved: 0, sold: 1 });
    expect(await stockOf(b)).toMatchObject({ available: 1, reserved: 0, sold: 3 });
    await expectOneIntent(orderId, 'succeeded');
    await expectConverged([orderId], [a, b]);
  });
});

describe('transfers between stripes', () => {
  /** Places an order for one unit of `sku` whose line lands on `stripe` (keys tried until one does: the stripe follows the order id). */
  async function placeOnStripe(t: CrashTest, sku: string, stripes: number, stripe: number) {
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const requestHash = hashRequest({ cartId, customer });
    let key = newKey();
    while (stripeFor(orderIdFor(key, requestHash), sku, stripes) !== stripe) key = newKey();
    return placeOrder({ cartId, customer, idempotencyKey: key }, t.m.deps);
  }

  /** A product with 4 units on stripe 0 of two stripes, and an order for one on stripe 1 that the worker reserving it dies for at `point`. */
  async function killedPullingUnits(point: CrashPoint) {
    const t = await crashTest(point);
    const sku = await seedProduct(4, undefined, { stripes: 2 });
    const { orderId } = await placeOnStripe(t, sku, 2, 1);
    await t.crashed();
    expect((await getOrder(orderId)).state).toBe('CREATED');
    const left = await readStripes(sku);
    // Half of stripe 0 taken for stripe 1.
    expect(left?.stripes[0]).toMatchObject({ available: 2, xfer: { seq: 1, to: 1, qty: 2 } });
    return { t, sku, orderId, left };
  }

  it('transfer:after-take: units taken from stripe 0 for stripe 1, credited nowhere; the restarted worker finishes the transfer and holds', async () => {
    const { t, sku, orderId, left } = await killedPullingUnits('transfer:after-take');
    expect(left?.stripes[1]).toMatchObject({ available: 0 });

    await t.restart();
    await waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
    const after = await readStripes(sku);
    expect(after?.stripes.map((s) => ({ available: s.available, reserved: s.reserved, xfer: s.xfer }))).toEqual([
      { available: 2, reserved: 0, xfer: null },
      { available: 1, reserved: 1, xfer: null },
    ]);
    expect(await stockOf(sku)).toMatchObject({ initialStock: 4, available: 3, reserved: 1, sold: 0 });
    await expectConverged([orderId], [sku]);
  });

  it('transfer:after-credit: stripe 1 credited, the transfer not cleared on stripe 0; finished without crediting twice', async () => {
    const { t, sku, orderId, left } = await killedPullingUnits('transfer:after-credit');
    expect(left?.stripes[1]).toMatchObject({ available: 2, credited: { s0: 1 } });
    // Counted once while both documents show it: the transfer is credited.
    expect(await stockOf(sku)).toMatchObject({ available: 4 });

    await t.restart();
    await waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
    // The hold found its units on stripe 1 and needed no transfer: the record on stripe 0 waits for the sweep.
    expect(await stockOf(sku)).toMatchObject({ initialStock: 4, available: 3, reserved: 1, sold: 0 });
    expect(await finishStrandedTransfers(100)).toBeGreaterThanOrEqual(1);
    const after = await readStripes(sku);
    expect(after?.stripes.map((s) => ({ available: s.available, reserved: s.reserved, xfer: s.xfer }))).toEqual([
      { available: 2, reserved: 0, xfer: null },
      { available: 1, reserved: 1, xfer: null },
    ]);
    await expectConverged([orderId], [sku]);
  });
});

describe('expiry and release', () => {
  it('expire:after-transition: EXPIRED with its closing work recorded but not done; done after restart', async () => {
    const t = await crashTest('expire:after-transition', { holdTimeMs: SHORT_HOLD_MS });
    const sku = await seedProduct(3);
    const { orderId } = await place(t, [{ sku, qty: 2 }]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('EXPIRED');
    expect(half.pendingRelease).toBe('r1');
    expect(await holdsOf(sku, orderId)).toEqual([expect.objectContaining({ ref: 'r1', qty: 2 })]);

    await t.restart();
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 20_000);
    expect((await getOrder(orderId)).state).toBe('EXPIRED');
    expect(await stockOf(sku)).toMatchObject({ available: 3, reserved: 0, sold: 0, holds: [] });
    await expectOneIntent(orderId, 'canceled');
    await expectNoPendingWork(orderId);
    await expectConverged([orderId], [sku]);
  });

  it('expire:after-transition while paid: the webhook (queued while the worker is down) and the expiry’s own discovery of the payment race for the holds expiry left; accepted once', async () => {
    const t = await crashTest('expire:after-transition', { holdTimeMs: SHORT_HOLD_MS });
    const sku = await seedProduct(1);
    const { orderId, pi } = await paidBeforeExpiry(t, [{ sku, qty: 1 }]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('EXPIRED');
    expect(half.pendingRelease).toBe('r1');
    expect(await holdsOf(sku, orderId)).toEqual([expect.objectContaining({ ref: 'r1', qty: 1 })]);
    // The success arrives while no worker runs: recorded and queued, applied after the restart,
    // racing the expiry's unfinished release of the same (last) unit.
    const webhook = await simEvent('payment_intent.succeeded', pi);
    await deliverEvent(t.m.deps, webhook);

    await t.restart();
    const done = await waitForState(orderId, ['CONFIRMED'], 20_000);
    for (const id of [webhook.id, `reconcile:${pi}`]) {
      await waitFor(`event ${id} processed`, () => WebhookEvent.findById(id).lean(), (e) => !e || Boolean(e.processedAt), 10_000);
    }
    expect(done.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'EXPIRED', 'PAID', 'CONFIRMED']);
    expect(done.holdRef).toBe('late');
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 10_000);
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 0, sold: 1, holds: [] });
    expect((await expectOneIntent(orderId, 'succeeded')).id).toBe(pi);
    expect(await refundsOf(pi)).toEqual([]);
    await expectConverged([orderId], [sku]);
  });

  it('release:after-holds (expiry): holds given back, marker not cleared; the PaymentIntent is cancelled after restart', async () => {
    const t = await crashTest('release:after-holds', { holdTimeMs: SHORT_HOLD_MS });
    const sku = await seedProduct(3);
    const { orderId } = await place(t, [{ sku, qty: 1 }]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('EXPIRED');
    expect(half.pendingRelease).toBe('r1');
    expect(await holdsOf(sku, orderId)).toEqual([]);

    await t.restart();
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 20_000);
    expect(await stockOf(sku)).toMatchObject({ available: 3, reserved: 0, sold: 0, holds: [] });
    await expectOneIntent(orderId, 'canceled');
    await expectConverged([orderId], [sku]);
  });

  it('release:after-holds (cancel): the customer’s cancel finishes after the restart', async () => {
    const t = await crashTest('release:after-holds');
    const sku = await seedProduct(3);
    const { orderId, accessToken } = await place(t, [{ sku, qty: 2 }]);
    await waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
    expect((await cancelOrder(orderId, accessToken, t.m.deps)).state).toBe('CANCELLED');
    await t.crashed();

    // The PaymentIntent is settled first (cancelled), then the stock: the kill came between releasing it and clearing the marker.
    const half = await getOrder(orderId);
    expect(half.pendingRelease).toBe('r1');
    expect(half.pendingIntentCancel).toBeUndefined();
    await expectOneIntent(orderId, 'canceled');
    expect(await holdsOf(sku, orderId)).toEqual([]);

    await t.restart();
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 20_000);
    expect((await getOrder(orderId)).state).toBe('CANCELLED');
    expect(await stockOf(sku)).toMatchObject({ available: 3, reserved: 0, holds: [] });
    await expectOneIntent(orderId, 'canceled');
    await expectConverged([orderId], [sku]);
  });
});

describe('late payment', () => {
  it('late-payment:after-reserve (stock still there): expiry finds the payment, holds the stock again and dies before deciding; accepted and confirmed after restart', async () => {
    const t = await crashTest('late-payment:after-reserve', { holdTimeMs: SHORT_HOLD_MS });
    const sku = await seedProduct(2);
    const { orderId, pi } = await paidBeforeExpiry(t, [{ sku, qty: 1 }]);
    await t.crashed();

    const half = await getOrder(orderId);
    expect(half.state).toBe('EXPIRED');
    expect(half.lateDecision).toBeUndefined();
    expect(half.pendingIntentCancel).toBe(true);
    expect(await holdsOf(sku, orderId)).toEqual([expect.objectContaining({ ref: 'late', qty: 1 })]);
    expect((await WebhookEvent.findById(`reconcile:${pi}`).lean())?.processedAt).toBeUndefined();

    await t.restart();
    const done = await waitForState(orderId, ['CONFIRMED'], 20_000);
    expect(done.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'EXPIRED', 'PAID', 'CONFIRMED']);
    expect(done.lateDecision).toBe('accept');
    expect(done.holdRef).toBe('late');
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 10_000);
    await expectLateWebhookIsDuplicate(t, orderId, pi);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 1, holds: [] });
    expect((await expectOneIntent(orderId, 'succeeded')).id).toBe(pi);
    expect(await refundsOf(pi)).toEqual([]);
    await expectConverged([orderId], [sku]);
  });

  it('late-payment:after-reserve (stock gone): a payment that outlived the hold, its stock sold meanwhile; killed before deciding; refunded once', async () => {
    const t = await crashTest('late-payment:after-reserve');
    const sku = await seedProduct(1);
    const placed = await place(t, [{ sku, qty: 1 }]);
    const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING'], 20_000);
    const pi = pending.paymentIntentId!;
    // The order expired and gave its stock back while the payment was still
    // on its way (a slow payment method), then it succeeded anyway.
    await transition(placed.orderId, { from: 'PAYMENT_PENDING', to: 'EXPIRED', set: { closeReason: 'payment not received in time' } });
    await releaseLines(placed.orderId, pending.holdRef, pending.lines);
    const rival = await rivalTakes(t, sku, 1);
    expect((await sim.pay(pi)).status).toBe('succeeded');
    await deliverEvent(t.m.deps, await simEvent('payment_intent.succeeded', pi));
    await t.crashed();
    const half = await getOrder(placed.orderId);
    expect(half.state).toBe('EXPIRED');
    expect(half.lateDecision).toBeUndefined();
    expect(await holdsOf(sku, placed.orderId)).toEqual([]);
    expect(await refundsOf(pi)).toEqual([]);

    await t.restart();
    const refunded = await waitForState(placed.orderId, ['REFUNDED'], 20_000);
    await expectRefundedOnce(placed.orderId, pi, refunded.totalMinor, 'EXPIRED');
    await expectOneIntent(placed.orderId, 'succeeded');
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 1, sold: 0 });
    await expectConverged([placed.orderId, rival], [sku]);
  });

  it('late-payment:after-refund: the customer paid, then cancelled; refunded at Stripe, state not written; the retry refunds nothing more', async () => {
    const t = await crashTest('late-payment:after-refund');
    const sku = await seedProduct(1);
    const { orderId, accessToken, pi } = await paidOrderWebhookHeld(t, [{ sku, qty: 1 }]);
    // The cancel wins the race with the (held) success webhook: settling it finds the payment.
    expect((await cancelOrder(orderId, accessToken, t.m.deps)).state).toBe('CANCELLED');
    await t.crashed();
    const half = await getOrder(orderId);
    expect(half.state).toBe('CANCELLED');
    expect(half.lateDecision).toBe('refund');
    expect(half.refund?.id).toBeUndefined();
    expect(await refundsOf(pi)).toHaveLength(1);

    await t.restart();
    const refunded = await waitForState(orderId, ['REFUNDED'], 20_000);
    await expectRefundedOnce(orderId, pi, refunded.totalMinor, 'CANCELLED');
    await waitFor(`order ${orderId} settled`, () => getOrder(orderId), (o) => !o.pendingRelease && !o.pendingIntentCancel, 10_000);
    await expectLateWebhookIsDuplicate(t, orderId, pi);
    await expectRefundedOnce(orderId, pi, refunded.totalMinor, 'CANCELLED');
    await expectOneIntent(orderId, 'succeeded');
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 0, holds: [] });
    await expectConverged([orderId], [sku]);
  });
});

/**
 * placeOrder as the web app runs it, in a process of its own
 * (place-order-child.ts) that dies at `crashAt`: the cart, key and order id,
 * and the process's exit.
 */
async function placeInDyingProcess(prefix: string, lines: { sku: string; qty: number }[], crashAt: CrashPoint) {
  covered.add(crashAt);
  const cartId = await cartWith(lines);
  const key = newKey();
  const onceFile = onceFilePath(`${prefix}-placer`);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, QUEUE_PREFIX: prefix, CRASH_AT: crashAt, CRASH_ONCE_FILE: onceFile, PLACE_ORDER: JSON.stringify({ cartId, key, customer }) };
  const placer = startTs(`crash/${prefix}-placer-${crashAt.replace(/:/g, '_')}`, 'tests/crash/place-order-child.ts', childEnv);
  const exit = await withTimeout(
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => placer.child.once('exit', (code, signal) => resolve({ code, signal }))),
    30_000,
    `placeOrder's process to die at ${crashAt}`,
  );
  rmSync(onceFile, { force: true });
  return { cartId, key, orderId: orderIdFor(key, hashRequest({ cartId, customer })), exit };
}

/** The enqueuer, passing on only what concerns `orderId`: a reconciler pass also re-drives other tests' orders, which are not this test's to move. */
function onlyFor(orderId: string, enqueuer: Deps['enqueuer']): Deps['enqueuer'] {
  return new Proxy(enqueuer, {
    get: (target, prop, receiver) => {
      const real = Reflect.get(target, prop, receiver) as unknown;
      if (typeof real !== 'function') return real;
      return (id: unknown, ...rest: unknown[]) => (id === orderId ? (real as (...a: unknown[]) => unknown).call(target, id, ...rest) : Promise.resolve());
    },
  });
}

/** A reconciler pass (kept to `orderId`) enqueues the payment job, and a worker under the prefix runs it. */
async function reconcileToPayable(m: PrefixedDeps, orderId: string) {
  await reconcile({ ...m.deps, enqueuer: onlyFor(orderId, m.deps.enqueuer) }, { stuckAfterMs: 0, idempotencyKeyTtlMs: 24 * 3600_000, purgeKeys: false, sweepStrayHolds: false });
  expect(await m.queues.queues.payment.getJob(jobIds.requestPayment(orderId)), 'the payment job, enqueued by the reconciler').toBeDefined();
  await startReadyWorker({ prefix: m.prefix });
  return waitForState(orderId, ['PAYMENT_PENDING'], 20_000);
}

/**
 * A product of `stock` units, an order of `qty` placed in a process killed at
 * `crashAt` (asserted), then `check` on what it left; a worker started by
 * `check` is stopped after.
 */
async function afterKilledPlacer(crashAt: CrashPoint, stock: number, qty: number, check: (killed: { m: PrefixedDeps; sku: string; orderId: string }) => Promise<void>) {
  const prefix = newPrefix();
  const m = prefixedDeps(prefix);
  try {
    const sku = await seedProduct(stock);
    const { orderId, exit } = await placeInDyingProcess(prefix, [{ sku, qty }], crashAt);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    await check({ m, sku, orderId });
  } finally {
    await stopAllWorkers();
    await m.close();
  }
}

describe('placeOrder asking for the PaymentIntent at placement', () => {
  it('place-order:before-payment: killed after the reservation: the reconciler hands the order to the payment job, one PaymentIntent', () =>
    afterKilledPlacer('place-order:before-payment', 3, 2, async ({ m, sku, orderId }) => {
      // Reserved, the payment step's mark written with the state, nothing asked of Stripe, no payment job: only the expiry.
      const half = await getOrder(orderId);
      expect(half.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED']);
      expect(half.paymentRequestedAt).toBeInstanceOf(Date);
      expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 2 });
      expect(await intentsOf(orderId)).toEqual([]);
      expect(await m.queues.queues.payment.getJob(jobIds.requestPayment(orderId))).toBeUndefined();
      expect(await m.queues.queues.expiry.getJob(jobIds.expire(orderId))).toBeDefined();

      const pending = await reconcileToPayable(m, orderId);
      expect(pending.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING']);
      const intent = await expectOneIntent(orderId, 'requires_payment_method');
      expect(pending.paymentIntentId).toBe(intent.id);
      await expectConverged([orderId], [sku]);
    }));

  it('request-payment:after-intent, reached in placeOrder: the PaymentIntent created, its id not stored: the job gets the same one back', () =>
    afterKilledPlacer('request-payment:after-intent', 2, 1, async ({ m, sku, orderId }) => {
      const half = await getOrder(orderId);
      expect(half.state).toBe('INVENTORY_RESERVED');
      expect(half.paymentIntentId).toBeUndefined();
      const created = await expectOneIntent(orderId, 'requires_payment_method');

      const pending = await reconcileToPayable(m, orderId);
      expect(pending.paymentIntentId).toBe(created.id);
      await expectOneIntent(orderId, 'requires_payment_method');
      await expectConverged([orderId], [sku]);
    }));
});

async function expectRefundedOnce(orderId: string, pi: string, totalMinor: number, closedAs: 'EXPIRED' | 'CANCELLED') {
  const order = await getOrder(orderId);
  expect(order.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', closedAs, 'REFUNDED']);
  expect(order.lateDecision).toBe('refund');
  const refunds = await refundsOf(pi);
  expect(refunds.map((r) => r.id), `exactly one refund for ${pi}`).toHaveLength(1);
  expect(order.refund?.id).toBe(refunds[0]!.id);
  expect(refunds[0]!.amount).toBe(totalMinor);
}

describe('coverage', () => {
  it('has a crash test for every crash point in CRASH_POINTS', () => {
    expect([...CRASH_POINTS].filter((p) => !covered.has(p))).toEqual([]);
    console.info(`invariant auditor: ${auditorRuns() > 0 ? `ran after ${auditorRuns()} crash tests, no violations` : 'not present (src/server/audit/invariants.ts), skipped'}`);
  });
});
