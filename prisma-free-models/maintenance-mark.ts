/**
 * Small documents the maintenance job keeps about itself, one per task, by
 * name (`_id`): when a periodic task is next due (claimed by one conditional
 * update, so one worker runs it however many run the maintenance job), where
 * a paged walk stopped, whether a one-time backfill finished.
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const maintenanceMarkSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** A periodic task: not before this. */
    dueAt: { type: Date },
    /** A paged walk: the last `_id` done. */
    cursor: { type: String },
    /** A one-time task: when it finished. */
    doneAt: { type: Date },
  },
  { versionKey: false },
);

maintenanceMarkSchema.plugin(operationGatePlugin);

export type MaintenanceMarkDoc = InferSchemaType<typeof maintenanceMarkSchema>;

export const MaintenanceMark: Model<MaintenanceMarkDoc> =
  (mongoose.models.MaintenanceMark as Model<MaintenanceMarkDoc> | undefined) ??
  mongoose.model<MaintenanceMarkDoc>('MaintenanceMark', maintenanceMarkSchema, 'maintenance_marks');
