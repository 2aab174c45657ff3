/** The catalogue as customers see it: prices in minor units, stock as a number. */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';

export interface CatalogItem {
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  available: number;
}

export function toCatalogItem(p: Pick<ProductDoc, '_id' | 'name' | 'description' | 'priceMinor' | 'currency' | 'available'>): CatalogItem {
  return {
    sku: p._id,
    name: p.name,
    description: p.description,
    priceMinor: p.priceMinor,
    currency: p.currency,
    available: p.available,
  };
}

export async function listCatalog(): Promise<CatalogItem[]> {
  const products = await Product.find({ active: true }, { holds: 0 }).sort({ _id: 1 }).limit(500).lean<ProductDoc[]>();
  return products.map(toCatalogItem);
}

/** Products by SKU, active ones only; the map lacks any SKU that is unknown or withdrawn. */
export async function findActiveProducts(skus: readonly string[]): Promise<Map<string, ProductDoc>> {
  const products = await Product.find({ _id: { $in: [...new Set(skus)] }, active: true }, { holds: 0 }).lean<ProductDoc[]>();
  return new Map(products.map((p) => [p._id, p]));
}
