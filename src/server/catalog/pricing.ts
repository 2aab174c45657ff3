/**
 * Prices and totals, computed on the server from the catalogue in minor units
 * (paise for INR). Nothing the client sends is ever used as a price.
 */
import type { ProductDoc } from '../../../prisma-free-models/product';
import { DomainError } from '../errors';
import { findActiveProducts } from './catalog';

export interface PricedLine {
  sku: string;
  name: string;
  unitPriceMinor: number;
  qty: number;
  lineTotalMinor: number;
}

export interface PricedLines {
  lines: PricedLine[];
  totalMinor: number;
  currency: string;
}

export async function priceLines(items: readonly { sku: string; qty: number }[], currency: string): Promise<PricedLines> {
  return priceWith(items, await findActiveProducts(items.map((i) => i.sku)), currency);
}

/** The same, from products already read (findActiveProducts). */
export function priceWith(items: readonly { sku: string; qty: number }[], products: ReadonlyMap<string, ProductDoc>, currency: string): PricedLines {
  const lines = items.map((item): PricedLine => {
    const product = products.get(item.sku);
    if (!product) throw new DomainError('UNKNOWN_SKU', `Unknown or withdrawn product ${item.sku}`, { field: 'sku', sku: item.sku });
    if (product.currency !== currency) {
      throw new DomainError('VALIDATION', `Product ${item.sku} is priced in ${product.currency}, not ${currency}`, { field: 'sku' });
    }
    return {
      sku: item.sku,
      name: product.name,
      unitPriceMinor: product.priceMinor,
      qty: item.qty,
      lineTotalMinor: product.priceMinor * item.qty,
    };
  });
  const totalMinor = lines.reduce((sum, l) => sum + l.lineTotalMinor, 0);
  return { lines, totalMinor, currency };
}
