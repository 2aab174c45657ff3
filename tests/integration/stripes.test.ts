/**
 * A product's stock split into stripes (src/server/inventory/stripes.ts):
 * every order line holds on its own stripe, units move to a short stripe from
 * the others, a buyer is refused only when all stripes together are short,
 * and a transfer left half done is finished, once, by whoever meets it.
 * Interleavings of these steps are proved by the scheduler's stripe scenarios.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product, StockStripe, stripeDocId, type ProductDoc } from '../../prisma-free-models';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { checkProductStock } from '../../src/server/audit/stock-checks';
import { findActiveProducts } from '../../src/server/catalog/catalog';
import { releaseLines, reserveLines, sellHeldLine, type StockLine } from '../../src/server/inventory/stock';
import { finishStrandedTransfers, finishTransfer, readStripes, stripeFor, withAllStripes } from '../../src/server/inventory/stripes';
import { placeOrder } from '../../src/server/orders/place-order';
import { reconcile } from '../../src/server/orders/reconcile';
import { cartWith, customer, expectNoViolations, getOrder, manualDeps, newKey, seedProduct } from '../helpers';

let m: ReturnType<typeof manualDeps>;
beforeAll(() => {
  m = manualDeps();
});
afterAll(async () => {
  await m.close();
});

const stripedProduct = (units: number, stripes: number) => seedProduct(units, undefined, { stripes });

/** The product's stock over all its stripes, checked against the stock invariants. */
async function wholeStock(sku: string): Promise<ProductDoc> {
  const [whole] = await withAllStripes(await Product.find({ _id: sku }).lean<ProductDoc[]>());
  if (!whole) throw new Error(`no product ${sku}`);
  expect(checkProductStock(whole)).toEqual([]);
  return whole;
}

const order = () => `ord_${randomBytes(12).toString('hex')}`;
const line = (sku: string, stripe: number, qty = 1): StockLine => ({ sku, qty, stripe });

describe('stock split into stripes', () => {
  it('serves an order on an empty stripe from the others, and refuses only when all of them are short', async () => {
    const sku = await stripedProduct(5, 4);
    // Every unit starts on stripe 0; orders on stripes 1-3 take theirs by transfers.
    const held = [order(), order(), order(), order(), order()];
    const stripes = [1, 2, 3, 3, 1];
    for (const [i, id] of held.entries()) expect(await reserveLines(id, 'r1', [line(sku, stripes[i] as number)])).toEqual({ ok: true, newlyHeld: 1 });
    expect(await wholeStock(sku)).toMatchObject({ initialStock: 5, available: 0, reserved: 5, sold: 0 });

    const late = order();
    expect(await reserveLines(late, 'r1', [line(sku, 2)])).toEqual({ ok: false, reason: 'OUT_OF_STOCK', sku });

    // A unit given back on stripe 3 serves an order on stripe 0.
    expect(await releaseLines(held[2] as string, 'r1', [line(sku, 3)])).toBe(1);
    const next = order();
    expect(await reserveLines(next, 'r1', [line(sku, 0)])).toEqual({ ok: true, newlyHeld: 1 });
    expect(await sellHeldLine(next, 'r1', line(sku, 0))).not.toBeNull();
    const stock = await readStripes(sku);
    expect(stock?.stripes.map((s) => s.xfer)).toEqual([null, null, null, null]);
    expect(await wholeStock(sku)).toMatchObject({ available: 0, reserved: 4, sold: 1 });
  });

  it('refuses only what one moment saw short: a unit given back on one stripe while the last other is taken does not count as none', async () => {
    const sku = await stripedProduct(2, 3);
    // One unit free on stripe 1, the other held on stripe 0 by X; stripe 2 empty (written by Z's first look).
    const [x, y, z, b] = [order(), order(), order(), order()];
    expect((await reserveLines(z, 'r1', [line(sku, 1)])).ok).toBe(true);
    expect(await releaseLines(z, 'r1', [line(sku, 1)])).toBe(1);
    expect((await reserveLines(x, 'r1', [line(sku, 0)])).ok).toBe(true);
    expect((await readStripes(sku))?.stripes.map((st) => st.available)).toEqual([0, 1, 0]);

    // B, on stripe 2, looks at every stripe: between its read of the product and its read of the
    // other stripes, X gives its unit back on stripe 0 and Y takes the one on stripe 1. At no
    // moment was the product without a free unit, but those two reads together see none.
    let interleaved = false;
    const previous = setOperationGate(async (op) => {
      if (interleaved || op.model !== 'StockStripe' || op.op !== 'find') return;
      interleaved = true;
      expect(await releaseLines(x, 'r1', [line(sku, 0)])).toBe(1);
      expect((await reserveLines(y, 'r1', [line(sku, 1)])).ok).toBe(true);
    });
    try {
      expect(await reserveLines(b, 'r1', [line(sku, 2)])).toEqual({ ok: true, newlyHeld: 1 });
    } finally {
      setOperationGate(previous);
    }
    expect(interleaved).toBe(true);
    expect(await wholeStock(sku)).toMatchObject({ available: 0, reserved: 2 });
  });

  it('moves no units out of a product withdrawn between a look at its stripes and the transfer', async () => {
    const sku = await stripedProduct(4, 2);
    const a = order();
    // Withdrawn right before the first update of the transfer to stripe 1 (it carries `xfer`).
    let withdrawn = false;
    const previous = setOperationGate(async (op) => {
      if (withdrawn || op.model !== 'Product' || op.op !== 'updateOne' || !JSON.stringify(op.update ?? {}).includes('xfer')) return;
      withdrawn = true;
      await Product.updateOne({ _id: sku }, { $set: { active: false } });
    });
    try {
      expect(await reserveLines(a, 'r1', [line(sku, 1)])).toEqual({ ok: false, reason: 'UNKNOWN_SKU', sku });
    } finally {
      setOperationGate(previous);
    }
    expect(withdrawn).toBe(true);
    expect((await readStripes(sku))?.stripes.map((st) => ({ available: st.available, xfer: st.xfer }))).toEqual([
      { available: 4, xfer: null },
      { available: 0, xfer: null },
    ]);
  });

  it('holds one order once on its stripe, whatever runs it twice', async () => {
    const sku = await stripedProduct(3, 3);
    const id = order();
    const results = await Promise.all(Array.from({ length: 4 }, () => reserveLines(id, 'r1', [line(sku, 2)])));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.reduce((n, r) => n + (r.ok ? r.newlyHeld : 0), 0)).toBe(1);
    const whole = await wholeStock(sku);
    expect(whole.holds.map((h) => h.orderId)).toEqual([id]);
    expect(whole).toMatchObject({ available: 2, reserved: 1 });
  });

  it('sells exactly the units when many orders on all stripes hold at once', async () => {
    const sku = await stripedProduct(20, 8);
    const ids = Array.from({ length: 40 }, order);
    const results = await Promise.all(ids.map((id) => reserveLines(id, 'r1', [line(sku, stripeFor(id, sku, 8))])));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'OUT_OF_STOCK')).toBe(true);
    expect(await wholeStock(sku)).toMatchObject({ available: 0, reserved: 20 });
  });

  it('finishes a transfer left half done, once: by the reconciler or the next hold that needs it', async () => {
    const sku = await stripedProduct(4, 2);
    // A transferer that died after its first step: two units taken from stripe 0 for stripe 1.
    await Product.updateOne({ _id: sku }, { $inc: { available: -2, v: 1 }, $set: { xferSeq: 1, xfer: { seq: 1, to: 1, qty: 2 } } });
    // The units in transit are still the product's: counted as available, conserved.
    expect(await wholeStock(sku)).toMatchObject({ available: 4 });
    expect((await findActiveProducts([sku])).get(sku)?.available).toBe(4);

    // The next hold on stripe 1 finds its document missing and the transfer in flight: it finishes it and holds.
    const a = order();
    expect(await reserveLines(a, 'r1', [line(sku, 1)])).toEqual({ ok: true, newlyHeld: 1 });
    const after = await readStripes(sku);
    expect(after?.stripes.map((s) => ({ available: s.available, xfer: s.xfer }))).toEqual([
      { available: 2, xfer: null },
      { available: 1, xfer: null },
    ]);
    // A late run of the same transfer's credit is refused: the stripe recorded it.
    await finishTransfer(sku, 0, { seq: 1, to: 1, qty: 2 });
    expect(await wholeStock(sku)).toMatchObject({ available: 3, reserved: 1 });

    // Another, stranded with nobody holding: the reconciler's sweep finishes it.
    await Product.updateOne({ _id: sku }, { $inc: { available: -1, v: 1 }, $set: { xferSeq: 2, xfer: { seq: 2, to: 1, qty: 1 } } });
    const report = await reconcile(m.deps, { stuckAfterMs: 60_000, idempotencyKeyTtlMs: 24 * 3600_000 });
    expect(report.transfersFinished).toBeGreaterThanOrEqual(1);
    expect(await StockStripe.findById(stripeDocId(sku, 1)).lean()).toMatchObject({ available: 2, credited: { s0: 2 } });
    expect(await wholeStock(sku)).toMatchObject({ available: 3, reserved: 1 });
    expect(await finishStrandedTransfers(100)).toBe(0);
  });

  it('places orders on stripes, shows the stock of all of them and rejects at placement only a shortfall of all of them', async () => {
    const sku = await stripedProduct(2, 4);
    const placed = [];
    for (let i = 0; i < 2; i++) {
      const cartId = await cartWith([{ sku, qty: 1 }]);
      placed.push(await placeOrder({ cartId, customer: { ...customer, email: `stripes-${i}-${randomBytes(3).toString('hex')}@example.com` }, idempotencyKey: newKey() }, { ...m.deps, reserveAtPlacement: true }));
    }
    expect(placed.map((p) => p.state)).toEqual(['INVENTORY_RESERVED', 'INVENTORY_RESERVED']);
    for (const p of placed) {
      const o = await getOrder(p.orderId);
      expect(o.lines[0]?.stripe).toBe(stripeFor(p.orderId, sku, 4));
    }
    expect((await findActiveProducts([sku])).get(sku)?.available).toBe(0);
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const third = await placeOrder({ cartId, customer: { ...customer, email: `stripes-late-${randomBytes(3).toString('hex')}@example.com` }, idempotencyKey: newKey() }, { ...m.deps, reserveAtPlacement: true });
    expect(third.state).toBe('REJECTED');
    await expectNoViolations({ orderIds: [...placed.map((p) => p.orderId), third.orderId], skus: [sku] });
  });
});
