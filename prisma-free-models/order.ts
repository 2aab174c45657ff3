/**
 * An order. Its `state` is changed only by src/server/orders/state-machine.ts,
 * always with a conditional single-document update from the expected state,
 * and every change appends to `history`.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';
import { ORDER_STATES } from '../src/server/orders/states';

const orderLineSchema = new Schema(
  {
    sku: { type: String, required: true },
    name: { type: String, required: true },
    unitPriceMinor: { type: Number, required: true },
    qty: { type: Number, required: true, min: 1 },
    lineTotalMinor: { type: Number, required: true },
    /** The stripe of the product's stock this line is held and sold on (product.ts `stripes`); absent: 0. */
    stripe: { type: Number, min: 0 },
  },
  { _id: false },
);

const addressSchema = new Schema(
  {
    line1: { type: String, required: true },
    line2: { type: String },
    city: { type: String, required: true },
    state: { type: String, required: true },
    postalCode: { type: String, required: true },
    country: { type: String, required: true },
  },
  { _id: false },
);

const customerSchema = new Schema(
  {
    name: { type: String, required: true },
    email: { type: String, required: true },
    address: { type: addressSchema, required: true },
  },
  { _id: false },
);

const historySchema = new Schema(
  {
    from: { type: String, enum: [...ORDER_STATES, null] },
    to: { type: String, enum: ORDER_STATES, required: true },
    action: { type: String, required: true },
    outcome: { type: String, required: true },
    at: { type: Date, required: true },
    detail: { type: String },
  },
  { _id: false },
);

const paymentEventSchema = new Schema(
  {
    /** The Stripe event id (or `reconcile:<pi>` for what the reconciler learned from Stripe). */
    id: { type: String, required: true },
    type: { type: String, required: true },
    paymentIntentId: { type: String },
    receivedAt: { type: Date, required: true },
    outcome: { type: String, required: true },
  },
  { _id: false },
);

const orderSchema = new Schema(
  {
    _id: { type: String, required: true },
    accessToken: { type: String, required: true },
    idempotencyKey: { type: String },
    /** The cart this order was placed from: a cart becomes at most one order. */
    cartId: { type: String },
    requestHash: { type: String, required: true },
    state: { type: String, enum: ORDER_STATES, required: true },
    stateChangedAt: { type: Date, required: true },
    lines: { type: [orderLineSchema], required: true },
    currency: { type: String, required: true },
    totalMinor: { type: Number, required: true, min: 1 },
    customer: { type: customerSchema, required: true },
    paymentIntentId: { type: String },
    /** Set before the PaymentIntent is requested from Stripe: one may exist even if its id was never stored. */
    paymentRequestedAt: { type: Date },
    clientSecret: { type: String },
    payment: {
      lastError: { code: String, message: String, at: Date },
      succeededEventId: String,
      amountReceived: Number,
      /** Given back so far, in all (charge.refunded). */
      amountRefunded: Number,
      currency: String,
    },
    rejection: { reason: String, sku: String },
    /** Which reservation the order's stock holds belong to (see inventory/stock.ts). */
    holdRef: { type: String, required: true, default: 'r1' },
    /** When an unpaid reservation is released (set on reservation). */
    holdExpiresAt: { type: Date },
    /** Why a CANCELLED / EXPIRED order was closed, for the customer. */
    closeReason: { type: String },
    // Pending work, recorded in the same write as the transition that creates
    // it and cleared when done: the order itself is the to-do list the
    // reconciler re-drives after a crash or a lost job.
    /** Holds of this reservation ref are still to be released. */
    pendingRelease: { type: String },
    /** The PaymentIntent is still to be cancelled at Stripe. */
    pendingIntentCancel: { type: Boolean },
    /** Our full refund of the order's payment, and its status at Stripe (a refund can fail after it was created). */
    refund: { id: String, amount: Number, at: Date, status: String, failureReason: String },
    /** Refunds made outside this system (e.g. from Stripe's dashboard). */
    otherRefunds: {
      type: [{ id: { type: String, required: true }, amount: Number, status: String, failureReason: String, _id: false }],
      default: undefined,
    },
    /** A dispute (chargeback) of the payment, as Stripe reports it. */
    dispute: { id: String, amount: Number, currency: String, reason: String, status: String, at: Date },
    /**
     * What was sold to this order, line by line: copied from the product's sale
     * record, which the same update that sold the stock wrote. Finalization
     * confirms an order only when every line is here.
     */
    sold: {
      type: [{ sku: { type: String, required: true }, qty: { type: Number, required: true }, at: { type: Date, required: true }, _id: false }],
      default: undefined,
    },
    /** For a payment that arrived after closing: accepted or refunded, decided once. */
    lateDecision: { type: String, enum: ['accept', 'refund'] },
    /**
     * Problems no automatic step can resolve, for a human (the admin console's
     * attention list): e.g. a PaymentIntent Stripe does not know, a refund that failed.
     */
    attention: {
      type: [{ reason: { type: String, required: true }, detail: String, at: { type: Date, required: true }, _id: false }],
      default: undefined,
    },
    /**
     * The payment events processed for this order, as its owner's page shows
     * them (orders/payment-events-view.ts): read with the order, so the page
     * never searches the events. Absent on orders written before it existed.
     */
    paymentEvents: { type: [paymentEventSchema], default: [] },
    /** Last time the reconciler looked at this order. */
    reconciledAt: { type: Date },
    history: { type: [historySchema], default: [] },
  },
  { timestamps: true, versionKey: false },
);

// One order per idempotency key: the unique index is what makes concurrent
// placeOrder calls with one key create one order. Sparse, so keys can later be
// purged ($unset) from old orders without colliding. (Sparse rather than
// partial: both work on MongoDB, only sparse on the local mongo-java-server.)
orderSchema.index({ idempotencyKey: 1 }, { unique: true, sparse: true });
// One order per cart: placeOrder consumes the cart, and two calls for one
// cart with different keys cannot both create an order. Sparse: orders placed
// before carts were consumed have no cartId.
orderSchema.index({ cartId: 1 }, { unique: true, sparse: true });
// One order per PaymentIntent, the reverse check for webhook mapping.
orderSchema.index({ paymentIntentId: 1 }, { unique: true, sparse: true });
// The reconciler's scans: orders by state and age of their last transition,
// and orders with work still pending.
orderSchema.index({ state: 1, stateChangedAt: 1 });
orderSchema.index({ pendingRelease: 1 }, { sparse: true });
orderSchema.index({ pendingIntentCancel: 1 }, { sparse: true });

orderSchema.plugin(operationGatePlugin);

export type OrderDoc = InferSchemaType<typeof orderSchema>;

export const Order: Model<OrderDoc> =
  (mongoose.models.Order as Model<OrderDoc> | undefined) ?? mongoose.model<OrderDoc>('Order', orderSchema);
