/**
 * Product reads of carts and the checkout (src/server/catalog/product-reads.ts):
 * kept for at most their age limit, shared by concurrent callers, and never
 * what decides a hold (the reservation's conditional update does).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Product } from '../../prisma-free-models/product';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { findActiveProducts, keepProductReadsFor } from '../../src/server/catalog/product-reads';
import { releaseLines, reserveLines } from '../../src/server/inventory/stock';
import { operationsOf, seedProduct, stockOf } from '../helpers';

afterEach(() => {
  setOperationGate(undefined);
  keepProductReadsFor(0);
});

async function productReads(work: () => Promise<unknown>): Promise<number> {
  return (await operationsOf(work)).filter((op) => op.model === 'Product').length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('product reads', () => {
  it('are kept for at most their age limit, then read again', async () => {
    keepProductReadsFor(300);
    const sku = await seedProduct(10, 1_000);
    expect((await findActiveProducts([sku])).get(sku)?.priceMinor).toBe(1_000);
    await Product.updateOne({ _id: sku }, { $set: { priceMinor: 2_000 } });
    // Within the limit: the earlier read, without a database read.
    expect(await productReads(async () => expect((await findActiveProducts([sku])).get(sku)?.priceMinor).toBe(1_000))).toBe(0);
    await sleep(350);
    expect((await findActiveProducts([sku])).get(sku)?.priceMinor).toBe(2_000);
    // Withdrawn: gone from the map once the limit has passed.
    await Product.updateOne({ _id: sku }, { $set: { active: false } });
    await sleep(350);
    expect((await findActiveProducts([sku])).has(sku)).toBe(false);
  });

  it('are read once for any number of concurrent callers, unknown SKUs included', async () => {
    keepProductReadsFor(5_000);
    const sku = await seedProduct(10);
    const reads = await productReads(async () => {
      const all = await Promise.all(Array.from({ length: 50 }, () => findActiveProducts([sku, 'NO-SUCH-SKU'])));
      expect(all.every((m) => m.has(sku) && !m.has('NO-SUCH-SKU'))).toBe(true);
    });
    expect(reads).toBe(1);
  });

  it('with the limit at 0, read the database every time', async () => {
    const sku = await seedProduct(10);
    expect(await productReads(() => Promise.all([findActiveProducts([sku]), findActiveProducts([sku])]))).toBe(2);
  });

  it('do not decide holds: stock that ran out after a read is still refused by the reservation', async () => {
    keepProductReadsFor(5_000);
    const sku = await seedProduct(1);
    expect((await findActiveProducts([sku])).get(sku)?.available).toBe(1);
    expect(await reserveLines('ord_product_reads_a', 'r1', [{ sku, qty: 1 }])).toMatchObject({ ok: true });
    // The kept read still shows the unit; the hold does not.
    expect((await findActiveProducts([sku])).get(sku)?.available).toBe(1);
    expect(await reserveLines('ord_product_reads_b', 'r1', [{ sku, qty: 1 }])).toEqual({ ok: false, reason: 'OUT_OF_STOCK', sku });
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 1 });
    await releaseLines('ord_product_reads_a', 'r1', [{ sku, qty: 1 }]);
  });
});
