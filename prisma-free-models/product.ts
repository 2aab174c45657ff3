/**
 * A catalogue item and its stock. Stock lives on the product document so that
 * every stock movement is one atomic single-document update:
 *   initialStock = available + reserved + sold   (always)
 *   reserved     = sum(holds[].qty)             (always)
 *   sold         = sum of the sales recorded on orders (`sold`) and still
 *                  waiting here (`sales`), each order counted once
 * A hold is keyed by orderId inside the same document, which is what makes
 * reserving, releasing and selling idempotent without transactions.
 *
 * A hot product's stock may be split into stripes (`stripes`, stock-stripe.ts):
 * then the sums above are over this document and its stripes, plus the units
 * of a transfer between two of them not yet credited.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';
import { stockFields } from './stock-fields';

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
    ...stockFields(),
    /**
     * How many documents carry this product's stock (stock-stripe.ts): this
     * one is stripe 0; stripes 1 .. stripes-1 are StockStripe documents.
     * Absent: 1, all stock here. Fixed once orders use it (each order line
     * records its stripe).
     */
    stripes: { type: Number, min: 1, max: 64 },
    restocks: { type: [restockSchema], default: undefined },
    active: { type: Boolean, default: true },
  },
  { timestamps: true, versionKey: false },
);

productSchema.plugin(operationGatePlugin);

export type ProductDoc = InferSchemaType<typeof productSchema>;

export const Product: Model<ProductDoc> =
  (mongoose.models.Product as Model<ProductDoc> | undefined) ?? mongoose.model<ProductDoc>('Product', productSchema);
