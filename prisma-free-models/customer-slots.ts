/**
 * A customer's unpaid orders, as slots: one document per customer (the
 * normalised email, see src/server/abuse/customer-key.ts), holding at most
 * MAX_UNPAID_ORDERS_PER_CUSTOMER slots, each naming the cart whose order
 * occupies it. Taking a slot is one conditional update of this document, so
 * the cap holds however many calls race; src/server/abuse/customer-slots.ts
 * explains when a slot is free again.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const slotSchema = new Schema(
  {
    // The cart, not the order: a cart becomes at most one order (unique
    // Order.cartId), and concurrent calls for one cart share its slot.
    cartId: { type: String, required: true },
    /** When the slot was taken or last confirmed. */
    at: { type: Date, required: true },
  },
  { _id: false },
);

const customerSlotsSchema = new Schema(
  {
    _id: { type: String, required: true }, // the customer key
    slots: { type: [slotSchema], default: [] },
  },
  { timestamps: true, versionKey: false },
);

customerSlotsSchema.plugin(operationGatePlugin);

export type CustomerSlotsDoc = InferSchemaType<typeof customerSlotsSchema>;

export const CustomerSlots: Model<CustomerSlotsDoc> =
  (mongoose.models.CustomerSlots as Model<CustomerSlotsDoc> | undefined) ??
  mongoose.model<CustomerSlotsDoc>('CustomerSlots', customerSlotsSchema);
