/**
 * Stock holds: reserve, release and sell, one atomic single-document update
 * per SKU. A hold is recorded inside the product document in the same write
 * that moves the counters, keyed by (orderId, ref), so:
 *   - reserving twice for one order finds the hold and takes nothing more;
 *   - releasing or selling twice finds no hold the second time and does nothing;
 *   - stock can never go below zero (the update's condition is available >= qty);
 *   - a release of reservation `r1` that runs late (a retried expiry) cannot
 *     free the holds of a later reservation `late` of the same order: a hold
 *     taken over by the later reservation carries the new ref.
 *   - selling records the sale (order and quantity) in the same update, so
 *     what was sold to whom is a fact, not an inference.
 * This is the step-with-its-undo pattern: a reservation that cannot hold every
 * line is undone with `releaseLines`, once the order records that it failed,
 * so a multi-line order gets all lines or none.
 *
 * A line of a product split into stripes (stripes.ts) is held, sold and
 * released on its own stripe's document, with the same updates.
 */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { StockStripe } from '../../../prisma-free-models/stock-stripe';
import { logger } from '../logger';
import { stockDoc } from './stock-doc';
import { makeRoom, stripeCount, stripeOfId } from './stripes';

export interface StockLine {
  sku: string;
  qty: number;
  /** The stripe of the product's stock the line uses (stripes.ts); absent: 0, the product document. */
  stripe?: number | null;
}

/** The ref of an order's first reservation. */
export const FIRST_HOLD_REF = 'r1';
/** The ref of the reservation taken again for a payment that arrived after the order closed. */
export const LATE_HOLD_REF = 'late';

export type HoldResult = 'held' | 'already-held' | 'adopted' | 'already-sold' | 'insufficient' | 'unknown-sku';

/** Rounds of making room on a striped product before a hold gives up for now (the step is retried). */
const MAX_HOLD_ROUNDS = 12;

async function holdLine(orderId: string, ref: string, line: StockLine, adoptRef?: string): Promise<HoldResult> {
  const doc = stockDoc(line.sku, line.stripe);
  // An adoption can lose a race to the release of the old hold, after which a
  // plain hold decides; on a striped product, a hold that finds its stripe
  // short makes room and holds again.
  for (let round = 0; round < MAX_HOLD_ROUNDS; round++) {
    if (adoptRef) {
      // The earlier reservation's hold is still there: take it over instead of
      // holding twice. Atomic against the release of the old ref: one of them wins.
      // (arrayFilters rather than the positional `$`: mongo-java-server does not
      // support `$` after an $elemMatch filter; both forms are atomic on MongoDB.)
      const adopted = await doc.model.updateOne(
        { _id: doc._id, holds: { $elemMatch: { orderId, ref: adoptRef, qty: line.qty } } },
        { $set: { 'holds.$[h].ref': ref }, $inc: { v: 1 } },
        { arrayFilters: [{ 'h.orderId': orderId, 'h.ref': adoptRef }] },
      );
      if (adopted.modifiedCount === 1) return 'adopted';
    }
    // Never a second hold for the order, and never a hold for a line already
    // sold to it: a run that read the order long ago (a stalled job) must not
    // take stock for a line that finalization has sold meanwhile.
    const res = await doc.model.updateOne(
      { _id: doc._id, ...(doc.stripe === 0 ? { active: true } : {}), available: { $gte: line.qty }, 'holds.orderId': { $ne: orderId }, 'sales.orderId': { $ne: orderId } },
      {
        $inc: { available: -line.qty, reserved: line.qty, v: 1 },
        $push: { holds: { orderId, ref, qty: line.qty, at: new Date() } },
      },
    );
    if (res.modifiedCount === 1) return 'held';
    // Nothing changed: find out why, without guessing.
    const stock = await doc.model
      .findById(doc._id, { holds: 1, sales: 1, ...(doc.stripe === 0 ? { active: 1, stripes: 1 } : {}) })
      .lean<Pick<ProductDoc, 'holds' | 'sales' | 'active' | 'stripes'>>();
    if (doc.stripe === 0 && !stock?.active) return 'unknown-sku';
    let mine = stock?.holds.find((h) => h.orderId === orderId);
    if (!mine) {
      if (stock?.sales.some((s) => s.orderId === orderId)) return 'already-sold';
      if (doc.stripe === 0 && stripeCount(stock ?? {}) === 1) return 'insufficient';
      const room = await makeRoom(line.sku, doc.stripe, line.qty);
      if (room === 'retry') continue;
      if (room === 'unknown-sku') return room;
      // The product was short at one moment, perhaps because a twin of this
      // run took the units for this very order meanwhile: look once more.
      const now = await doc.model.findById(doc._id, { holds: 1, sales: 1 }).lean<Pick<ProductDoc, 'holds' | 'sales'>>();
      if (now?.sales.some((s) => s.orderId === orderId)) return 'already-sold';
      mine = now?.holds.find((h) => h.orderId === orderId);
      if (!mine) return 'insufficient';
    }
    if (mine.ref === ref) return 'already-held';
    if (mine.ref !== adoptRef) {
      throw new Error(`order ${orderId} holds ${line.sku} under ${mine.ref}, not ${ref}${adoptRef ? ` or ${adoptRef}` : ''}`);
    }
  }
  throw new Error(`could not settle the hold of order ${orderId} on ${line.sku} (stripe ${doc.stripe}): the stock kept moving; the step is retried`);
}

/** Gives back one order's hold on one SKU. Returns whether anything was given back. */
async function releaseLine(orderId: string, ref: string, line: StockLine): Promise<boolean> {
  const doc = stockDoc(line.sku, line.stripe);
  const res = await doc.model.updateOne(
    { _id: doc._id, holds: { $elemMatch: { orderId, ref, qty: line.qty } } },
    { $inc: { available: line.qty, reserved: -line.qty, v: 1 }, $pull: { holds: { orderId, ref } } },
  );
  return res.modifiedCount === 1;
}

/**
 * Turns one order's hold on one SKU into sold stock, and records the sale
 * (which order, how many) in the same update. Returns the sale as recorded
 * if this call made it, null if nothing moved (no such hold, or sold already).
 */
export async function sellHeldLine(orderId: string, ref: string, line: StockLine): Promise<Sale | null> {
  // At most one sale per order and product: the sale record stays until long
  // after the order is confirmed (see pruneRecordedSales), so no run, however
  // stale, sells the line twice.
  const at = new Date();
  const doc = stockDoc(line.sku, line.stripe);
  const res = await doc.model.updateOne(
    { _id: doc._id, holds: { $elemMatch: { orderId, ref, qty: line.qty } }, 'sales.orderId': { $ne: orderId } },
    {
      $inc: { reserved: -line.qty, sold: line.qty, v: 1 },
      $pull: { holds: { orderId, ref } },
      $push: { sales: { orderId, ref, qty: line.qty, at } },
    },
  );
  return res.modifiedCount === 1 ? { qty: line.qty, at } : null;
}

export interface Sale {
  qty: number;
  at: Date;
}

/** The record of the sale of the order's line, while its stripe keeps it. */
export async function saleOf(orderId: string, line: Pick<StockLine, 'sku' | 'stripe'>): Promise<Sale | null> {
  const doc = stockDoc(line.sku, line.stripe);
  const stock = await doc.model.findById(doc._id, { sales: 1 }).lean<Pick<ProductDoc, 'sales'>>();
  return stock?.sales.find((s) => s.orderId === orderId) ?? null;
}

interface StockRecords {
  _id: string;
  sku?: string;
  holds: ProductDoc['holds'];
  sales: ProductDoc['sales'];
}

/** Documents of products and stripes with records matching `filter`, at most `limit` of each (a bounded scan). */
async function stockDocsWith(filter: Record<string, unknown>, fields: Record<string, 1>, limit: number): Promise<{ sku: string; stripe: number; doc: StockRecords }[]> {
  const products = await Product.find(filter, fields).limit(limit).lean<StockRecords[]>();
  const stripes = await StockStripe.find(filter, { ...fields, sku: 1 }).limit(limit).lean<StockRecords[]>();
  return [
    ...products.map((doc) => ({ sku: doc._id, stripe: 0, doc })),
    ...stripes.map((doc) => ({ sku: doc.sku ?? doc._id, stripe: stripeOfId(doc._id), doc })),
  ];
}

export interface SaleRecord {
  sku: string;
  stripe: number;
  orderId: string;
}

/** Sales older than `before` still on their products' stock, at most `limit` documents of each kind (a bounded scan of the catalogue). */
export async function oldSales(before: Date, limit: number): Promise<SaleRecord[]> {
  const found = await stockDocsWith({ 'sales.at': { $lt: before } }, { sales: 1 }, limit);
  return found.flatMap(({ sku, stripe, doc }) => doc.sales.filter((s) => s.at < before).map((s) => ({ sku, stripe, orderId: s.orderId })));
}

export interface HoldRecord {
  sku: string;
  stripe: number;
  orderId: string;
  ref: string;
  qty: number;
}

/** Holds taken before `before` still on their products' stock, at most `limit` (a bounded scan of the catalogue, as oldSales). */
export async function oldHolds(before: Date, limit: number): Promise<HoldRecord[]> {
  const found = await stockDocsWith({ 'holds.at': { $lt: before } }, { holds: 1 }, limit);
  return found
    .flatMap(({ sku, stripe, doc }) => doc.holds.filter((h) => h.at < before).map((h) => ({ sku, stripe, orderId: h.orderId, ref: h.ref, qty: h.qty })))
    .slice(0, limit);
}

/** Drops a sale record from its stock document once its order has its own copy; safe to repeat. */
export async function dropSale(orderId: string, line: Pick<StockLine, 'sku' | 'stripe'>): Promise<void> {
  const doc = stockDoc(line.sku, line.stripe);
  await doc.model.updateOne({ _id: doc._id, 'sales.orderId': orderId }, { $pull: { sales: { orderId } } });
}

export type ReserveResult =
  | { ok: true; newlyHeld: number }
  | { ok: false; reason: 'OUT_OF_STOCK' | 'UNKNOWN_SKU'; sku: string };

/**
 * Holds every line for the order under `ref`, or reports the first line that
 * cannot be held. Lines are taken in SKU order so two multi-line orders
 * contend in the same order, which keeps failures rare. With `adoptRef`,
 * holds still left from that earlier reservation are taken over rather than
 * held twice.
 *
 * A failure gives nothing back here: the holds are keyed by order, not by
 * run, so a twin run of the same step (a stalled job run again) may be
 * holding the same lines for a reservation that succeeded. The caller first
 * records the failure on the order (a conditional transition that a
 * succeeded twin refuses), and only then gives back (`releaseLines`).
 */
export async function reserveLines(
  orderId: string,
  ref: string,
  lines: readonly StockLine[],
  opts: { adoptRef?: string } = {},
): Promise<ReserveResult> {
  const sorted = [...lines].sort((a, b) => a.sku.localeCompare(b.sku));
  let newlyHeld = 0;
  for (const line of sorted) {
    const result = await holdLine(orderId, ref, line, opts.adoptRef);
    if (result === 'held' || result === 'adopted') newlyHeld++;
    // A line already sold to the order counts as held: the order is past reserving it.
    if (result === 'held' || result === 'adopted' || result === 'already-held' || result === 'already-sold') continue;
    logger.info({ orderId, ref, sku: line.sku, result }, 'reservation failed');
    return { ok: false, reason: result === 'insufficient' ? 'OUT_OF_STOCK' : 'UNKNOWN_SKU', sku: line.sku };
  }
  return { ok: true, newlyHeld };
}

/** Releases every hold of one reservation of the order; safe to repeat. Returns how many lines were given back. */
export async function releaseLines(orderId: string, ref: string, lines: readonly StockLine[]): Promise<number> {
  let released = 0;
  for (const line of lines) if (await releaseLine(orderId, ref, line)) released++;
  return released;
}

