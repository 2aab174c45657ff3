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
 * This is the step-with-its-undo pattern: `reserveLines` gives back what it
 * took when a later line fails, so a multi-line order gets all lines or none.
 */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { logger } from '../logger';

export interface StockLine {
  sku: string;
  qty: number;
}

/** The ref of an order's first reservation. */
export const FIRST_HOLD_REF = 'r1';
/** The ref of the reservation taken again for a payment that arrived after the order closed. */
export const LATE_HOLD_REF = 'late';

export type HoldResult = 'held' | 'already-held' | 'adopted' | 'insufficient' | 'unknown-sku';

async function holdLine(orderId: string, ref: string, line: StockLine, adoptRef?: string): Promise<HoldResult> {
  // Two rounds at most: an adoption can lose a race to the release of the old
  // hold, after which a plain hold decides.
  for (let round = 0; round < 2; round++) {
    if (adoptRef) {
      // The earlier reservation's hold is still there: take it over instead of
      // holding twice. Atomic against the release of the old ref: one of them wins.
      // (arrayFilters rather than the positional `$`: mongo-java-server does not
      // support `$` after an $elemMatch filter; both forms are atomic on MongoDB.)
      const adopted = await Product.updateOne(
        { _id: line.sku, holds: { $elemMatch: { orderId, ref: adoptRef, qty: line.qty } } },
        { $set: { 'holds.$[h].ref': ref } },
        { arrayFilters: [{ 'h.orderId': orderId, 'h.ref': adoptRef }] },
      );
      if (adopted.modifiedCount === 1) return 'adopted';
    }
    const res = await Product.updateOne(
      { _id: line.sku, active: true, available: { $gte: line.qty }, 'holds.orderId': { $ne: orderId } },
      {
        $inc: { available: -line.qty, reserved: line.qty },
        $push: { holds: { orderId, ref, qty: line.qty, at: new Date() } },
      },
    );
    if (res.modifiedCount === 1) return 'held';
    // Nothing changed: find out why, without guessing.
    const product = await Product.findById(line.sku, { holds: 1, active: 1 }).lean<Pick<ProductDoc, 'holds' | 'active'>>();
    if (!product?.active) return 'unknown-sku';
    const mine = product.holds.find((h) => h.orderId === orderId);
    if (!mine) return 'insufficient';
    if (mine.ref === ref) return 'already-held';
    if (mine.ref !== adoptRef) {
      throw new Error(`order ${orderId} holds ${line.sku} under ${mine.ref}, not ${ref}${adoptRef ? ` or ${adoptRef}` : ''}`);
    }
  }
  throw new Error(`could not settle the hold of order ${orderId} on ${line.sku}`);
}

/** Gives back one order's hold on one SKU. Returns whether anything was given back. */
async function releaseLine(orderId: string, ref: string, line: StockLine): Promise<boolean> {
  const res = await Product.updateOne(
    { _id: line.sku, holds: { $elemMatch: { orderId, ref, qty: line.qty } } },
    { $inc: { available: line.qty, reserved: -line.qty }, $pull: { holds: { orderId, ref } } },
  );
  return res.modifiedCount === 1;
}

/**
 * Turns one order's hold on one SKU into sold stock, and records the sale
 * (which order, how many) in the same update. Returns whether anything moved.
 */
async function sellLine(orderId: string, ref: string, line: StockLine): Promise<boolean> {
  const res = await Product.updateOne(
    { _id: line.sku, holds: { $elemMatch: { orderId, ref, qty: line.qty } } },
    {
      $inc: { reserved: -line.qty, sold: line.qty },
      $pull: { holds: { orderId, ref } },
      $push: { sales: { orderId, ref, qty: line.qty, at: new Date() } },
    },
  );
  return res.modifiedCount === 1;
}

export interface Sale {
  qty: number;
  at: Date;
}

/** The sale of `sku` to the order still waiting on the product (see the product model's `sales`), if any. */
export async function pendingSale(orderId: string, sku: string): Promise<Sale | null> {
  const product = await Product.findById(sku, { sales: 1 }).lean<Pick<ProductDoc, 'sales'>>();
  return product?.sales.find((s) => s.orderId === orderId) ?? null;
}

/** Drops a sale record from the product once the order has its own copy; safe to repeat. */
export async function dropPendingSale(orderId: string, sku: string): Promise<void> {
  await Product.updateOne({ _id: sku, 'sales.orderId': orderId }, { $pull: { sales: { orderId } } });
}

export type ReserveResult =
  | { ok: true; newlyHeld: number }
  | { ok: false; reason: 'OUT_OF_STOCK' | 'UNKNOWN_SKU'; sku: string };

/**
 * Holds every line for the order under `ref`, or none. Lines are taken in SKU
 * order so two multi-line orders contend in the same order, which keeps the
 * give-back rare. With `adoptRef`, holds still left from that earlier
 * reservation are taken over rather than held twice.
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
    if (result === 'held' || result === 'adopted' || result === 'already-held') continue;
    // All or nothing: give back whatever this reservation holds, including
    // holds a previous (crashed) attempt took.
    await releaseLines(orderId, ref, sorted);
    logger.info({ orderId, ref, sku: line.sku, result }, 'reservation failed; holds released');
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

/** Sells every hold of one reservation of the order; safe to repeat. Returns how many lines moved now. */
export async function sellLines(orderId: string, ref: string, lines: readonly StockLine[]): Promise<number> {
  let sold = 0;
  for (const line of lines) if (await sellLine(orderId, ref, line)) sold++;
  return sold;
}
