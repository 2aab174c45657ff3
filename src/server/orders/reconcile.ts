/**
 * The reconciler: MongoDB is the record of pending work, Redis only a fast
 * path. Every pass finds orders that have sat in a step longer than
 * `stuckAfterMs` and re-drives them: re-enqueues the step (absorbed when it is
 * already queued), asks Stripe for a PaymentIntent's real status when its
 * webhook seems lost, finishes the work closed orders left. Everything it
 * triggers is idempotent, so a pass may run at any time, twice, or
 * concurrently with the steps. Each item is isolated: one that fails is
 * logged and retried next pass, the rest of the pass goes on; a PaymentIntent
 * Stripe does not know is flagged for a human and not asked about again.
 * After Redis loses all its data, one pass rebuilds the queues from MongoDB alone.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import type { Deps } from '../deps';
import { dropSale, oldSales } from '../inventory/stock';
import { logger } from '../logger';
import { retrievePaymentIntentIfKnown } from '../payments/payment-intents';
import { applyObservedSuccess } from '../webhooks/observed-success';
import { flagForAttention } from './attention';
import { CLOSED_UNPAID_STATES, type OrderState } from './states';

export const DEFAULT_SALE_RECORD_TTL_MS = 30 * 60_000;

export interface ReconcileOptions {
  stuckAfterMs: number;
  idempotencyKeyTtlMs: number;
  /** How long a product keeps a sale record after its order copied it (default 30 minutes). */
  saleRecordTtlMs?: number;
  batchSize?: number;
  now?: Date;
}

export interface ReconcileReport {
  reserve: number;
  requestPayment: number;
  paymentChecked: number;
  paymentRecovered: number;
  expire: number;
  finalize: number;
  release: number;
  events: number;
  keysPurged: number;
  salesPruned: number;
  /** PaymentIntents Stripe does not know, flagged for a human. */
  paymentMissing: number;
  /** Items whose work failed this pass (logged; retried next pass). */
  failed: number;
}

export async function reconcile(deps: Pick<Deps, 'enqueuer' | 'stripe'>, opts: ReconcileOptions): Promise<ReconcileReport> {
  const now = opts.now ?? new Date();
  const limit = opts.batchSize ?? 500;
  const stuckBefore = new Date(now.getTime() - opts.stuckAfterMs);
  const report: ReconcileReport = {
    reserve: 0,
    requestPayment: 0,
    paymentChecked: 0,
    paymentRecovered: 0,
    paymentMissing: 0,
    expire: 0,
    finalize: 0,
    release: 0,
    events: 0,
    keysPurged: 0,
    salesPruned: 0,
    failed: 0,
  };
  const failures: { item: string; err: unknown }[] = [];
  // One item's failure (Stripe answering 429, a network error) is logged and
  // counted; it never stops the rest of the pass, or recovery would be held
  // hostage by its first bad item, pass after pass.
  const each = async <T>(items: readonly T[], name: (item: T) => string, work: (item: T) => Promise<void>) => {
    for (const item of items) {
      try {
        await work(item);
      } catch (err) {
        report.failed++;
        failures.push({ item: name(item), err });
      }
    }
  };
  const stuck = (state: OrderState, extra: Record<string, unknown> = {}) =>
    Order.find({ ...extra, state, stateChangedAt: { $lt: stuckBefore } }, { lines: 0, history: 0 }).limit(limit).lean<OrderDoc[]>();
  const byId = (o: { _id: string }) => o._id;

  await each(await stuck('CREATED'), byId, async (o) => {
    await deps.enqueuer.reserve(o._id);
    report.reserve++;
  });
  await each(await stuck('INVENTORY_RESERVED'), byId, async (o) => {
    await deps.enqueuer.requestPayment(o._id);
    report.requestPayment++;
    if (o.holdExpiresAt && o.holdExpiresAt <= now) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  });
  // Orders asked about recently drop out of the query, so a batch always
  // moves on to the next ones; overdue orders come back until they expire.
  const unchecked = { $or: [{ reconciledAt: { $exists: false } }, { reconciledAt: { $lt: stuckBefore } }, { holdExpiresAt: { $lte: now } }] };
  await each(await stuck('PAYMENT_PENDING', unchecked), byId, async (o) => {
    // A success whose webhook was lost would otherwise expire a paid order.
    if (o.paymentIntentId && !o.attention?.some((a) => a.reason === 'payment-intent-missing')) {
      await Order.updateOne({ _id: o._id }, { $set: { reconciledAt: now } });
      const pi = await retrievePaymentIntentIfKnown(deps.stripe, o.paymentIntentId);
      report.paymentChecked++;
      if (!pi) {
        // Nothing was paid; the order expires as unpaid. Never asked again, flagged for a human.
        await flagForAttention(o._id, 'payment-intent-missing', `Stripe has no PaymentIntent ${o.paymentIntentId}`);
        report.paymentMissing++;
      } else if (pi.status === 'succeeded') {
        await applyObservedSuccess(pi, deps);
        report.paymentRecovered++;
        return;
      }
    }
    if (o.holdExpiresAt && o.holdExpiresAt <= now) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  });
  await each(await stuck('PAID'), byId, async (o) => {
    await deps.enqueuer.finalize(o._id);
    report.finalize++;
  });
  // Closed orders: work left behind, and payments that succeeded anyway.
  const closed = await Order.find(
    {
      stateChangedAt: { $lt: stuckBefore },
      $or: [{ pendingRelease: { $exists: true } }, { pendingIntentCancel: { $exists: true } }, { lateDecision: { $exists: true }, state: { $in: [...CLOSED_UNPAID_STATES] } }],
    },
    { lines: 0, history: 0 },
  )
    .limit(limit)
    .lean<OrderDoc[]>();
  await each(closed, byId, async (o) => {
    if (o.lateDecision && o.paymentIntentId && CLOSED_UNPAID_STATES.has(o.state)) {
      const pi = await retrievePaymentIntentIfKnown(deps.stripe, o.paymentIntentId);
      if (pi?.status === 'succeeded') await applyObservedSuccess(pi, deps);
    }
    await deps.enqueuer.release(o._id);
    report.release++;
  });
  // Events recorded but never processed (their job was lost).
  const events = await WebhookEvent.find({ processedAt: { $exists: false }, receivedAt: { $lt: stuckBefore } }, { _id: 1 }).limit(limit).lean();
  await each(events, (e) => e._id, async (e) => {
    await deps.enqueuer.processEvent(e._id);
    report.events++;
  });
  // Idempotency keys are kept at least as long as Stripe keeps its own (24 h).
  await each(['idempotency keys'], String, async () => {
    const purged = await Order.updateMany(
      { idempotencyKey: { $exists: true }, createdAt: { $lt: new Date(now.getTime() - opts.idempotencyKeyTtlMs) } },
      { $unset: { idempotencyKey: 1 } },
    );
    report.keysPurged = purged.modifiedCount;
  });
  // Sale records move onto their orders; once copied and old enough, the product lets them go.
  const saleCutoff = new Date(now.getTime() - (opts.saleRecordTtlMs ?? DEFAULT_SALE_RECORD_TTL_MS));
  await each(await oldSales(saleCutoff, limit), (s) => `sale ${s.sku} ${s.orderId}`, async ({ sku, orderId }) => {
    if (!(await Order.exists({ _id: orderId, 'sold.sku': sku }))) return; // finalization copies it first
    await dropSale(orderId, sku);
    report.salesPruned++;
  });

  if (failures.length > 0) {
    const [first] = failures;
    logger.error({ action: 'reconcile', failed: failures.length, items: failures.slice(0, 20).map((f) => f.item), err: first?.err }, 'reconciler pass: some items failed; the rest went on');
  }
  const touched = (Object.values(report) as number[]).reduce((a, b) => a + b, 0);
  if (touched > 0) logger.info({ action: 'reconcile', ...report }, 'reconciler re-drove stuck work');
  return report;
}
