/**
 * Keyed lists of in-flight work, so the reconciler never has to search the
 * orders or the webhook events (the local MongoDB server ignores non-unique
 * indexes and would scan every stored document, every pass).
 *
 *   open_orders  one entry per order that may still need the reconciler
 *                (_id = orderId); a superset: stale entries are harmless;
 *   open_events  one entry per received webhook event not yet processed
 *                (_id = event id).
 *
 * Entries are found only by `_id` (a page in `_id` order, or one id), and
 * each carries a `token` rewritten on every upsert: the reconciler deletes an
 * entry only as it read it (same token), so a write that re-opened it
 * meanwhile wins. The rules live in src/server/open-work/.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const openEntrySchema = () => {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      /** When the entry was last written. */
      at: { type: Date, required: true },
      /** Rewritten on every upsert; the reconciler deletes only the version it read. */
      token: { type: String, required: true },
    },
    { versionKey: false },
  );
  schema.plugin(operationGatePlugin);
  return schema;
};

const openOrderSchema = openEntrySchema();
const openEventSchema = openEntrySchema();

export type OpenEntryDoc = InferSchemaType<typeof openOrderSchema>;

export const OpenOrder: Model<OpenEntryDoc> =
  (mongoose.models.OpenOrder as Model<OpenEntryDoc> | undefined) ?? mongoose.model<OpenEntryDoc>('OpenOrder', openOrderSchema, 'open_orders');

export const OpenEvent: Model<OpenEntryDoc> =
  (mongoose.models.OpenEvent as Model<OpenEntryDoc> | undefined) ?? mongoose.model<OpenEntryDoc>('OpenEvent', openEventSchema, 'open_events');
