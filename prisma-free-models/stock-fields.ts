/**
 * The stock a document carries: the product's own (stripe 0) and each of its
 * stripes' (stock-stripe.ts) have the same fields, so every stock movement is
 * the same atomic single-document update whichever document it touches.
 */
import { Schema } from 'mongoose';

/** An order's stock on a document: its hold, or its sale. The same fields; two lists, two meanings. */
const orderStockSchema = () =>
  new Schema(
    {
      orderId: { type: String, required: true },
      // Which reservation of the order it belongs to ('r1' first, 'late' for a late
      // payment), so a delayed release of an old reservation never frees a new one.
      ref: { type: String, required: true },
      qty: { type: Number, required: true, min: 1 },
      at: { type: Date, required: true },
    },
    { _id: false },
  );

/** A hold: units kept for an order until it is paid (then sold) or closed (then given back). */
const holdSchema = orderStockSchema();

/**
 * A sale: written in the same update that turns an order's hold into sold
 * stock, so which order each sold unit went to is never in doubt. While it is
 * here, no run of any step can hold or sell that line for that order again
 * (both updates are conditional on its absence). The order copies it into its
 * own `sold`; the reconciler drops it from here some time after that
 * (SALE_RECORD_TTL_MS), so the document stays small however much is sold.
 */
const saleSchema = orderStockSchema();

/**
 * Units on their way from this document to another stripe of the same product
 * (inventory/stripes.ts): taken from `available` in the same update that
 * wrote this, credited to `to` by a second update that records `seq` there,
 * and cleared by a third. At most one at a time per document.
 */
const transferSchema = new Schema(
  {
    seq: { type: Number, required: true, min: 1 },
    to: { type: Number, required: true, min: 0 },
    qty: { type: Number, required: true, min: 1 },
  },
  { _id: false },
);

/** The fields, for a schema definition (a fresh object each call: mongoose keeps what it is given). */
export function stockFields() {
  return {
    available: { type: Number, required: true, min: 0 },
    reserved: { type: Number, required: true, min: 0, default: 0 },
    sold: { type: Number, required: true, min: 0, default: 0 },
    holds: { type: [holdSchema], default: [] },
    sales: { type: [saleSchema], default: [] },
    /** Raised by every write of the stock: two reads of a product's stripes with equal versions saw one moment. */
    v: { type: Number, default: 0 },
    /** The transfer from this document in flight, if any. */
    xfer: { type: transferSchema, default: null },
    /** The last transfer number this document gave out. */
    xferSeq: { type: Number, default: 0 },
    /** Per source stripe (`s<k>`), the last transfer number credited here: a transfer is credited once. */
    credited: { type: Schema.Types.Mixed, default: undefined },
  };
}
