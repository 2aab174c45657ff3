/**
 * A stripe of a hot product's stock: `_id` `<sku>#<k>` for k = 1 .. stripes-1
 * (the product document is stripe 0). Holds and sales on a product update one
 * document; split into stripes, a sale of thousands of units spreads its holds
 * over several small documents instead of rewriting one large one for every
 * buyer. Each order line records its stripe, so an order's hold on a line is
 * always on the same document, and "never two holds for one order" stays a
 * single-document condition. Units come in on stripe 0 and move between
 * stripes only by transfers (src/server/inventory/stripes.ts).
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';
import { stockFields } from './stock-fields';

const stockStripeSchema = new Schema(
  {
    _id: { type: String, required: true },
    sku: { type: String, required: true },
    ...stockFields(),
  },
  { versionKey: false },
);

stockStripeSchema.plugin(operationGatePlugin);

export type StockStripeDoc = InferSchemaType<typeof stockStripeSchema>;

export const StockStripe: Model<StockStripeDoc> =
  (mongoose.models.StockStripe as Model<StockStripeDoc> | undefined) ??
  mongoose.model<StockStripeDoc>('StockStripe', stockStripeSchema, 'stock_stripes');

/** The `_id` of stripe k of a product (k >= 1). */
export const stripeDocId = (sku: string, stripe: number): string => `${sku}#${stripe}`;
