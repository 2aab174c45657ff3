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
 *
 * It never searches the orders or the events: it walks the keyed lists of
 * open work (src/server/open-work/: every order that may still need it, every
 * event not yet processed), in `_id` order, in bounded pages that resume
 * where the last pass stopped, and loads each order or event by `_id`. So a
 * pass costs what is in flight, not what is stored. An entry whose order is
 * settled (or whose event is processed) is deleted as it was read. The
 * idempotency-key purge and the stray-hold sweep are the searches; the
 * maintenance job runs them at most once per HOUSEKEEPING_INTERVAL_MS
 * (`purgeKeys`, `sweepStrayHolds`).
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { closeEventEntry, openEventPage } from '../open-work/open-events';
import { closeEntry, needsReconciler, ORPHAN_ENTRY_GRACE_MS, openOrderPage, type OpenEntry } from '../open-work/open-orders';
import { walkList } from '../open-work/marks';
import type { Deps } from '../deps';
import { dropSale, oldHolds, oldSales, releaseLines } from '../inventory/stock';
import { finishStrandedTransfers } from '../inventory/stripes';
import { logger } from '../logger';
import { retrievePaymentIntentIfKnown } from '../payments/payment-intents';
import { applyObservedSuccess } from '../webhooks/observed-success';
import { flagForAttention } from './attention';
import { TRANSITIONS } from './state-machine';
import { CLOSED_UNPAID_STATES, TERMINAL_STATES, type OrderState } from './states';

export const DEFAULT_SALE_RECORD_TTL_MS = 30 * 60_000;
/** How old a hold must be before the reconciler asks whether its order can still use it. */
export const DEFAULT_STRAY_HOLD_AFTER_MS = 30 * 60_000;

/**
 * Orders that can never use a hold again: terminal states that no transition
 * leaves, not even an operator's (CONFIRMED, REJECTED, REFUNDED). An order in
 * PAYMENT_MISMATCH is left to the person who settles it.
 */
export const NO_HOLD_STATES: ReadonlySet<OrderState> = new Set([...TERMINAL_STATES].filter((s) => !TRANSITIONS.some((t) => t.from === s)));

export interface ReconcileOptions {
  stuckAfterMs: number;
  idempotencyKeyTtlMs: number;
  /** How long a product keeps a sale record after its order copied it (default 30 minutes). */
  saleRecordTtlMs?: number;
  /** Holds older than this are checked against their order's state (default DEFAULT_STRAY_HOLD_AFTER_MS). */
  strayHoldAfterMs?: number;
  /** Whether this pass looks for stray holds (a scan of the catalogue: the maintenance job asks rarely). Default true. */
  sweepStrayHolds?: boolean;
  /** Entries read per page of an open-work list (default 500). */
  batchSize?: number;
  /** Pages of each list per pass (default 4); the next pass resumes where this one stopped. */
  maxPages?: number;
  /** Whether this pass purges old idempotency keys (a search of the orders: the maintenance job asks rarely). Default true. */
  purgeKeys?: boolean;
  /** How long an entry whose order or event does not exist is kept (default ORPHAN_ENTRY_GRACE_MS). */
  orphanGraceMs?: number;
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
  /** Holds given back because their order can never use them. */
  strayHoldsReleased: number;
  /** Transfers of units between a product's stripes that were left half done and finished here. */
  transfersFinished: number;
  /** PaymentIntents Stripe does not know, flagged for a human. */
  paymentMissing: number;
  /** Open-work entries deleted: their order settled, their event processed, or gone. */
  entriesClosed: number;
  /** Items whose work failed this pass (logged; retried next pass). */
  failed: number;
}

export async function reconcile(deps: Pick<Deps, 'enqueuer' | 'stripe'>, opts: ReconcileOptions): Promise<ReconcileReport> {
  const now = opts.now ?? new Date();
  const limit = opts.batchSize ?? 500;
  const walk = (mark: string) => ({ mark, pageSize: limit, maxPages: opts.maxPages ?? 4 });
  const stuckBefore = new Date(now.getTime() - opts.stuckAfterMs);
  const orphanBefore = new Date(now.getTime() - (opts.orphanGraceMs ?? ORPHAN_ENTRY_GRACE_MS));
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
    strayHoldsReleased: 0,
    transfersFinished: 0,
    entriesClosed: 0,
    failed: 0,
  };
  const failures: { item: string; err: unknown }[] = [];
  // One item's failure (Stripe answering 429, a network error) is logged and
  // counted; it never stops the rest of the pass, or recovery would be held
  // hostage by its first bad item, pass after pass.
  const isolated = async (item: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      report.failed++;
      failures.push({ item, err });
    }
  };
  const each = async <T>(items: readonly T[], name: (item: T) => string, work: (item: T) => Promise<void>) => {
    for (const item of items) await isolated(name(item), () => work(item));
  };

  // Orders: each entry's order by _id; settled ones leave the list, the rest
  // are re-driven when they sat in their step longer than stuckAfterMs.
  await walkList(walk('reconcile:open-orders'), openOrderPage, async (entries) => {
    const open: OrderDoc[] = [];
    for (const entry of entries) {
      await isolated(entry._id, async () => {
        const order = await Order.findById(entry._id, { lines: 0, history: 0 }).lean<OrderDoc>();
        if (!order ? entry.at < orphanBefore : !needsReconciler(order)) {
          if (await closeEntry(entry)) report.entriesClosed++;
        } else if (order) open.push(order);
      });
    }
    // Re-enqueues first, questions to Stripe last: a page of unpaid orders
    // must not delay the orders whose job was simply lost.
    open.sort((a, b) => redriveRank(a) - redriveRank(b));
    for (const order of open) await isolated(order._id, () => redrive(order, deps, { now, stuckBefore }, report));
  });
  // Events recorded but never processed (their job was lost).
  await walkList(walk('reconcile:open-events'), openEventPage, async (entries: OpenEntry[]) => {
    for (const entry of entries) {
      await isolated(entry._id, async () => {
        const event = await WebhookEvent.findById(entry._id, { processedAt: 1, receivedAt: 1 }).lean<{ processedAt?: Date; receivedAt: Date }>();
        if (!event ? entry.at < orphanBefore : event.processedAt) {
          if (await closeEventEntry(entry)) report.entriesClosed++;
          return;
        }
        if (event && event.receivedAt < stuckBefore) {
          await deps.enqueuer.processEvent(entry._id);
          report.events++;
        }
      });
    }
  });
  // Idempotency keys are kept at least as long as Stripe keeps its own (24 h).
  // A search of the orders (bounded batches; no index the local server uses), so it runs only when asked.
  if (opts.purgeKeys ?? true) {
    await isolated('idempotency keys', async () => {
      report.keysPurged = await purgeIdempotencyKeys(new Date(now.getTime() - opts.idempotencyKeyTtlMs), limit);
    });
  }
  // Sale records move onto their orders; once copied and old enough, the product lets them go.
  const saleCutoff = new Date(now.getTime() - (opts.saleRecordTtlMs ?? DEFAULT_SALE_RECORD_TTL_MS));
  await each(await oldSales(saleCutoff, limit), (s) => `sale ${s.sku} ${s.orderId}`, async (sale) => {
    if (!(await Order.exists({ _id: sale.orderId, 'sold.sku': sale.sku }))) return; // finalization copies it first
    await dropSale(sale.orderId, sale);
    report.salesPruned++;
  });
  // A hold its order can never use: a run that read the order long ago held
  // again after the order was settled, and died before giving it back (its
  // job's next run gives it back too, if it has one left). Found by age, so a
  // pass costs the old holds, not the holds in flight.
  const strayBefore = new Date(now.getTime() - (opts.strayHoldAfterMs ?? DEFAULT_STRAY_HOLD_AFTER_MS));
  const strayCandidates = (opts.sweepStrayHolds ?? true) ? await oldHolds(strayBefore, limit) : [];
  await each(strayCandidates, (h) => `hold ${h.sku} ${h.orderId}`, async (h) => {
    const order = await Order.findById(h.orderId, { state: 1 }).lean<Pick<OrderDoc, 'state'>>();
    if (!order || !NO_HOLD_STATES.has(order.state)) return;
    const released = await releaseLines(h.orderId, h.ref, [h]);
    if (released === 0) return;
    logger.warn({ orderId: h.orderId, sku: h.sku, ref: h.ref, qty: h.qty, state: order.state, action: 'release-stray-hold' }, 'gave back a hold its order can never use');
    report.strayHoldsReleased++;
  });
  // Units between two stripes of a product whose transferer died between its
  // steps: any hold that finds its stripe short finishes them too, but until
  // then no stripe can hold them. A scan of the catalogue, with the sweep.
  if (opts.sweepStrayHolds ?? true) {
    await isolated('stripe transfers', async () => {
      report.transfersFinished = await finishStrandedTransfers(limit);
    });
  }

  if (failures.length > 0) {
    const [first] = failures;
    logger.error({ action: 'reconcile', failed: failures.length, items: failures.slice(0, 20).map((f) => f.item), err: first?.err }, 'reconciler pass: some items failed; the rest went on');
  }
  const touched = (Object.values(report) as number[]).reduce((a, b) => a + b, 0);
  if (touched > 0) logger.info({ action: 'reconcile', ...report }, 'reconciler re-drove stuck work');
  return report;
}

/** Orders whose re-drive may ask Stripe (PAYMENT_PENDING, closed with a late decision) come last. */
const redriveRank = (o: OrderDoc): number => (o.state === 'PAYMENT_PENDING' || o.lateDecision ? 1 : 0);

/**
 * What the reconciler does for one order that needs it: exactly what its
 * per-state searches used to find (and in that order), decided on the loaded
 * document instead of in a query.
 */
async function redrive(o: OrderDoc, deps: Pick<Deps, 'enqueuer' | 'stripe'>, at: Moment, report: ReconcileReport): Promise<void> {
  if (o.stateChangedAt >= at.stuckBefore) return;
  await redriveStep(o, deps, at, report);
  await redriveClosedWork(o, deps, report);
}

interface Moment {
  now: Date;
  stuckBefore: Date;
}

/** A step that should have moved the order on: re-enqueued; a PaymentIntent whose webhook seems lost: asked about. */
async function redriveStep(o: OrderDoc, deps: Pick<Deps, 'enqueuer' | 'stripe'>, { now, stuckBefore }: Moment, report: ReconcileReport): Promise<void> {
  const overdue = Boolean(o.holdExpiresAt && o.holdExpiresAt <= now);
  if (o.state === 'CREATED') {
    await deps.enqueuer.reserve(o._id);
    report.reserve++;
  } else if (o.state === 'INVENTORY_RESERVED') {
    await deps.enqueuer.requestPayment(o._id);
    report.requestPayment++;
    if (overdue) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  } else if (o.state === 'PAYMENT_PENDING') {
    // Orders asked about recently are skipped until stuckAfterMs has passed
    // again; overdue orders come back every pass until they expire.
    if (o.reconciledAt && o.reconciledAt >= stuckBefore && !overdue) return;
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
    if (overdue) {
      await deps.enqueuer.expireAt(o._id, now);
      report.expire++;
    }
  } else if (o.state === 'PAID') {
    await deps.enqueuer.finalize(o._id);
    report.finalize++;
  }
}

/** Closed orders: work left behind, and payments that succeeded anyway. */
async function redriveClosedWork(o: OrderDoc, deps: Pick<Deps, 'enqueuer' | 'stripe'>, report: ReconcileReport): Promise<void> {
  const lateUnsettled = Boolean(o.lateDecision) && CLOSED_UNPAID_STATES.has(o.state);
  if (o.pendingRelease || o.pendingIntentCancel || lateUnsettled) {
    if (lateUnsettled && o.paymentIntentId) {
      const pi = await retrievePaymentIntentIfKnown(deps.stripe, o.paymentIntentId);
      if (pi?.status === 'succeeded') await applyObservedSuccess(pi, deps);
    }
    await deps.enqueuer.release(o._id);
    report.release++;
  }
}

/** Unsets idempotency keys of orders created before `cutoff`, in bounded batches; returns how many. */
async function purgeIdempotencyKeys(cutoff: Date, batchSize: number, maxBatches = 10): Promise<number> {
  let purged = 0;
  const old = { idempotencyKey: { $exists: true }, createdAt: { $lt: cutoff } };
  for (let batch = 0; batch < maxBatches; batch++) {
    const ids = (await Order.find(old, { _id: 1 }).limit(batchSize).lean<{ _id: string }[]>()).map((o) => o._id);
    if (ids.length === 0) break;
    purged += (await Order.updateMany({ _id: { $in: ids }, ...old }, { $unset: { idempotencyKey: 1 } })).modifiedCount;
    if (ids.length < batchSize) break;
  }
  return purged;
}
