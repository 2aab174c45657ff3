/**
 * The invariant auditor (src/server/audit, scripts/invariants.ts) against
 * data the real system produced: a confirmed two-line order, a rejected one,
 * a pending one, a cancelled one, a late payment refunded because its stock
 * was sold meanwhile (and the order that bought it). All of it must audit
 * clean, with and without asking Stripe (the simulator). Then one kind of
 * corruption at a time, each undone afterwards: the auditor must report
 * exactly that kind; ages judged an hour later; a late payment whose webhook
 * was lost (a gap of the system the auditor finds at Stripe). Finally the
 * CLI, as a child process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenOrder, Order, Product, WebhookEvent, type OrderDoc, type WebhookEventDoc } from '../../prisma-free-models';
import { openOrderEntry } from '../../src/server/open-work/open-orders';
import { auditInvariants, type AuditOptions, type AuditReport } from '../../src/server/audit/invariants';
import { expireOrder } from '../../src/server/orders/close-order';
import { placeOrder } from '../../src/server/orders/place-order';
import { reconcile } from '../../src/server/orders/reconcile';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { transition } from '../../src/server/orders/state-machine';
import { releaseLines } from '../../src/server/inventory/stock';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { processWebhookEvent } from '../../src/server/webhooks/process-event';
import { api, cartWith, customer, env, getOrder, manualDeps, newKey, seedProduct, signedEvent, sim, simEvent, waitFor, waitForState } from '../helpers';
import { ROOT } from '../setup/processes';

let m: ReturnType<typeof manualDeps>;
const skus = { a: '', b: '', rejected: '', pending: '', cancelled: '', late: '' };
let confirmed: OrderDoc;
let rejected: OrderDoc;
let pending: OrderDoc;
let cancelled: OrderDoc;
let refunded: OrderDoc;
let rival: OrderDoc;
const orderIds = () => [confirmed, rejected, pending, cancelled, refunded, rival].map((o) => o._id);

async function place(lines: { sku: string; qty: number }[]) {
  return api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith(lines), customer });
}

/** Reserve and request payment by hand (queues no worker consumes), as in failure-paths.test.ts. */
async function pendingByHand(sku: string, holdTimeMs: number) {
  const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
  await reserveOrder(placed.orderId, { ...m.deps, holdTimeMs });
  await requestPayment(placed.orderId, m.deps);
  return getOrder(placed.orderId);
}

beforeAll(async () => {
  m = manualDeps();
  skus.a = await seedProduct(5, 129_900);
  skus.b = await seedProduct(3, 49_900);
  skus.rejected = await seedProduct(1);
  skus.pending = await seedProduct(3);
  skus.cancelled = await seedProduct(2);
  skus.late = await seedProduct(1);

  // Through the app and the worker.
  const [c, r, p, x] = await Promise.all([
    place([
      { sku: skus.a, qty: 2 },
      { sku: skus.b, qty: 1 },
    ]),
    place([{ sku: skus.rejected, qty: 2 }]),
    place([{ sku: skus.pending, qty: 1 }]),
    place([{ sku: skus.cancelled, qty: 1 }]),
  ]);
  const toPay = await waitForState(c.orderId, ['PAYMENT_PENDING']);
  await sim.pay(toPay.paymentIntentId!);
  confirmed = await waitForState(c.orderId, ['CONFIRMED']);
  rejected = await waitForState(r.orderId, ['REJECTED']);
  pending = await waitForState(p.orderId, ['PAYMENT_PENDING']);
  await waitForState(x.orderId, ['PAYMENT_PENDING']);
  await api().orders.cancel.mutate({ orderId: x.orderId, accessToken: x.accessToken });
  cancelled = await waitFor('cancel settled', () => getOrder(x.orderId), (o) => o.state === 'CANCELLED' && !o.pendingRelease && !o.pendingIntentCancel);

  // A payment after expiry whose stock was sold meanwhile: refunded. Step by step, deliveries held.
  await sim.configure({ hold: true });
  try {
    const late = await pendingByHand(skus.late, 1);
    await sim.pay(late.paymentIntentId!);
    await new Promise((r) => setTimeout(r, 5));
    // Expired and its stock released before the payment is noticed (expiry
    // itself would find the payment and accept it while stock remains).
    await transition(late._id, { from: 'PAYMENT_PENDING', to: 'EXPIRED', set: { pendingRelease: late.holdRef } });
    await releaseLines(late._id, late.holdRef, late.lines);
    await Order.updateOne({ _id: late._id }, { $unset: { pendingRelease: 1 } });
    rival = await pendingByHand(skus.late, 15 * 60_000);
    const event = await simEvent('payment_intent.succeeded', late.paymentIntentId!);
    const { body, signature } = signedEvent(m.deps, event);
    expect((await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') })).status).toBe(200);
    await processWebhookEvent(event.id, m.deps);
    refunded = await getOrder(late._id);
    expect(refunded.state).toBe('REFUNDED');
  } finally {
    await sim.configure({ hold: false });
  }
});

afterAll(async () => {
  await m.close();
});

/** Audits exactly this test's data. */
const audit = (extra: Partial<AuditOptions> = {}): Promise<AuditReport> =>
  auditInvariants({ stuckAfterMs: 60_000, orderIds: orderIds(), skus: Object.values(skus), ...extra });

const found = (r: AuditReport) => r.violations.map((v) => [v.check, v.subject]);

const succeededEvent = (order: OrderDoc, paymentIntentId: string) => {
  const id = `evt_audit_${randomBytes(6).toString('hex')}`;
  const { totalMinor: amount, currency, _id: orderId } = order;
  const object = { id: paymentIntentId, object: 'payment_intent', amount, amount_received: amount, currency, status: 'succeeded', metadata: { orderId } };
  const payload = JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', data: { object } });
  const at = new Date();
  // As processing records it: Stripe confirmed this PaymentIntent succeeded for the order.
  const verified = { paymentIntentId, status: 'succeeded', amountReceived: amount, currency, orderId, at };
  return { _id: id, type: 'payment_intent.succeeded', objectId: paymentIntentId, orderId, payload, receivedAt: at, processedAt: at, outcome: 'skipped', verified };
};

describe('invariant auditor on data the real system produced', () => {
  it('finds nothing wrong', async () => {
    expect(refunded.refund?.id).toMatch(/^re_/);
    const report = await audit();
    expect(report.violations).toEqual([]);
    expect(report.checked).toEqual({ products: 6, orders: 6 });
  });

  it('finds nothing wrong when it also asks Stripe (the simulator)', async () => {
    expect((await audit({ stripe: m.deps.stripe })).violations).toEqual([]);
  });
});

interface Corruption {
  name: string;
  check: string;
  subject: () => string;
  message: () => string | RegExp;
  corrupt: () => Promise<unknown>;
  undo: () => Promise<unknown>;
  /** Found only when Stripe is asked. */
  stripeOnly?: boolean;
}

let saved: unknown; // what a corruption took away, for its undo
const lineA = () => confirmed.lines.find((l) => l.sku === skus.a)!;
const corruptions: Corruption[] = [
  {
    name: 'stock conservation broken (available bumped)',
    check: 'stock.conservation',
    subject: () => `sku:${skus.a}`,
    message: () => 'expected initialStock 5 = available + reserved + sold, found 4 + 0 + 2 = 6',
    corrupt: () => Product.updateOne({ _id: skus.a }, { $inc: { available: 1 } }),
    undo: () => Product.updateOne({ _id: skus.a }, { $inc: { available: -1 } }),
  },
  {
    // Counters moved consistently: only the hold's owner is wrong.
    name: 'a hold for a REJECTED order',
    check: 'holds.stray',
    subject: () => `sku:${skus.rejected}`,
    message: () => new RegExp(`^hold of order ${rejected._id} \\(ref r1 qty 1 taken .*\\): expected no hold for a terminal REJECTED order`),
    corrupt: () =>
      Product.updateOne(
        { _id: skus.rejected },
        { $inc: { available: -1, reserved: 1 }, $push: { holds: { orderId: rejected._id, ref: 'r1', qty: 1, at: new Date() } } },
      ),
    undo: () => Product.updateOne({ _id: skus.rejected }, { $inc: { available: 1, reserved: -1 }, $pull: { holds: { orderId: rejected._id } } }),
  },
  {
    name: 'a PAYMENT_PENDING order whose hold is gone',
    check: 'holds.missing',
    subject: () => `order:${pending._id}`,
    message: () => `PAYMENT_PENDING order: expected a hold on ${skus.pending} with ref r1 qty 1, found none`,
    corrupt: async () => {
      saved = (await Product.findById(skus.pending).lean())!.holds.find((h) => h.orderId === pending._id);
      return Product.updateOne({ _id: skus.pending }, { $inc: { available: 1, reserved: -1 }, $pull: { holds: { orderId: pending._id } } });
    },
    undo: () => Product.updateOne({ _id: skus.pending }, { $inc: { available: -1, reserved: 1 }, $push: { holds: saved } }),
  },
  {
    name: 'a PAYMENT_PENDING order missing from the open-orders list',
    check: 'open.missing',
    subject: () => `order:${pending._id}`,
    message: () => 'expected an open-orders entry for the order (PAYMENT_PENDING), found none',
    corrupt: () => OpenOrder.deleteOne({ _id: pending._id }),
    undo: () => openOrderEntry(pending._id),
  },
  {
    name: 'reserved out of step with the holds',
    check: 'stock.reserved-sum',
    subject: () => `sku:${skus.pending}`,
    message: () => 'expected reserved = sum of holds (1 hold, qty 1), found reserved 2',
    corrupt: () => Product.updateOne({ _id: skus.pending }, { $inc: { available: -1, reserved: 1 } }),
    undo: () => Product.updateOne({ _id: skus.pending }, { $inc: { available: 1, reserved: -1 } }),
  },
  {
    name: 'a second hold of one order on one product',
    check: 'stock.duplicate-hold',
    subject: () => `sku:${skus.pending}`,
    message: () => new RegExp(`^expected at most one hold for order ${pending._id}, found 2: ref r1 qty 1 taken .*; ref r1 qty 1 taken `),
    corrupt: () =>
      Product.updateOne({ _id: skus.pending }, { $inc: { available: -1, reserved: 1 }, $push: { holds: { orderId: pending._id, ref: 'r1', qty: 1, at: new Date() } } }),
    undo: async () => {
      const p = (await Product.findById(skus.pending).lean())!;
      const [first] = p.holds.filter((h) => h.orderId === pending._id);
      return Product.updateOne({ _id: skus.pending }, { $inc: { available: 1, reserved: -1 }, $set: { holds: [...p.holds.filter((h) => h.orderId !== pending._id), first] } });
    },
  },
  {
    name: 'a hold of an order that does not exist',
    check: 'holds.unknown-order',
    subject: () => `sku:${skus.b}`,
    message: () => /^hold of order ord_0{24} \(ref r1 qty 1 taken .*\): expected an existing order, found none$/,
    corrupt: () =>
      Product.updateOne({ _id: skus.b }, { $inc: { available: -1, reserved: 1 }, $push: { holds: { orderId: `ord_${'0'.repeat(24)}`, ref: 'r1', qty: 1, at: new Date() } } }),
    undo: () => Product.updateOne({ _id: skus.b }, { $inc: { available: 1, reserved: -1 }, $pull: { holds: { orderId: `ord_${'0'.repeat(24)}` } } }),
  },
  {
    // Confirmed without its line sold: the unit went back on sale, the counters still add up.
    name: 'a CONFIRMED order whose line was never sold',
    check: 'sales.unsold',
    subject: () => `order:${confirmed._id}`,
    message: () => `CONFIRMED order: expected ${lineA().qty} × ${skus.a} sold to it, found no sale record`,
    corrupt: async () => {
      saved = { sold: (await Order.findById(confirmed._id).lean())!.sold, sales: (await Product.findById(skus.a).lean())!.sales };
      await Order.updateOne({ _id: confirmed._id }, { $pull: { sold: { sku: skus.a } } });
      return Product.updateOne({ _id: skus.a }, { $inc: { available: lineA().qty, sold: -lineA().qty }, $pull: { sales: { orderId: confirmed._id } } });
    },
    undo: async () => {
      const { sold, sales } = saved as { sold: unknown; sales: unknown };
      await Order.updateOne({ _id: confirmed._id }, { $set: { sold } });
      return Product.updateOne({ _id: skus.a }, { $inc: { available: -lineA().qty, sold: lineA().qty }, $set: { sales } });
    },
  },
  {
    name: 'a unit counted as sold that no order bought',
    check: 'stock.sold-sum',
    subject: () => `sku:${skus.b}`,
    message: () => /^expected sold \d+ = the sales recorded for it, found sales totalling \d+ \(1 on orders, 1 awaiting their order\)$/,
    corrupt: () => Product.updateOne({ _id: skus.b }, { $inc: { initialStock: 1, sold: 1 } }),
    undo: () => Product.updateOne({ _id: skus.b }, { $inc: { initialStock: -1, sold: -1 } }),
  },
  {
    name: 'a wrong payment.amountReceived on a CONFIRMED order',
    check: 'payment.record',
    subject: () => `order:${confirmed._id}`,
    message: () => `CONFIRMED order: expected payment.amountReceived ${confirmed.totalMinor} (totalMinor), found ${confirmed.totalMinor - 100}`,
    corrupt: () => Order.updateOne({ _id: confirmed._id }, { $set: { 'payment.amountReceived': confirmed.totalMinor - 100 } }),
    undo: () => Order.updateOne({ _id: confirmed._id }, { $set: { 'payment.amountReceived': confirmed.totalMinor } }),
  },
  {
    name: 'the succeeded event of a CONFIRMED order deleted',
    check: 'payment.event',
    subject: () => `order:${confirmed._id}`,
    message: () => `CONFIRMED order: expected payment.succeededEventId ${confirmed.payment!.succeededEventId} to be a stored WebhookEvent, found none`,
    corrupt: async () => {
      saved = await WebhookEvent.findById(confirmed.payment!.succeededEventId).lean();
      return WebhookEvent.deleteOne({ _id: confirmed.payment!.succeededEventId });
    },
    undo: () => WebhookEvent.create(saved as WebhookEventDoc),
  },
  {
    name: 'an illegal history entry',
    check: 'history.illegal',
    subject: () => `order:${confirmed._id}`,
    message: () => 'step 6 (CONFIRMED → PAID, mark-paid) is not a transition of the state table',
    corrupt: () =>
      Order.updateOne({ _id: confirmed._id }, { $push: { history: { from: 'CONFIRMED', to: 'PAID', action: 'mark-paid', outcome: 'applied', at: confirmed.stateChangedAt } } }),
    undo: () => Order.updateOne({ _id: confirmed._id }, { $pop: { history: 1 } }),
  },
  {
    name: 'a state set without history',
    check: 'history.illegal',
    subject: () => `order:${rejected._id}`,
    message: () => "expected the history to end in the order's state CANCELLED, found it ends in REJECTED",
    corrupt: () => Order.updateOne({ _id: rejected._id }, { $set: { state: 'CANCELLED' } }),
    undo: () => Order.updateOne({ _id: rejected._id }, { $set: { state: 'REJECTED' } }),
  },
  {
    name: 'stateChangedAt moved without a history entry',
    check: 'history.timestamp',
    subject: () => `order:${confirmed._id}`,
    message: () =>
      `expected stateChangedAt = last history entry's at ${confirmed.stateChangedAt.toISOString()}, found ${new Date(confirmed.stateChangedAt.getTime() + 1000).toISOString()}`,
    corrupt: () => Order.updateOne({ _id: confirmed._id }, { $set: { stateChangedAt: new Date(confirmed.stateChangedAt.getTime() + 1000) } }),
    undo: () => Order.updateOne({ _id: confirmed._id }, { $set: { stateChangedAt: confirmed.stateChangedAt } }),
  },
  {
    name: 'a REFUNDED order without its refund id',
    check: 'refund.record',
    subject: () => `order:${refunded._id}`,
    message: () => 'REFUNDED order: expected refund.id, found none',
    corrupt: () => Order.updateOne({ _id: refunded._id }, { $unset: { 'refund.id': 1 } }),
    undo: () => Order.updateOne({ _id: refunded._id }, { $set: { 'refund.id': refunded.refund!.id } }),
  },
  {
    name: 'an order charged twice (a second PaymentIntent succeeded for it)',
    check: 'payment.charged-twice',
    subject: () => `order:${confirmed._id}`,
    message: () =>
      new RegExp(`^expected at most one succeeded PaymentIntent, found 2: .*${confirmed.paymentIntentId} \\(${confirmed.payment!.succeededEventId}\\).*pi_audit_second`),
    corrupt: () => WebhookEvent.create((saved = succeededEvent(confirmed, 'pi_audit_second'))),
    undo: () => WebhookEvent.deleteOne({ _id: (saved as { _id: string })._id }),
  },
  {
    name: 'a payment that succeeded for a PaymentIntent that is not the order’s',
    check: 'payment.foreign-intent',
    subject: () => `order:${pending._id}`,
    message: () => new RegExp(`^expected the succeeded PaymentIntent to be the order's ${pending.paymentIntentId}, found pi_audit_foreign \\(evt_audit_`),
    corrupt: () => WebhookEvent.create((saved = succeededEvent(pending, 'pi_audit_foreign'))),
    undo: () => WebhookEvent.deleteOne({ _id: (saved as { _id: string })._id }),
  },
  {
    name: 'a refund Stripe does not know',
    check: 'refund.stripe',
    subject: () => `order:${refunded._id}`,
    message: () => /^refund re_audit_unknown: expected it at Stripe, found none/,
    corrupt: () => Order.updateOne({ _id: refunded._id }, { $set: { 'refund.id': 're_audit_unknown' } }),
    undo: () => Order.updateOne({ _id: refunded._id }, { $set: { 'refund.id': refunded.refund!.id } }),
    stripeOnly: true,
  },
];

describe('invariant auditor on corrupted data', () => {
  for (const c of corruptions) {
    it(`reports ${c.name} as ${c.check}, and only that`, async () => {
      await c.corrupt();
      try {
        for (const stripe of [undefined, m.deps.stripe]) {
          const report = await audit(stripe ? { stripe } : {});
          if (c.stripeOnly && !stripe) {
            expect(report.violations).toEqual([]);
            continue;
          }
          expect(found(report)).toEqual([[c.check, c.subject()]]);
          const message = c.message();
          if (typeof message === 'string') expect(report.violations[0]!.message).toBe(message);
          else expect(report.violations[0]!.message).toMatch(message);
        }
      } finally {
        await c.undo();
      }
      expect((await audit({ stripe: m.deps.stripe })).violations).toEqual([]);
    });
  }

  it('reports an order stuck in CREATED', async () => {
    // Placed with queues no worker consumes: nothing reserves it.
    const sku = await seedProduct(1);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    const scope = { orderIds: [placed.orderId], skus: [sku] };
    expect((await auditInvariants({ ...scope, stuckAfterMs: 10_000 })).violations).toEqual([]);
    // An hour later it would be stuck.
    const hourLater = await auditInvariants({ ...scope, stuckAfterMs: 60_000, now: new Date(Date.now() + 3600_000) });
    expect(found(hourLater)).toEqual([['stuck.order', `order:${placed.orderId}`]]);

    // Backdated 20 s, consistently with its history, and judged with a 10 s threshold. (Not an hour:
    // the app's own reconciler re-drives CREATED orders older than STUCK_AFTER_MS, 60 s, and would
    // race this test.)
    const back = new Date(Date.now() - 20_000);
    await Order.updateOne({ _id: placed.orderId }, { $set: { stateChangedAt: back, 'history.0.at': back } });
    const backdated = await auditInvariants({ ...scope, stuckAfterMs: 10_000 });
    expect(found(backdated)).toEqual([['stuck.order', `order:${placed.orderId}`]]);
    expect(backdated.violations[0]!.message).toMatch(/^expected to leave CREATED within stuckAfterMs, found it there since .* \(2\d s ago; stuckAfterMs 10000\)$/);
  });
});

describe('invariant auditor judging age', () => {
  it('reports expired holds still pending and pending work left behind, an hour later', async () => {
    await Order.updateOne({ _id: cancelled._id }, { $set: { pendingIntentCancel: true } });
    await openOrderEntry(cancelled._id); // listed, as the closing transition that records such work leaves it
    try {
      expect((await audit()).violations).toEqual([]); // just closed: the work is in flight
      const hourLater = await audit({ now: new Date(Date.now() + 3600_000) });
      expect(found(hourLater).sort()).toEqual(
        [
          ['stuck.expiry', `order:${pending._id}`],
          ['stuck.expiry', `order:${rival._id}`],
          ['stuck.pending-work', `order:${cancelled._id}`],
        ].sort(),
      );
      const work = hourLater.violations.find((v) => v.check === 'stuck.pending-work')!;
      expect(work.message).toMatch(/^expected pendingIntentCancel done within stuckAfterMs, found still set on the CANCELLED order since /);
    } finally {
      await Order.updateOne({ _id: cancelled._id }, { $unset: { pendingIntentCancel: 1 } });
    }
  });
});

describe('invariant auditor on a late payment nobody applied', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('does not arise from expiry: a payment found while cancelling is applied at once', async () => {
    await sim.configure({ hold: true });
    try {
      const sku = await seedProduct(1);
      const order = await pendingByHand(sku, 1);
      await sim.pay(order.paymentIntentId!); // its webhook is held: lost, as far as we know
      await sleep(5);
      expect(await expireOrder(order._id, m.deps)).toBe('applied');
      await reconcile(m.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: 24 * 3600_000 });
      expect((await getOrder(order._id)).state).toBe('CONFIRMED');
      const scope = { orderIds: [order._id], skus: [sku], stuckAfterMs: 60_000, stripe: m.deps.stripe };
      expect((await auditInvariants(scope)).violations).toEqual([]);
    } finally {
      await sim.configure({ hold: false });
    }
  });

  // The state a lost webhook would leave if nothing noticed the payment (a
  // closed order, no pending work): only Stripe knows about the money.
  it('is found at Stripe while the database shows nothing, and clears once the event is applied', async () => {
    await sim.configure({ hold: true });
    try {
      const sku = await seedProduct(1);
      const order = await pendingByHand(sku, 1);
      await sim.pay(order.paymentIntentId!); // its webhook is held: lost, as far as we know
      await sleep(5);
      await transition(order._id, { from: 'PAYMENT_PENDING', to: 'EXPIRED' });
      await releaseLines(order._id, order.holdRef, order.lines);
      await sleep(10);
      const expired = await getOrder(order._id);
      expect([expired.state, expired.pendingIntentCancel, expired.lateDecision]).toEqual(['EXPIRED', undefined, undefined]);

      const scope = { orderIds: [order._id], skus: [sku], stuckAfterMs: 1 };
      expect((await auditInvariants(scope)).violations).toEqual([]);
      const atStripe = await auditInvariants({ ...scope, stripe: m.deps.stripe });
      expect(found(atStripe)).toEqual([['payment.unsettled', `order:${order._id}`]]);
      expect(atStripe.violations[0]!.message).toContain(`PaymentIntent ${order.paymentIntentId} succeeded at Stripe (${order.totalMinor} inr`);

      // The event arrives, recorded but not yet applied. It is a claim, not evidence: the database
      // shows it as an event stuck unprocessed; Stripe still shows the payment unsettled.
      const event = await simEvent('payment_intent.succeeded', order.paymentIntentId!);
      const { body, signature } = signedEvent(m.deps, event);
      expect((await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') })).status).toBe(200);
      await sleep(10);
      expect(found(await auditInvariants(scope))).toEqual([['stuck.event', `event:${event.id}`]]);
      expect(found(await auditInvariants({ ...scope, stripe: m.deps.stripe }))).toEqual([
        ['payment.unsettled', `order:${order._id}`],
        ['stuck.event', `event:${event.id}`],
      ]);

      // Applied: the stock is there, the late payment is accepted (and the order confirmed).
      expect(await processWebhookEvent(event.id, m.deps)).toBe('applied');
      expect((await getOrder(order._id)).state).toBe('CONFIRMED');
      expect((await auditInvariants({ ...scope, stuckAfterMs: 60_000, stripe: m.deps.stripe })).violations).toEqual([]);
    } finally {
      await sim.configure({ hold: false });
    }
  });
});

/** Runs the CLI as `npm run invariants` would, with the suite's environment. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/invariants.ts', ...args], { cwd: ROOT, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run invariants', () => {
  const scope = () => ['--order', confirmed._id, '--sku', skus.a, '--sku', skus.b];

  it('exits 0 on a clean scope, also when it asks Stripe', async () => {
    const plain = await runCli(scope());
    expect(plain.stderr).toBe('');
    expect(plain.stdout.trim()).toBe('OK: no violations (checked 2 products and 1 order)');
    expect(plain.code).toBe(0);
    const withStripe = await runCli([...scope(), '--stripe']);
    expect(withStripe.stdout.trim().split('\n').at(-1)).toBe('OK: no violations (checked 2 products and 1 order)');
    expect(withStripe.code).toBe(0);
  });

  it('exits 1 with one readable line per violation and a summary', async () => {
    const line = `expected initialStock 5 = available + reserved + sold, found 4 + 0 + 2 = 6`;
    await Product.updateOne({ _id: skus.a }, { $inc: { available: 1 } });
    try {
      const text = await runCli(scope());
      expect(text.code).toBe(1);
      expect(text.stdout.trim().split('\n')).toEqual([
        `[stock.conservation] sku:${skus.a}: ${line}`,
        'FAIL: 1 violation (stock.conservation ×1; checked 2 products and 1 order)',
      ]);
      const json = await runCli([...scope(), '--json']);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { ok: boolean } & AuditReport;
      expect(report.ok).toBe(false);
      expect(report.checked).toEqual({ products: 2, orders: 1 });
      expect(report.violations).toEqual([{ check: 'stock.conservation', subject: `sku:${skus.a}`, message: line }]);
    } finally {
      await Product.updateOne({ _id: skus.a }, { $inc: { available: -1 } });
    }
    expect((await runCli(scope())).code).toBe(0);
  });

  it('exits 2 on bad arguments', async () => {
    const bad = await runCli(['--order']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--order needs a value/);
    expect((await runCli(['--frobnicate'])).code).toBe(2);
  });
});
