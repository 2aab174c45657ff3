/**
 * Stock split into stripes: a hot product's units spread over several
 * documents (the product itself is stripe 0, prisma-free-models/stock-stripe.ts
 * the others), so a sale of thousands of units does not rewrite one large
 * document for every hold and sale.
 *
 * Every order line uses one stripe, chosen when the order is placed and
 * recorded on the line, so all holds, sales and releases of that line touch one
 * document and keep their single-document guarantees (stock.ts). Units come in
 * on stripe 0 and move between stripes only by a transfer, three conditional
 * updates that any process can finish and none can apply twice:
 *   1. on the source: if `available >= qty` and no transfer is in flight,
 *      `available -= qty` and record `xfer = {seq, to, qty}` (seq one past the last);
 *   2. on the target: if the source's `seq` is not yet credited there,
 *      `available += qty` and record it as credited;
 *   3. on the source: clear `xfer` if it is still that `seq`.
 * Whoever reads a stripe with a transfer in flight finishes it (2 and 3), so a
 * transferer that dies strands nothing, and a late step 2 is refused for ever
 * by the credited number. Throughout:
 *   initialStock = Σ (available + reserved + sold) over the stripes
 *                  + the qty of every transfer not yet credited.
 *
 * A hold that finds its stripe short makes room (makeRoom): it finishes
 * transfers in flight, then moves units from the richest stripe, and holds
 * again. It reports the product short only from two reads of all stripes that
 * saw the same versions (every stock write raises its document's `v`): both
 * reads then saw one moment, at which the product as a whole was short. So a
 * buyer is refused only when, at some moment, no stripe could have served him.
 */
import { Product } from '../../../prisma-free-models/product';
import { StockStripe, stripeDocId } from '../../../prisma-free-models/stock-stripe';
import { crashPoint } from '../crash-points';
import { isDuplicateKeyError } from '../errors';
import { stockDoc } from './stock-doc';
import { MAX_STRIPES } from './stripe-limits';

export interface Transfer {
  seq: number;
  to: number;
  qty: number;
}

/** One stripe's stock as read. */
export interface StripeState {
  stripe: number;
  available: number;
  reserved: number;
  sold: number;
  v: number;
  xfer: Transfer | null;
  xferSeq: number;
  credited: Record<string, number>;
  /** No document yet (a stripe is written the first time units move to it). */
  missing: boolean;
}

/** A product's stock over all its stripes, as one round of reads saw it (not one moment: see sameMoment). */
export interface StripedStock {
  sku: string;
  active: boolean;
  stripes: StripeState[];
}


/** A product's number of stripes (1: all its stock on the product document). */
export function stripeCount(product: { stripes?: number | null }): number {
  const n = product.stripes ?? 1;
  return Number.isInteger(n) && n > 1 ? Math.min(n, MAX_STRIPES) : 1;
}

/** The stripe an order's line uses: spread by order id, the same for every run of every step. */
export function stripeFor(orderId: string, sku: string, stripes: number): number {
  if (stripes <= 1) return 0;
  // FNV-1a: cheap, stable across processes and versions.
  let hash = 0x811c9dc5;
  for (const ch of `${orderId}\u0000${sku}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % stripes;
}

const STOCK_FIELDS = { available: 1, reserved: 1, sold: 1, v: 1, xfer: 1, xferSeq: 1, credited: 1 } as const;

interface StoredStock {
  _id: string;
  available?: number;
  reserved?: number;
  sold?: number;
  v?: number;
  xfer?: Transfer | null;
  xferSeq?: number;
  credited?: Record<string, number> | null;
}

function stateOf(stripe: number, doc: StoredStock | undefined): StripeState {
  return {
    stripe,
    available: doc?.available ?? 0,
    reserved: doc?.reserved ?? 0,
    sold: doc?.sold ?? 0,
    v: doc?.v ?? 0,
    xfer: doc?.xfer ?? null,
    xferSeq: doc?.xferSeq ?? 0,
    credited: doc?.credited ?? {},
    missing: doc === undefined,
  };
}

/** The product's stock on every stripe; null when there is no such product. */
export async function readStripes(sku: string): Promise<StripedStock | null> {
  const product = await Product.findById(sku, { ...STOCK_FIELDS, active: 1, stripes: 1 }).lean<StoredStock & { active?: boolean; stripes?: number }>();
  if (!product) return null;
  const n = stripeCount(product);
  const others = n > 1 ? await StockStripe.find({ _id: { $in: Array.from({ length: n - 1 }, (_, i) => stripeDocId(sku, i + 1)) } }, STOCK_FIELDS).lean<StoredStock[]>() : [];
  const byId = new Map(others.map((d) => [d._id, d]));
  const stripes = [stateOf(0, product)];
  for (let k = 1; k < n; k++) stripes.push(stateOf(k, byId.get(stripeDocId(sku, k))));
  return { sku, active: product.active !== false, stripes };
}

/** Whether two reads of a product's stripes saw the same versions of every stripe: then both saw one moment. */
function sameMoment(a: StripedStock, b: StripedStock): boolean {
  return a.stripes.length === b.stripes.length && a.stripes.every((s, i) => s.v === b.stripes[i]?.v && s.missing === b.stripes[i]?.missing) && a.active === b.active;
}

/** Units of transfers taken from their source and not yet credited to their target, by what this read saw. */
function inTransit(stock: StripedStock): number {
  let units = 0;
  for (const source of stock.stripes) {
    const x = source.xfer;
    if (!x) continue;
    const credited = stock.stripes[x.to]?.credited[`s${source.stripe}`] ?? 0;
    if (credited < x.seq) units += x.qty;
  }
  return units;
}

/** Units free to hold across the stripes (transfers in flight included), by what this read saw. */
function totalAvailable(stock: StripedStock): number {
  return stock.stripes.reduce((sum, s) => sum + s.available, 0) + inTransit(stock);
}

/**
 * The units free to hold at one moment: two reads that agree, at most `tries`
 * times; null when the stock kept moving under every pair.
 */
export async function availableAtOneMoment(sku: string, tries = 2): Promise<number | null> {
  let before = await readStripes(sku);
  for (let i = 0; i < tries && before; i++) {
    const after = await readStripes(sku);
    if (after && sameMoment(before, after)) return totalAvailable(after);
    before = after;
  }
  return null;
}

/** The fields of a stripe's document when it is first written, besides the ones its first write sets. */
const EMPTY_STRIPE = (sku: string) => ({ sku, reserved: 0, sold: 0, holds: [], sales: [], xfer: null, xferSeq: 0 });

/** The stripe-counter key a target records a source's transfers under. */
const creditKey = (source: number) => `credited.s${source}`;

/** Steps 2 and 3 of a transfer seen in flight on `source`: safe to run any number of times, by anyone. */
export async function finishTransfer(sku: string, source: number, xfer: Transfer): Promise<void> {
  await creditTransfer(sku, source, xfer);
  crashPoint('transfer:after-credit');
  // Only now that the target has it: cleared first, the units would be in no document.
  const from = stockDoc(sku, source);
  await from.model.updateOne({ _id: from._id, 'xfer.seq': xfer.seq }, { $set: { xfer: null }, $inc: { v: 1 } });
}

/** Step 2: the target has the transfer's units once, whether or not its document existed. */
async function creditTransfer(sku: string, source: number, xfer: Transfer): Promise<void> {
  const target = stockDoc(sku, xfer.to);
  const filter = { _id: target._id, [creditKey(source)]: { $not: { $gte: xfer.seq } } };
  const update = { $inc: { available: xfer.qty, v: 1 }, $set: { [creditKey(source)]: xfer.seq } };
  if (xfer.to === 0) {
    await target.model.updateOne(filter, update);
    return;
  }
  try {
    // A stripe's document is written by the first units that reach it.
    await target.model.updateOne(filter, { ...update, $setOnInsert: EMPTY_STRIPE(sku) }, { upsert: true });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    // It exists: either credited already (the filter missed), or written by
    // someone else after the filter looked. The filter decides again.
    await target.model.updateOne(filter, update);
  }
}

/** Step 1: takes `qty` from `source` for `to`, if it still has them and nothing else is moving from it. */
async function startTransfer(sku: string, source: StripeState, to: number, qty: number): Promise<Transfer | null> {
  const seq = source.xferSeq + 1;
  const from = stockDoc(sku, source.stripe);
  const res = await from.model.updateOne(
    {
      _id: from._id,
      // The product's own stripe feeds the others only while it is on sale.
      ...(source.stripe === 0 ? { active: true } : {}),
      xfer: null,
      xferSeq: source.xferSeq === 0 ? { $in: [0, null] } : source.xferSeq,
      available: { $gte: qty },
    },
    { $inc: { available: -qty, v: 1 }, $set: { xferSeq: seq, xfer: { seq, to, qty } } },
  );
  return res.modifiedCount === 1 ? { seq, to, qty } : null;
}

/** Writes the documents of stripes that have none yet (empty), so transfers can credit them. */
async function createStripes(sku: string, stripes: readonly number[]): Promise<void> {
  for (const k of stripes) {
    try {
      await StockStripe.updateOne({ _id: stripeDocId(sku, k) }, { $setOnInsert: { ...EMPTY_STRIPE(sku), available: 0, v: 0 } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // a concurrent creation won: it exists
    }
  }
}

export type RoomResult = 'retry' | 'short' | 'unknown-sku';

/**
 * Stripe `k` of the product could not hold `qty`: moves units to it, or finds
 * the product as a whole short. One round: 'retry' means hold again (something
 * moved, or may have); 'short' means one moment saw fewer than `qty` units free
 * over all stripes; 'unknown-sku' means no such product on sale.
 */
export async function makeRoom(sku: string, k: number, qty: number): Promise<RoomResult> {
  const stock = await readStripes(sku);
  if (!stock || !stock.active) return 'unknown-sku';
  if (k >= stock.stripes.length) throw new Error(`${sku} has ${stock.stripes.length} stripe(s); an order line names stripe ${k}`);
  const missing = stock.stripes.filter((s) => s.missing).map((s) => s.stripe);
  if (missing.length > 0) {
    await createStripes(sku, missing);
    return 'retry';
  }
  const moving = stock.stripes.filter((s) => s.xfer !== null);
  if (moving.length > 0) {
    for (const s of moving) await finishTransfer(sku, s.stripe, s.xfer as Transfer);
    return 'retry';
  }
  const target = stock.stripes[k] as StripeState;
  if (target.available >= qty) return 'retry';
  if (totalAvailable(stock) < qty) {
    const again = await readStripes(sku);
    return again && sameMoment(stock, again) ? 'short' : 'retry';
  }
  const source = stock.stripes.filter((s) => s.stripe !== k).reduce((a, b) => (b.available > a.available ? b : a));
  // Half of the richest stripe at least: the next short stripe then finds units nearer.
  const amount = Math.min(source.available, Math.max(qty - target.available, Math.ceil(source.available / 2)));
  const xfer = await startTransfer(sku, source, k, amount);
  if (xfer) {
    crashPoint('transfer:after-take');
    await finishTransfer(sku, source.stripe, xfer);
  }
  return 'retry';
}

/** Finishes every transfer left in flight (a transferer that died between its steps); returns how many. */
export async function finishStrandedTransfers(limit: number): Promise<number> {
  const products = await Product.find({ xfer: { $ne: null } }, { xfer: 1 }).limit(limit).lean<{ _id: string; xfer: Transfer | null }[]>();
  const stripes = await StockStripe.find({ xfer: { $ne: null } }, { xfer: 1, sku: 1 }).limit(limit).lean<{ _id: string; sku: string; xfer: Transfer | null }[]>();
  let finished = 0;
  for (const p of products) {
    if (!p.xfer) continue;
    await finishTransfer(p._id, 0, p.xfer);
    finished++;
  }
  for (const s of stripes) {
    if (!s.xfer) continue;
    await finishTransfer(s.sku, stripeOfId(s._id), s.xfer);
    finished++;
  }
  return finished;
}

/** The stripe number of a StockStripe `_id` (`<sku>#<k>`). */
export function stripeOfId(id: string): number {
  return Number(id.slice(id.lastIndexOf('#') + 1));
}

interface StockRecord {
  orderId: string;
}

/** What withAllStripes needs of a product (more fields pass through). */
export interface ProductStock extends StoredStock {
  stripes?: number | null;
  holds?: StockRecord[] | null;
  sales?: StockRecord[] | null;
}

/**
 * Products with the stock of all their stripes added in: counters summed
 * (units in transit counted as available), holds and sales of every stripe
 * listed. Products with one stripe come back as they are. The stripes are
 * read after the products, not at one moment: for display and the auditor
 * (which looks twice before it reports), never to decide a hold.
 */
export async function withAllStripes<P extends ProductStock>(products: P[]): Promise<P[]> {
  const striped = products.filter((p) => stripeCount(p) > 1);
  if (striped.length === 0) return products;
  const ids = striped.flatMap((p) => Array.from({ length: stripeCount(p) - 1 }, (_, i) => stripeDocId(p._id, i + 1)));
  const docs = await StockStripe.find({ _id: { $in: ids } }).lean<(StoredStock & { sku: string; holds: StockRecord[]; sales: StockRecord[] })[]>();
  const byId = new Map(docs.map((d) => [d._id, d]));
  return products.map((p) => {
    const n = stripeCount(p);
    if (n === 1) return p;
    const parts = Array.from({ length: n - 1 }, (_, i) => byId.get(stripeDocId(p._id, i + 1)));
    const stock: StripedStock = { sku: p._id, active: true, stripes: [stateOf(0, p), ...parts.map((d, i) => stateOf(i + 1, d))] };
    const sum = (field: 'reserved' | 'sold') => stock.stripes.reduce((total, s) => total + s[field], 0);
    const found = parts.filter((d) => d !== undefined);
    return {
      ...p,
      available: totalAvailable(stock),
      reserved: sum('reserved'),
      sold: sum('sold'),
      ...(p.holds ? { holds: [...p.holds, ...found.flatMap((d) => d.holds)] } : {}),
      ...(p.sales ? { sales: [...p.sales, ...found.flatMap((d) => d.sales)] } : {}),
    };
  });
}
