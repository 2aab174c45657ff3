/**
 * The catalogue. Customers see prices in minor units and stock only as a
 * label ("in stock", "only a few left", "sold out"): the exact count would
 * tell a hoarder precisely how much to take. The exact figures are for the
 * operators (stockLevels), never for the public API.
 */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { withAllStripes } from '../inventory/stripes';

export type StockLabel = 'in-stock' | 'few-left' | 'sold-out';

export interface CatalogItem {
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  stock: StockLabel;
}

/** At or below `lowStockThreshold` units (and above none), only a few are left. */
export function stockLabel(available: number, lowStockThreshold: number): StockLabel {
  if (available <= 0) return 'sold-out';
  return available <= lowStockThreshold ? 'few-left' : 'in-stock';
}

export function toCatalogItem(
  p: Pick<ProductDoc, '_id' | 'name' | 'description' | 'priceMinor' | 'currency' | 'available'>,
  lowStockThreshold: number,
): CatalogItem {
  return {
    sku: p._id,
    name: p.name,
    description: p.description,
    priceMinor: p.priceMinor,
    currency: p.currency,
    stock: stockLabel(p.available, lowStockThreshold),
  };
}

/** Active products, their stock summed over their stripes (inventory/stripes.ts). */
const activeProducts = async () => withAllStripes(await Product.find({ active: true }, { holds: 0, sales: 0 }).sort({ _id: 1 }).limit(500).lean<ProductDoc[]>());

export async function listCatalog(lowStockThreshold: number): Promise<CatalogItem[]> {
  return (await activeProducts()).map((p) => toCatalogItem(p, lowStockThreshold));
}

/** Exact stock per active product, for operators (the admin console); not exposed on the public API. */
export interface StockLevel {
  sku: string;
  name: string;
  initialStock: number;
  available: number;
  reserved: number;
  sold: number;
}

export async function stockLevels(): Promise<StockLevel[]> {
  return (await activeProducts()).map((p) => ({
    sku: p._id,
    name: p.name,
    initialStock: p.initialStock,
    available: p.available,
    reserved: p.reserved,
    sold: p.sold,
  }));
}

/** Products by SKU as carts and the checkout read them; see product-reads.ts. */
export { findActiveProducts } from './product-reads';
