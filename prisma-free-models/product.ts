/**
 * A catalogue item and its stock. Stock lives on the product document so that
 * every stock movement is one atomic single-document update:
 *   initialStock = available + reserved + sold   (always)
 *   reserved     = sum(holds[].qty)             (always)
 *   sold         = sum of the sales recorded on orders (`sold`) and still
 *                  waiting here (`sales`), each order counted once
 * A hold is keyed by orderId inside the same document, which is what makes
 * reserving, releasing and selling idempotent without transactions.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const holdSchema = new Schema(
  {
    orderId: { type: String, required: true },
    // Which reservation of the order this hold belongs to ('r1' first, 'late' for a
    // late payment), so a delayed release of an old reservation never frees a new one.
    ref: { type: String, required: true },
    qty: { type: Number, required: true, min: 1 },
    at: { type: Date, required: true },
  },
  { _id: false },
);

/**
 * A sale: written in the same update that turns an order's hold into sold
 * stock, so which order each sold unit went to is never in doubt. While it is
 * here, no run of any step can hold or sell that line for that order again
 * (both updates are conditional on its absence). The order copies it into its
 * own `sold`; the reconciler drops it from the product some time after that
 * (SALE_RECORD_TTL_MS), so the product document stays small however much is sold.
 */
const saleSchema = new Schema(
  {
    orderId: { type: String, required: true },
    ref: { type: String, required: true },
    qty: { type: Number, required: true, min: 1 },
    at: { type: Date, required: true },
  },
  { _id: false },
);

/**
 * Stock an operator added (the console's "add stock"), keyed by the request's
 * idempotency key: the update that adds the units pushes this record and is
 * conditional on its absence, so a retried request adds nothing more. The
 * last 100 are kept (the audit trail of restocks, and the retry window).
 */
const restockSchema = new Schema(
  {
    key: { type: String, required: true },
    qty: { type: Number, required: true, min: 1 },
    at: { type: Date, required: true },
  },
  { _id: false },
);

const productSchema = new Schema(
  {
    _id: { type: String, required: true }, // the SKU
    name: { type: String, required: true, maxlength: 200 },
    description: { type: String, default: '', maxlength: 2000 },
    priceMinor: { type: Number, required: true, min: 0 },
    currency: { type: String, required: true, lowercase: true },
    initialStock: { type: Number, required: true, min: 0 },
    available: { type: Number, required: true, min: 0 },
    reserved: { type: Number, required: true, min: 0, default: 0 },
    sold: { type: Number, required: true, min: 0, default: 0 },
    holds: { type: [holdSchema], default: [] },
    sales: { type: [saleSchema], default: [] },
    restocks: { type: [restockSchema], default: undefined },
    active: { type: Boolean, default: true },
  },
  { timestamps: true, versionKey: false },
);

productSchema.plugin(operationGatePlugin);

export type ProductDoc = InferSchemaType<typeof productSchema>;

export const Product: Model<ProductDoc> =
  (mongoose.models.Product as Model<ProductDoc> | undefined) ?? mongoose.model<ProductDoc>('Product', productSchema);
