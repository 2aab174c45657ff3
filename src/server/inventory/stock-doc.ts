/**
 * Which document carries a stripe of a product's stock: the product itself
 * for stripe 0, its StockStripe document otherwise. Both carry the same stock
 * fields (prisma-free-models/stock-fields.ts), so every stock update is
 * written once, against either.
 */
import type { Model } from 'mongoose';
import { Product } from '../../../prisma-free-models/product';
import { StockStripe, stripeDocId, type StockStripeDoc } from '../../../prisma-free-models/stock-stripe';

/** The stock fields, as both kinds of document have them. */
export type StockFieldsDoc = Omit<StockStripeDoc, 'sku'> & { _id: string };

export interface StockDocRef {
  model: Model<StockFieldsDoc>;
  _id: string;
  stripe: number;
}

export function stockDoc(sku: string, stripe?: number | null): StockDocRef {
  return !stripe
    ? { model: Product as unknown as Model<StockFieldsDoc>, _id: sku, stripe: 0 }
    : { model: StockStripe as unknown as Model<StockFieldsDoc>, _id: stripeDocId(sku, stripe), stripe };
}
