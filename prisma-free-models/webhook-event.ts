/**
 * A received Stripe event. The event id is the primary key, so recording an
 * event is the idempotency check for webhook intake: a second delivery of the
 * same event collides on _id and changes nothing.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const webhookEventSchema = new Schema(
  {
    _id: { type: String, required: true }, // Stripe event id
    type: { type: String, required: true },
    objectId: { type: String }, // e.g. the PaymentIntent id
    orderId: { type: String },
    // The raw body exactly as verified: no re-encoding, no field-name surprises.
    payload: { type: String, required: true },
    receivedAt: { type: Date, required: true },
    processedAt: { type: Date },
    outcome: { type: String },
    /**
     * What Stripe itself said about the event's PaymentIntent when the event
     * was processed (retrieved, not read from the event): an event is a claim,
     * this is the evidence. `status: 'unknown'` when Stripe did not know it.
     */
    verified: {
      paymentIntentId: String,
      status: String,
      amountReceived: Number,
      currency: String,
      orderId: String,
      at: Date,
    },
  },
  { versionKey: false },
);

// Retention: events processed more than WEBHOOK_EVENT_RETENTION_MS ago are
// purged (src/server/retention/purge.ts); unprocessed ones are kept.
webhookEventSchema.index({ processedAt: 1 }, { sparse: true });
// The order page lists an order's payment events on every refresh: by order, oldest first.
webhookEventSchema.index({ orderId: 1, receivedAt: 1 }, { sparse: true });

webhookEventSchema.plugin(operationGatePlugin);

export type WebhookEventDoc = InferSchemaType<typeof webhookEventSchema>;

export const WebhookEvent: Model<WebhookEventDoc> =
  (mongoose.models.WebhookEvent as Model<WebhookEventDoc> | undefined) ??
  mongoose.model<WebhookEventDoc>('WebhookEvent', webhookEventSchema);
