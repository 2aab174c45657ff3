/** A server-side cart, addressed by an unguessable id (the id is the capability). */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const cartLineSchema = new Schema(
  {
    sku: { type: String, required: true },
    qty: { type: Number, required: true, min: 1 },
  },
  { _id: false },
);

const cartSchema = new Schema(
  {
    _id: { type: String, required: true },
    lines: { type: [cartLineSchema], default: [] },
    /** The order this cart became; set once, after which the cart no longer changes. */
    orderId: { type: String },
  },
  { timestamps: true, versionKey: false },
);

// Retention: carts untouched for CART_RETENTION_MS are purged by age of their
// last change (src/server/retention/purge.ts).
cartSchema.index({ updatedAt: 1 });

cartSchema.plugin(operationGatePlugin);

export type CartDoc = InferSchemaType<typeof cartSchema>;

export const Cart: Model<CartDoc> =
  (mongoose.models.Cart as Model<CartDoc> | undefined) ?? mongoose.model<CartDoc>('Cart', cartSchema);
