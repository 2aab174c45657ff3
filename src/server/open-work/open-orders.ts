/**
 * The open-orders list: which orders the reconciler must look at. It owns
 * one rule and one promise.
 *
 * The rule (`needsReconciler`): an order may still need the reconciler while
 *   - its state is not settled: CREATED, INVENTORY_RESERVED, PAYMENT_PENDING,
 *     PAID (a step must move it on; a PAID order with unsold lines stays here);
 *   - or it carries pending work, whatever its state: `pendingRelease` (holds
 *     to give back, also on REJECTED / PAYMENT_MISMATCH), `pendingIntentCancel`;
 *   - or it is CANCELLED / EXPIRED with a late-payment decision not yet
 *     carried out (`lateDecision`).
 * Every other order is settled: CONFIRMED, REJECTED, REFUNDED,
 * PAYMENT_MISMATCH, CANCELLED, EXPIRED with none of the above. Refunds and
 * disputes of settled orders arrive as webhook events, which have a list of
 * their own (open-events.ts).
 *
 * The promise (superset): every order the rule says needs the reconciler has
 * an entry in `open_orders`. Entries of settled or missing orders are
 * harmless: the reconciler deletes them when it finds them so. It is kept by
 *   1. placeOrder writing the entry before the order exists (the order id is
 *      derived from the Idempotency-Key, so a retry writes the same entry),
 *      and again after the order is written and on every replay;
 *   2. every write that can take a settled order out of settlement (only a
 *      late payment can: a decision on a closed order, EXPIRED → PAID) being
 *      followed by `keepOpen`, before the event that caused it is marked
 *      processed (webhooks/process-event.ts): a crash in between leaves the
 *      event unprocessed, so its re-run writes the entry;
 *   3. the reconciler deleting an entry only as it read it before it read the
 *      order (`closeEntry`, conditional on the entry's token): if the order
 *      left settlement after that read, its `keepOpen` came after it too, and
 *      either rewrote the token (the delete misses) or re-creates the entry;
 *   4. an entry whose order does not exist being deleted only once it is
 *      older than `ORPHAN_ENTRY_GRACE_MS` (a placeOrder that died before
 *      writing its order, lost its cart to another key, or was refused for
 *      reusing a key with another request): far longer than
 *      placeOrder takes between its two writes of the entry;
 *   5. orders written before this list existed being listed once by a
 *      resumable backfill (backfill.ts).
 * The invariant auditor checks the promise (`open.missing`).
 */
import { randomBytes } from 'node:crypto';
import { OpenOrder } from '../../../prisma-free-models/open-work';
import { Order } from '../../../prisma-free-models/order';
import { CLOSED_UNPAID_STATES, TERMINAL_STATES, type OrderState } from '../orders/states';

/** How long an entry whose order does not exist is kept: see the header, rule 4. */
export const ORPHAN_ENTRY_GRACE_MS = 3600_000;

/** States in which no automatic step has to move the order on. */
const SETTLED_STATES: readonly OrderState[] = [...TERMINAL_STATES, ...CLOSED_UNPAID_STATES];

/** What the rule reads of an order. */
export interface ReconcilerView {
  state: OrderState;
  pendingRelease?: string | null;
  pendingIntentCancel?: boolean | null;
  lateDecision?: string | null;
}

/** The rule, on a loaded order. NEEDS_RECONCILER_FILTER says the same to MongoDB: change both together. */
export function needsReconciler(order: ReconcilerView): boolean {
  if (!SETTLED_STATES.includes(order.state)) return true;
  if (order.pendingRelease || order.pendingIntentCancel) return true;
  return Boolean(order.lateDecision) && CLOSED_UNPAID_STATES.has(order.state);
}

/** The rule as a query (for the backfill and the auditor's own cross-check). */
export const NEEDS_RECONCILER_FILTER = {
  $or: [
    { state: { $nin: SETTLED_STATES } },
    { pendingRelease: { $exists: true } },
    { pendingIntentCancel: { $exists: true } },
    { lateDecision: { $exists: true }, state: { $in: [...CLOSED_UNPAID_STATES] } },
  ],
};

const newToken = () => randomBytes(8).toString('hex');

/** Lists the order (again); always rewrites the token, so a reconciler's pending delete of what it read misses. */
export async function openOrderEntry(orderId: string, now = new Date()): Promise<void> {
  await OpenOrder.updateOne({ _id: orderId }, { $set: { at: now, token: newToken() } }, { upsert: true });
}

/** The fields of an order the rule reads. */
export const RECONCILER_VIEW = { state: 1, pendingRelease: 1, pendingIntentCancel: 1, lateDecision: 1 } as const;

/**
 * After a write that may have taken a settled order out of settlement: lists
 * it if the rule says so. `asWritten`: the order as a later write of the same
 * step returned it (atomically with that write, so no older than a read
 * after it would be); without it the order is read.
 */
export async function keepOpen(orderId: string, asWritten?: ReconcilerView | null): Promise<void> {
  const order = asWritten ?? (await Order.findById(orderId, RECONCILER_VIEW).lean<ReconcilerView>());
  if (order && needsReconciler(order)) await openOrderEntry(orderId);
}

export interface OpenEntry {
  _id: string;
  at: Date;
  token: string;
}

/** Deletes the entry as it was read (same token); returns whether it did. */
export async function closeEntry(entry: OpenEntry): Promise<boolean> {
  return (await OpenOrder.deleteOne({ _id: entry._id, token: entry.token })).deletedCount === 1;
}

/** A page of entries in `_id` order, after `after` (the reconciler's and the auditor's only way to read the list). */
export function openOrderPage(after: string | undefined, limit: number): Promise<OpenEntry[]> {
  return OpenOrder.find(after === undefined ? {} : { _id: { $gt: after } }).sort({ _id: 1 }).limit(limit).lean<OpenEntry[]>();
}
