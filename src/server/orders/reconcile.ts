/**
 * The reconciler: MongoDB is the record of pending work, Redis only a fast
 * path. Every pass finds orders that have sat in a step longer than
 * `stuckAfterMs` and re-drives them: re-enqueues the step (absorbed when it is
 * already queued), asks Stripe for a PaymentIntent's real status when its
 * webhook seems lost, finishes the work closed orders left. Everything it
 * triggers is idempotent, so a pass may run at any time, twice, or
 * concurrently with the steps. After Redis loses all its data, one pass
 * rebuilds the queues from MongoDB alone.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import type { Deps } from '../deps';
import { dropSale, oldSales } from '../inventory/stock';
import { logger } from '../logger';
import { retrievePaymentIntent } from '../payments/payment-intents';
import { applyObservedSuccess } from '../webhooks/observed-success';
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
    expire: 0,
    finalize: 0,
    release: 0,
    events: 0,
    keysPurged: 0,
    salesPruned: 0,
  };
  const stuck = (state: OrderState) =>
    Order.find({ state, stateChangedAt: { $lt: stuckBefore } }, { lines: 0, history: 0 }).limit(limit).lean<OrderDoc[]>();

  for (const o of await stuck('CREATED')) {
    await deps.enqueuer.reserve(o._id);
    report.reserve++;
  }
  for (const o of await stuck('INVENTORY_RESERVED')) {
    await deps.enqueuer.requestPayment(o._id);
    report.requestPayment++;
    if (o.holdExpiresAt && o.holdExpiresAt <= now) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  }
  for (const o of await stuck('PAYMENT_PENDING')) {
    // A success whose webhook was lost would otherwise expire a paid order.
    if (o.paymentIntentId && (!o.reconciledAt || o.reconciledAt < stuckBefore || (o.holdExpiresAt && o.holdExpiresAt <= now))) {
      const pi = await retrievePaymentIntent(deps.stripe, o.paymentIntentId);
      report.paymentChecked++;
      await Order.updateOne({ _id: o._id }, { $set: { reconciledAt: now } });
      if (pi.status === 'succeeded') {
        await applyObservedSuccess(pi, deps);
        report.paymentRecovered++;
        continue;
      }
    }
    if (o.holdExpiresAt && o.holdExpiresAt <= now) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  }
  for (const o of await stuck('PAID')) {
    await deps.enqueuer.finalize(o._id);
    report.finalize++;
  }
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
  for (const o of closed) {
    if (o.lateDecision && o.paymentIntentId && CLOSED_UNPAID_STATES.has(o.state)) {
      const pi = await retrievePaymentIntent(deps.stripe, o.paymentIntentId);
      if (pi.status === 'succeeded') await applyObservedSuccess(pi, deps);
    }
    await deps.enqueuer.release(o._id);
    report.release++;
  }
  // Events recorded but never processed (their job was lost).
  const events = await WebhookEvent.find({ processedAt: { $exists: false }, receivedAt: { $lt: stuckBefore } }, { _id: 1 }).limit(limit).lean();
  for (const e of events) {
    await deps.enqueuer.processEvent(e._id);
    report.events++;
  }
  // Idempotency keys are kept at least as long as Stripe keeps its own (24 h).
  const purged = await Order.updateMany(
    { idempotencyKey: { $exists: true }, createdAt: { $lt: new Date(now.getTime() - opts.idempotencyKeyTtlMs) } },
    { $unset: { idempotencyKey: 1 } },
  );
  report.keysPurged = purged.modifiedCount;
  // Sale records move onto their orders; once copied and old enough, the product lets them go.
  const saleCutoff = new Date(now.getTime() - (opts.saleRecordTtlMs ?? DEFAULT_SALE_RECORD_TTL_MS));
  for (const { sku, orderId } of await oldSales(saleCutoff, limit)) {
    if (!(await Order.exists({ _id: orderId, 'sold.sku': sku }))) continue; // finalization copies it first
    await dropSale(orderId, sku);
    report.salesPruned++;
  }

  const touched = (Object.values(report) as number[]).reduce((a, b) => a + b, 0);
  if (touched > 0) logger.info({ action: 'reconcile', ...report }, 'reconciler re-drove stuck work');
  return report;
}
