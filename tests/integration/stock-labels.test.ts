/** The public catalogue shows stock as a label, never the count (LOW_STOCK_THRESHOLD, default 5). */
import { describe, expect, it } from 'vitest';
import { Product } from '../../prisma-free-models';
import { api, uniqueSku } from '../helpers';

/** A product whose SKU sorts first, so it is among the 500 the catalogue lists whatever else the suite created. */
async function product(stock: number): Promise<string> {
  const sku = uniqueSku('0');
  await Product.create({ _id: sku, name: `Label ${sku}`, priceMinor: 10_000, currency: 'inr', initialStock: stock, available: stock });
  return sku;
}

describe('catalog.list', () => {
  it('labels stock in stock / only a few left / sold out and never shows the count', async () => {
    const skus = { plenty: await product(100), six: await product(6), five: await product(5), one: await product(1), none: await product(0) };
    const list = await api().catalog.list.query();
    const label = (sku: string) => list.find((p) => p.sku === sku)?.stock;
    expect(label(skus.plenty)).toBe('in-stock');
    expect(label(skus.six)).toBe('in-stock');
    expect(label(skus.five)).toBe('few-left');
    expect(label(skus.one)).toBe('few-left');
    expect(label(skus.none)).toBe('sold-out');
    for (const item of list) expect(Object.keys(item).sort()).toEqual(['currency', 'description', 'name', 'priceMinor', 'sku', 'stock']);
  });
});
