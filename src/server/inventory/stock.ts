/**
 * Stock holds: reserve, release and sell, one atomic single-document update
 * per SKU. A hold is recorded inside the product document in the same write
 * that moves the counters, keyed by orderId, so:
 *   - reserving twice for one order finds the hold and takes nothing more;
 *   - releasing or selling twice finds no hold the second time and does nothing;
 *   - stock can never go below zero (the update's condition is available >= qty).
 * This is the step-with-its-undo pattern: `reserveLines` gives back what it
 * took when a later line fails, so a multi-line order gets all lines or none.
 */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { logger } from '../logger';

export interface StockLine {
  sku: string;
  qty: number;
}

export type HoldResult = 'held' | 'already-held' | 'insufficient' | 'unknown-sku';

async function holdLine(orderId: string, line: StockLine): Promise<HoldResult> {
  const res = await Product.updateOne(
    { _id: line.sku, active: true, available: { $gte: line.qty }, 'holds.orderId': { $ne: orderId } },
    {
      $inc: { available: -line.qty, reserved: line.qty },
      $push: { holds: { orderId, qty: line.qty, at: new Date() } },
    },
  );
  if (res.modifiedCount === 1) return 'held';
  // Nothing changed: find out why, without guessing.
  const product = await Product.findById(line.sku, { holds: 1, active: 1 }).lean<Pick<ProductDoc, 'holds' | 'active'>>();
  if (!product || !product.active) return 'unknown-sku';
  if (product.holds.some((h) => h.orderId === orderId)) return 'already-held';
  return 'insufficient';
}

/** Gives back one order's hold on one SKU. Returns whether anything was given back. */
async function releaseLine(orderId: string, line: StockLine): Promise<boolean> {
  const res = await Product.updateOne(
    { _id: line.sku, holds: { $elemMatch: { orderId, qty: line.qty } } },
    { $inc: { available: line.qty, reserved: -line.qty }, $pull: { holds: { orderId } } },
  );
  return res.modifiedCount === 1;
}

/** Turns one order's hold on one SKU into sold stock. Returns whether anything moved. */
async function sellLine(orderId: string, line: StockLine): Promise<boolean> {
  const res = await Product.updateOne(
    { _id: line.sku, holds: { $elemMatch: { orderId, qty: line.qty } } },
    { $inc: { reserved: -line.qty, sold: line.qty }, $pull: { holds: { orderId } } },
  );
  return res.modifiedCount === 1;
}

export type ReserveResult =
  | { ok: true; newlyHeld: number }
  | { ok: false; reason: 'OUT_OF_STOCK' | 'UNKNOWN_SKU'; sku: string };

/**
 * Holds every line for the order, or none. Lines are taken in SKU order so two
 * multi-line orders contend in the same order, which keeps the give-back rare.
 */
export async function reserveLines(orderId: string, lines: readonly StockLine[]): Promise<ReserveResult> {
  const sorted = [...lines].sort((a, b) => a.sku.localeCompare(b.sku));
  let newlyHeld = 0;
  for (const line of sorted) {
    const result = await holdLine(orderId, line);
    if (result === 'held') newlyHeld++;
    if (result === 'held' || result === 'already-held') continue;
    // All or nothing: give back whatever this order holds, including holds a
    // previous (crashed) attempt took.
    await releaseLines(orderId, sorted);
    logger.info({ orderId, sku: line.sku, result }, 'reservation failed; holds released');
    return { ok: false, reason: result === 'insufficient' ? 'OUT_OF_STOCK' : 'UNKNOWN_SKU', sku: line.sku };
  }
  return { ok: true, newlyHeld };
}

/** Releases every hold of the order; safe to repeat. Returns how many lines were given back. */
export async function releaseLines(orderId: string, lines: readonly StockLine[]): Promise<number> {
  let released = 0;
  for (const line of lines) if (await releaseLine(orderId, line)) released++;
  return released;
}

/** Sells every hold of the order; safe to repeat. Returns how many lines moved now. */
export async function sellLines(orderId: string, lines: readonly StockLine[]): Promise<number> {
  let sold = 0;
  for (const line of lines) if (await sellLine(orderId, line)) sold++;
  return sold;
}
